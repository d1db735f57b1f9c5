package policyeval

import (
	"slices"
)

// symbol is one letter of the alphabet the inclusion check works over:
// either a character or, when name is set, the whole value of a variable.
type symbol struct {
	c    char
	name string
}

// inclusion is the answer of [escape].
type inclusion struct {
	// included reports that every topic the drivers match is matched by
	// one of the patterns of the union, for every identity.
	included bool
	// decided is false when the search ran out of work; included is then
	// false as well, and reason says which limit was reached.
	decided bool
	reason  string
	// witness, when decided and not included, is a string that every
	// driver matches and no pattern of the union matches, so a negative
	// answer can be checked. A variable symbol in it stands for the
	// variable's value.
	witness []symbol
}

// automaton is a pattern compiled for the inclusion check: its steps,
// ending with stepEnd, the closed set of steps it starts in, and what the
// cheap checks of [escape] need.
type automaton struct {
	p     pattern
	steps []step
	start []int32
	// head and tail are the steps before the first "*" or variable and
	// after the last one: literals and "?", which sit at fixed distances
	// from the start and the end of every topic the pattern matches.
	head, tail []step
	// minLen and maxLen bound the length of the topics it matches; maxLen
	// is -1 when a "*" or a variable makes it unbounded.
	minLen, maxLen int
}

// compile compiles p for [escape].
func compile(p pattern) *automaton {
	a := &automaton{p: p, steps: append(p.steps(), step{kind: stepEnd}), minLen: len(p.toks), maxLen: len(p.toks)}
	a.start = closure(a.steps, []int32{0})
	fixed := func(t token) bool { return t.kind == tokLit || t.kind == tokOne }
	i := 0
	for i < len(p.toks) && fixed(p.toks[i]) {
		i++
	}
	a.head = a.steps[:i]
	if i < len(p.toks) {
		a.maxLen = -1
		j := len(p.toks)
		for j > 0 && fixed(p.toks[j-1]) {
			j--
		}
		// Steps and tokens differ in number only for "*", and none of
		// the tail's tokens is one: the tail is the last steps before End.
		n := len(p.toks) - j
		a.tail = a.steps[len(a.steps)-1-n : len(a.steps)-1]
	} else {
		a.tail = a.head
	}
	return a
}

// compatible reports whether two fixed runs of steps, aligned at one end,
// can read the same characters: position by position, two literals must be
// equal.
func compatible(x, y []step, fromEnd bool) bool {
	n := min(len(x), len(y))
	for i := range n {
		a, b := x[i], y[i]
		if fromEnd {
			a, b = x[len(x)-1-i], y[len(y)-1-i]
		}
		if a.kind == stepLit && b.kind == stepLit && a.c != b.c {
			return false
		}
	}
	return true
}

// disjoint reports, from their fixed heads, tails and lengths, that no
// topic can match both a and b. False means they may share topics.
func disjoint(a, b *automaton) bool {
	if a.maxLen >= 0 && a.maxLen < b.minLen || b.maxLen >= 0 && b.maxLen < a.minLen {
		return true
	}
	return !compatible(a.head, b.head, false) || !compatible(a.tail, b.tail, true)
}

// sameTokens reports whether a and b are the same pattern.
func sameTokens(a, b pattern) bool {
	return slices.EqualFunc(a.toks, b.toks, func(x, y token) bool { return x.kind == y.kind && x.c == y.c && x.name == y.name })
}

// covers reports, without a search, that the single pattern m matches
// every topic q matches, for the shapes real policies use: the same
// pattern, a pattern of "*" alone, and a fixed prefix followed by one "*"
// ("topic:/v1/devices/*"). False means not shown, not "not included".
func covers(m, q *automaton) bool {
	if sameTokens(m.p, q.p) {
		return true
	}
	if n, ok := m.p.onlyStars(); ok {
		return len(q.p.toks) >= n
	}
	// m is a fixed head then one "*": q must start with fixed steps that
	// the head reads, and have at least one more token for the "*".
	h := len(m.head)
	if len(m.p.toks) != h+1 || m.p.toks[h].kind != tokStar || len(q.p.toks) <= h || len(q.head) < h {
		return false
	}
	for i, s := range m.head {
		if s.kind == stepLit && (q.head[i].kind != stepLit || q.head[i].c != s.c) {
			return false
		}
	}
	return true
}

// union is a set of patterns compiled into one automaton whose states are
// sets of steps of all of them.
type union struct {
	steps []step
	// owner holds, for each step, the offset of the member it belongs to.
	owner   []int32
	members []member
	// used holds the literal characters of the members, for fresh.
	used map[char]bool
}

// member is one pattern of a union and where its steps start.
type member struct {
	a   *automaton
	off int32
}

// newUnion compiles a union of the valid automata of as.
func newUnion(as ...*automaton) *union {
	u := &union{used: map[char]bool{}}
	for _, a := range as {
		if !a.p.valid {
			continue
		}
		u.members = append(u.members, member{a: a, off: int32(len(u.steps))})
		u.steps = append(u.steps, a.steps...)
		for range a.steps {
			u.owner = append(u.owner, int32(len(u.members)-1))
		}
		for _, s := range a.steps {
			if s.kind == stepLit {
				u.used[s.c] = true
			}
		}
	}
	return u
}

// compileAll compiles each pattern.
func compileAll(ps []pattern) []*automaton {
	out := make([]*automaton, len(ps))
	for i, p := range ps {
		out[i] = compile(p)
	}
	return out
}

// escape looks for a topic that every driver matches and no pattern of the
// union u matches. Its answer reads as an inclusion: included means the
// intersection of the drivers' languages is included in the union, and a
// witness, when there is one, is such a topic. An invalid driver matches
// nothing, so the answer is then included. The work is taken from b, and
// no search takes more than [MaxSearchWork]; a search that runs out of
// either is undecided.
//
// Cheap exact answers come first: a driver that is a pattern of u, or that
// a single pattern of u covers by shape ([covers]); drivers that share no
// topic; and patterns of u that share no topic with a driver, which are
// left out of the search.
//
// The search compiles each pattern into a small automaton over its steps
// (see [step]) and explores, breadth first, the product of the subset
// automata of the drivers (one each) and of the union. A witness is found
// exactly when a reachable state has every driver complete and no pattern
// of the union complete. The alphabet is infinite, yet in each state it is
// enough to try the literals and variables the drivers can consume next
// and one fresh character that no pattern mentions: a position where
// every driver consumes a wildcard can hold a fresh character, and a
// pattern of the union consumes a fresh character only with a wildcard,
// which would have consumed any other character as well, so if some topic
// escapes the union, the same topic with fresh characters at those
// positions escapes it too.
//
// Variables are symbolic: a variable symbol stands for its unknown,
// non-empty value, which a step consumes only if it is the same variable,
// the first character of a "*" or the loop of a "*". A "?" or a literal
// never consumes it, because the value may be longer or different. With
// one driver that is conservative in the direction [Review] needs: a
// positive answer holds for every identity (a variable of the union covers
// only the same variable, a wildcard covers every value), and a negative
// answer may come from a value no identity has. With several drivers whose
// variables meet literals of another driver, a positive answer is not
// proven for every identity: callers check that case themselves.
func escape(drivers []*automaton, u *union, b *budget) inclusion {
	yes := inclusion{included: true, decided: true}
	for i, d := range drivers {
		if !d.p.valid {
			return yes
		}
		for _, m := range u.members {
			if len(drivers) == 1 && covers(m.a, d) || sameTokens(m.a.p, d.p) {
				return yes
			}
		}
		for _, e := range drivers[:i] {
			if disjoint(d, e) {
				return yes
			}
		}
	}
	var starts []int32
	for _, m := range u.members {
		if !slices.ContainsFunc(drivers, func(d *automaton) bool { return disjoint(d, m.a) }) {
			starts = append(starts, m.off)
		}
	}
	if len(drivers) == 1 && drivers[0].maxLen >= 0 && !slices.ContainsFunc(drivers[0].p.toks, func(t token) bool { return t.kind == tokOne }) {
		return literal(drivers[0], u, starts, b)
	}
	fresh := char('x')
	for u.used[fresh] || slices.ContainsFunc(drivers, func(d *automaton) bool {
		return slices.ContainsFunc(d.steps, func(s step) bool { return s.kind == stepLit && s.c == fresh })
	}) {
		fresh++
	}
	s := newSearch(drivers, u, b)
	if !s.spend(len(u.steps) + len(starts)) {
		return s.undecided()
	}
	return s.run(prune(u.steps, u.owner, closure(u.steps, starts)), fresh)
}

// literal answers [escape] for a driver made of literals only, which
// matches one topic: it is included when a pattern of u without variables
// matches that topic (a variable matches no literal character
// symbolically, see [escape]).
func literal(d *automaton, u *union, starts []int32, b *budget) inclusion {
	topic := make([]char, len(d.p.toks))
	witness := make([]symbol, len(d.p.toks))
	for i, t := range d.p.toks {
		topic[i], witness[i] = t.c, symbol{c: t.c}
	}
	for _, off := range starts {
		i, _ := slices.BinarySearchFunc(u.members, off, func(m member, off int32) int { return int(m.off - off) })
		m := u.members[i].a
		if !b.spend(len(m.steps) * (len(topic) + 1)) {
			return inclusion{reason: b.reason}
		}
		if !hasVariables(m.p) && globMatch(m.steps[:len(m.steps)-1], topic) {
			return inclusion{included: true, decided: true}
		}
	}
	return inclusion{decided: true, witness: witness}
}

// search is one breadth-first search of [escape].
type search struct {
	drivers []*automaton
	u       *union
	b       *budget
	// work is what this search has spent, against MaxSearchWork.
	work int
	// nodes are the states found, in the order found. A state is one
	// closed set of steps per driver, then the set of the union, kept in
	// data as each set's length followed by its steps.
	nodes []node
	data  []int32
	// seen maps the hash of a state to the last node found with it.
	seen map[uint64]int32
	// marks de-duplicate the steps of a set being built: marks[p] == gen
	// means p is in it.
	marks []uint32
	gen   uint32
	// scratch holds the state being built, buf the set being built.
	scratch, buf []int32
	// reason is why the search stopped undecided.
	reason string
}

// node is a search state and how the search reached it.
type node struct {
	start, end int32 // the state in data
	parent     int32
	sameHash   int32 // an earlier node whose state has the same hash, or -1
	sym        symbol
}

func newSearch(drivers []*automaton, u *union, b *budget) *search {
	n := len(u.steps)
	for _, d := range drivers {
		n = max(n, len(d.steps))
	}
	return &search{drivers: drivers, u: u, b: b, seen: map[uint64]int32{}, marks: make([]uint32, n+1)}
}

// spend takes n units from the search's own limit and from the budget.
func (s *search) spend(n int) bool {
	s.work += n
	if s.work > MaxSearchWork {
		s.reason = searchLimitReason
		return false
	}
	if !s.b.spend(n) {
		s.reason = s.b.reason
		return false
	}
	return true
}

func (s *search) undecided() inclusion {
	return inclusion{reason: s.reason}
}

// sets splits the state of node n into its sets.
func (s *search) sets(n int, into [][]int32) [][]int32 {
	into = into[:0]
	d := s.data[s.nodes[n].start:s.nodes[n].end]
	for len(d) > 0 {
		into = append(into, d[1:1+d[0]])
		d = d[1+d[0]:]
	}
	return into
}

// add records the state in scratch, reached from parent by sym, unless it
// was seen.
func (s *search) add(parent int32, sym symbol) {
	h := uint64(14695981039346656037)
	for _, p := range s.scratch {
		h = (h ^ uint64(uint32(p))) * 1099511628211
	}
	last, ok := s.seen[h]
	for i := last; ok && i >= 0; i = s.nodes[i].sameHash {
		if slices.Equal(s.data[s.nodes[i].start:s.nodes[i].end], s.scratch) {
			return
		}
	}
	if !ok {
		last = -1
	}
	start := int32(len(s.data))
	s.data = append(s.data, s.scratch...)
	s.seen[h] = int32(len(s.nodes))
	s.nodes = append(s.nodes, node{start: start, end: int32(len(s.data)), parent: parent, sameHash: last, sym: sym})
}

func (s *search) witness(n int) []symbol {
	var out []symbol
	for ; n > 0; n = int(s.nodes[n].parent) {
		out = append(out, s.nodes[n].sym)
	}
	slices.Reverse(out)
	return out
}

func complete(steps []step, set []int32) bool {
	return slices.ContainsFunc(set, func(p int32) bool { return steps[p].kind == stepEnd })
}

// put appends set to scratch, with its length first.
func (s *search) put(set []int32) {
	s.scratch = append(s.scratch, int32(len(set)))
	s.scratch = append(s.scratch, set...)
}

func (s *search) run(first []int32, fresh char) inclusion {
	s.scratch = s.scratch[:0]
	for _, d := range s.drivers {
		s.put(d.start)
	}
	s.put(first)
	s.add(-1, symbol{})
	var sets [][]int32
	var syms []symbol
	for i := 0; i < len(s.nodes); i++ {
		sets = s.sets(i, sets)
		done := true
		for k, d := range s.drivers {
			done = done && complete(d.steps, sets[k])
		}
		last := sets[len(s.drivers)]
		if done && !complete(s.u.steps, last) {
			return inclusion{decided: true, witness: s.witness(i)}
		}
		syms = s.candidates(sets, fresh, syms[:0])
		for _, sym := range syms {
			s.scratch = s.scratch[:0]
			alive := true
			for k, d := range s.drivers {
				if !s.spend(len(sets[k]) + 1) {
					return s.undecided()
				}
				set := prune(d.steps, nil, s.advance(d.steps, sets[k], sym))
				if len(set) == 0 {
					alive = false
					break
				}
				s.put(set)
			}
			if !alive {
				continue
			}
			if !s.spend(len(last) + 1) {
				return s.undecided()
			}
			s.put(prune(s.u.steps, s.u.owner, s.advance(s.u.steps, last, sym)))
			s.add(int32(i), sym)
		}
	}
	return inclusion{included: true, decided: true}
}

// candidates returns the symbols worth trying from a search state: every
// literal and variable a driver's steps in its set can consume next, then
// the fresh character.
func (s *search) candidates(sets [][]int32, fresh char, out []symbol) []symbol {
	for k, d := range s.drivers {
		for _, p := range sets[k] {
			var sym symbol
			switch st := d.steps[p]; st.kind {
			case stepLit:
				sym = symbol{c: st.c}
			case stepVar:
				sym = symbol{name: st.name}
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

// consumes reports whether step st reads sym, and advance the closed set
// reached from set by reading it.
func consumes(st step, sym symbol) bool {
	switch st.kind {
	case stepPlus:
		return true
	case stepOne:
		return sym.name == ""
	case stepLit:
		return sym.name == "" && st.c == sym.c
	case stepVar:
		return sym.name == st.name
	}
	return false
}

// advance returns the closed set of steps reached from the closed set set
// by reading sym. A "*" loop stays; another step that reads sym moves on,
// and when it moves onto a "*" loop, past it as well.
func (s *search) advance(steps []step, set []int32, sym symbol) []int32 {
	s.gen++
	out := s.buf[:0]
	defer func() { s.buf = out }()
	put := func(p int32) {
		if s.marks[p] != s.gen {
			s.marks[p] = s.gen
			out = append(out, p)
		}
	}
	for _, p := range set {
		switch {
		case steps[p].kind == stepStar:
			put(p)
			put(p + 1)
		case consumes(steps[p], sym):
			put(p + 1)
			if steps[p+1].kind == stepStar {
				put(p + 2)
			}
		}
	}
	// From a sorted set the steps come out sorted (a "*" loop is never
	// followed by another), which keeps states comparable; this only
	// guards that reasoning.
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return out
}

// prune drops from the sorted, closed set the steps that a later "*" loop
// of the same pattern makes redundant, and returns the rest, reusing set's memory.
// Every way from a step p to the end of its pattern passes the later loop
// s, and a loop reads anything first, so the topics that can still complete
// from p are among those that can from s: the set's language, which is all
// the search needs of a state, stays the same. Without this, each "*" a
// pattern has passed stays in the set for good, and states of patterns
// such as "*a*a*a..." grow with every character read. owner tells which
// pattern each step belongs to; nil means a single one.
func prune(steps []step, owner []int32, set []int32) []int32 {
	w := len(set)
	cur, loop := int32(-1), false
	for i := len(set) - 1; i >= 0; i-- {
		p := set[i]
		var o int32
		if owner != nil {
			o = owner[p]
		}
		if o != cur {
			cur, loop = o, false
		}
		if loop {
			continue
		}
		w--
		set[w] = p
		loop = steps[p].kind == stepStar
	}
	return set[w:]
}

// closure adds to set the steps reachable without consuming anything (past
// the zero-or-more loop of a "*"), and returns it sorted and without
// duplicates. Only the start sets of [escape] need it: [search.advance]
// returns closed sets.
func closure(steps []step, set []int32) []int32 {
	out := make([]int32, 0, 2*len(set))
	for _, p := range set {
		out = append(out, p)
		if steps[p].kind == stepStar {
			out = append(out, p+1)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
