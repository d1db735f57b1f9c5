package policyeval

import (
	"slices"
	"strconv"
	"strings"
)

// maxInclusionStates bounds the search of one inclusion check. The search
// can need exponentially many states in the worst case (a DENY pattern "*a"
// followed by many "?", against an ALLOW pattern that places many "a" at
// varying distances); real policy patterns need a few dozen. A search that runs out is undecided,
// which [Review] treats as "not covered", so a pathological policy costs a
// bounded amount of time and at worst a missing warning.
const maxInclusionStates = 20000

// symbol is one letter of the alphabet the inclusion check works over:
// either a character or, when name is set, the whole value of a variable.
type symbol struct {
	c    char
	name string
}

// inclusion is the answer of [includes].
type inclusion struct {
	// included reports that every topic the pattern q matches is matched by
	// one of the patterns ps, for every identity.
	included bool
	// decided is false when the search ran out of states; included is then
	// false as well.
	decided bool
	// witness, when decided and not included, is a string that q matches
	// and no pattern of ps matches, so a negative answer can be checked.
	// A variable symbol in it stands for the variable's value.
	witness []symbol
}

// includes reports whether the union of the languages of ps includes the
// language of q: [escape] with q as the only driver.
func includes(ps []pattern, q pattern) inclusion {
	return escape([]pattern{q}, ps, nil)
}

// automaton is a compiled driver pattern of [escape]: its steps, ending
// with stepEnd, and the closed set of steps it starts in.
type automaton struct {
	steps []step
	start []int32
}

// escape looks for a topic that every pattern of drivers matches and no
// pattern of ps matches. Its answer reads as an inclusion: included means
// the intersection of the drivers' languages is included in the union of
// ps's, and a witness, when there is one, is such a topic. An invalid
// driver matches nothing, so the answer is then included; invalid patterns
// of ps are left out. budget, when not nil, is shared by several searches
// and decreased by the states each one visits; a search that runs out of
// it, or of [maxInclusionStates], is undecided.
//
// Each pattern is compiled into a small automaton over its steps (see
// [step]), and the search explores, breadth first, the product of the
// subset automata of the drivers (one each) and of ps (one for the union).
// A witness is found exactly when a reachable state has every driver
// complete and no pattern of ps complete. The alphabet is infinite, yet in
// each state it is enough to try the literals and variables the drivers
// can consume next and one fresh character that no pattern mentions: a
// position where every driver consumes a wildcard can hold a fresh
// character, and a pattern of ps consumes a fresh character only with a
// wildcard, which would have consumed any other character as well, so if
// some topic escapes ps, the same topic with fresh characters at those
// positions escapes ps too.
//
// Variables are symbolic: a variable symbol stands for its unknown,
// non-empty value, which a step consumes only if it is the same variable,
// the first character of a "*" or the loop of a "*". A "?" or a literal
// never consumes it, because the value may be longer or different. With
// one driver that is conservative in the direction [Review] needs: a
// positive answer holds for every identity (a variable of ps covers only
// the same variable, a wildcard of ps covers every value), and a negative
// answer may come from a value no identity has. With several drivers whose
// variables meet literals of another driver, a positive answer is not
// proven for every identity: callers check that case themselves.
func escape(drivers []pattern, ps []pattern, budget *int) inclusion {
	var ds []automaton
	var all [][]step
	for _, d := range drivers {
		if !d.valid {
			return inclusion{included: true, decided: true}
		}
		steps := append(d.steps(), step{kind: stepEnd})
		ds = append(ds, automaton{steps: steps, start: closure(steps, []int32{0})})
		all = append(all, steps)
	}
	var pst []step
	var starts []int32
	for _, p := range ps {
		if !p.valid {
			continue
		}
		starts = append(starts, int32(len(pst)))
		pst = append(pst, p.steps()...)
		pst = append(pst, step{kind: stepEnd})
	}
	all = append(all, pst)
	fresh := freshChar(all...)

	type node struct {
		sets   [][]int32 // one closed set per driver, then the set of ps
		parent int
		sym    symbol
	}
	first := make([][]int32, 0, len(ds)+1)
	for _, d := range ds {
		first = append(first, d.start)
	}
	first = append(first, closure(pst, starts))
	nodes := []node{{sets: first, parent: -1}}
	seen := map[string]bool{stateKey(first): true}
	witness := func(n int) []symbol {
		var out []symbol
		for ; n > 0; n = nodes[n].parent {
			out = append(out, nodes[n].sym)
		}
		slices.Reverse(out)
		return out
	}
	complete := func(steps []step, set []int32) bool {
		return slices.ContainsFunc(set, func(p int32) bool { return steps[p].kind == stepEnd })
	}

	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		done := true
		for k, d := range ds {
			done = done && complete(d.steps, n.sets[k])
		}
		if done && !complete(pst, n.sets[len(ds)]) {
			return inclusion{decided: true, witness: witness(i)}
		}
		for _, sym := range candidates(ds, n.sets, fresh) {
			next := make([][]int32, 0, len(n.sets))
			alive := true
			for k, d := range ds {
				set := advance(d.steps, n.sets[k], sym)
				if len(set) == 0 {
					alive = false
					break
				}
				next = append(next, set)
			}
			if !alive {
				continue
			}
			next = append(next, advance(pst, n.sets[len(ds)], sym))
			key := stateKey(next)
			if seen[key] {
				continue
			}
			if len(nodes) >= maxInclusionStates || budget != nil && *budget <= 0 {
				return inclusion{}
			}
			if budget != nil {
				*budget--
			}
			seen[key] = true
			nodes = append(nodes, node{sets: next, parent: i, sym: sym})
		}
	}
	return inclusion{included: true, decided: true}
}

// candidates returns the symbols worth trying from a search state: every
// literal and variable a driver's steps in its set can consume next, then
// the fresh character.
func candidates(ds []automaton, sets [][]int32, fresh char) []symbol {
	var out []symbol
	for k, d := range ds {
		for _, p := range sets[k] {
			var sym symbol
			switch s := d.steps[p]; s.kind {
			case stepLit:
				sym = symbol{c: s.c}
			case stepVar:
				sym = symbol{name: s.name}
			default:
				continue
			}
			if !slices.Contains(out, sym) {
				out = append(out, sym)
			}
		}
	}
	return append(out, symbol{c: fresh})
}

// advance returns the closed set of steps of pst reached from set by
// consuming sym.
func advance(pst []step, set []int32, sym symbol) []int32 {
	var next []int32
	for _, p := range set {
		s := pst[p]
		switch {
		case s.kind == stepStar:
			next = append(next, p)
		case s.kind == stepPlus,
			s.kind == stepOne && sym.name == "",
			s.kind == stepLit && sym.name == "" && s.c == sym.c,
			s.kind == stepVar && sym.name == s.name:
			next = append(next, p+1)
		}
	}
	return closure(pst, next)
}

// closure adds to set the steps reachable without consuming anything (past
// the zero-or-more loop of a "*"), and returns it sorted and without
// duplicates.
func closure(pst []step, set []int32) []int32 {
	out := slices.Clone(set)
	for i := 0; i < len(out); i++ {
		if p := out[i]; pst[p].kind == stepStar && !slices.Contains(out, p+1) {
			out = append(out, p+1)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// freshChar returns a character that no literal step of the patterns uses.
func freshChar(patterns ...[]step) char {
	used := map[char]bool{}
	for _, steps := range patterns {
		for _, s := range steps {
			if s.kind == stepLit {
				used[s.c] = true
			}
		}
	}
	c := char('x')
	for used[c] {
		c++
	}
	return c
}

// stateKey identifies a search state of [escape].
func stateKey(sets [][]int32) string {
	var b strings.Builder
	for _, set := range sets {
		b.WriteByte('|')
		for _, p := range set {
			b.WriteString(strconv.Itoa(int(p)))
			b.WriteByte(',')
		}
	}
	return b.String()
}
