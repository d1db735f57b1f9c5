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
// language of q.
//
// Each pattern is compiled into a small automaton over its steps (see
// [step]). The check searches, breadth first, the product of q's automaton
// with the subset automaton of ps: a search state is a step of q together
// with the set of steps of ps that the same input can reach. Inclusion
// fails exactly when some state is reachable where q is complete but no
// pattern of ps is. The alphabet is infinite, yet at each wildcard of q it
// is enough to try one fresh character that no pattern mentions: a pattern
// of ps consumes a fresh character only with a wildcard, which would have
// consumed any other character as well, so if some topic that q matches
// escapes ps, the same topic with a fresh character at every position
// consumed by a wildcard of q escapes ps too. The search is therefore
// driven by q's literals and variables alone.
//
// Variables are symbolic: a variable of q emits one symbol standing for its
// unknown, non-empty value, which a step of ps consumes only if it is the
// same variable, the first character of a "*" or the loop of a "*". A "?"
// or a literal never consumes it, because the value may be longer or
// different. Variables of ps never match characters emitted by q's
// wildcards or literals, because their value is unknown.
func includes(ps []pattern, q pattern) inclusion {
	if !q.valid {
		return inclusion{included: true, decided: true}
	}
	qs := q.steps()
	qs = append(qs, step{kind: stepEnd})

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
	fresh := freshChar(qs, pst)

	type node struct {
		q      int
		set    []int32
		parent int
		sym    symbol
		hasSym bool
	}
	nodes := []node{{q: 0, set: closure(pst, starts), parent: -1}}
	seen := map[string]bool{stateKey(0, nodes[0].set): true}
	witness := func(n int) []symbol {
		var out []symbol
		for ; n >= 0; n = nodes[n].parent {
			if nodes[n].hasSym {
				out = append(out, nodes[n].sym)
			}
		}
		slices.Reverse(out)
		return out
	}

	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		push := func(q int, set []int32, sym symbol, hasSym bool) bool {
			key := stateKey(q, set)
			if seen[key] {
				return true
			}
			if len(nodes) >= maxInclusionStates {
				return false
			}
			seen[key] = true
			nodes = append(nodes, node{q: q, set: set, parent: i, sym: sym, hasSym: hasSym})
			return true
		}
		var ok bool
		switch s := qs[n.q]; s.kind {
		case stepEnd:
			if !slices.ContainsFunc(n.set, func(p int32) bool { return pst[p].kind == stepEnd }) {
				return inclusion{decided: true, witness: witness(i)}
			}
			ok = true
		case stepLit, stepVar:
			sym := symbol{c: s.c, name: s.name}
			ok = push(n.q+1, advance(pst, n.set, sym), sym, true)
		case stepOne, stepPlus:
			sym := symbol{c: fresh}
			ok = push(n.q+1, advance(pst, n.set, sym), sym, true)
		case stepStar:
			sym := symbol{c: fresh}
			ok = push(n.q+1, n.set, symbol{}, false) && push(n.q, advance(pst, n.set, sym), sym, true)
		}
		if !ok {
			return inclusion{}
		}
	}
	return inclusion{included: true, decided: true}
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

// stateKey identifies a search state of [includes].
func stateKey(q int, set []int32) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(q))
	for _, p := range set {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(p)))
	}
	return b.String()
}
