package policyeval

import (
	"slices"
	"strings"
	"testing"
)

// includes reports whether the union of the languages of ps includes the
// language of q, within a budget of its own: [escape] with q as the only
// driver.
func includes(ps []pattern, q pattern) inclusion {
	return escape([]*automaton{compile(q)}, newUnion(compileAll(ps)...), newBudget())
}

// render turns the witness of a variable-free pattern into a topic.
func render(w []symbol) string {
	var b strings.Builder
	for _, s := range w {
		switch {
		case s.name != "":
			b.WriteString("${" + s.name + "}")
		case s.c < 0:
			b.WriteByte(byte(-1 - s.c))
		default:
			b.WriteRune(rune(s.c))
		}
	}
	return b.String()
}

// hasVariable reports whether any of the resources uses "${".
func hasVariable(resources ...string) bool {
	for _, r := range resources {
		if strings.Contains(r, "${") {
			return true
		}
	}
	return false
}

// stranger returns an identity whose values occur in no topic of up to n
// bytes, so that a pattern using a variable matches none of them.
func stranger(n int) Identity {
	v := strings.Repeat("Z", n+1)
	return Identity{DeviceID: v, ProductID: v, ClientID: v}
}

// checkWitness fails t unless the witness of a negative, decided answer is a
// topic that q matches and no pattern of ps matches. It needs q to be free
// of variables, which makes the witness an ordinary topic.
func checkWitness(t *testing.T, ps []string, q string, r inclusion) {
	t.Helper()
	if r.included || !r.decided {
		t.Fatalf("checkWitness on %+v", r)
	}
	w := render(r.witness)
	id := stranger(len(w))
	if !matchResource(q, w, id) {
		t.Errorf("witness %q of %q ⊉ %q is not matched by %q", w, ps, q, q)
	}
	for _, p := range ps {
		if matchResource(p, w, id) {
			t.Errorf("witness %q of %q ⊉ %q is matched by %q", w, ps, q, p)
		}
	}
}

func parseAll(resources []string) []pattern {
	out := make([]pattern, len(resources))
	for i, r := range resources {
		out[i] = parsePattern(r)
	}
	return out
}

func TestIncludes(t *testing.T) {
	const d, p = "${devices.deviceId}", "${devices.productId}"
	tests := []struct {
		ps   []string
		q    string
		want bool
	}{
		{[]string{"topic:*"}, "topic:abc", true},
		{[]string{"topic:*"}, "topic:*", true},
		{[]string{"topic:*"}, "topic:**", true},
		{[]string{"topic:**"}, "topic:*", false},
		{[]string{"topic:*"}, "topic:", false},
		{[]string{"topic:"}, "topic:", true},
		{[]string{"topic:/v1/*"}, "topic:/v1/?/x", true},
		{[]string{"topic:/v1/a/*"}, "topic:/v1/*", false},
		{[]string{"topic:/v1/*"}, "topic:/v1/", false},
		{[]string{"topic:a*"}, "topic:a?", true},
		{[]string{"topic:a?"}, "topic:a*", false},
		{[]string{"topic:*a*"}, "topic:?a?", true},
		{[]string{"topic:*a*"}, "topic:a*", false},
		{[]string{"topic:*a*"}, "topic:?*a?", true},
		{[]string{"topic:*b*"}, "topic:*", false},
		{[]string{"topic:?*"}, "topic:*?", true},
		{[]string{"topic:*?"}, "topic:?*", true},
		{[]string{"topic:*/*"}, "topic:a/b/c", true},
		{[]string{"topic:*/*"}, "topic:*", false},
		{[]string{"topic:+"}, "topic:?", false},
		{[]string{"topic:?"}, "topic:+", true},
		{[]string{"topic:*a?b*"}, "topic:xa?b*", true},
		{[]string{"topic:*a?b*"}, "topic:xa*b", false},
		{[]string{"topic:?"}, "topic:??", false},
		{[]string{"topic:x"}, "topic:?", false},
		{[]string{"topic:x", "topic:y"}, "topic:?", false},
		{[]string{"topic:?", "topic:?*"}, "topic:*", true},
		{[]string{"topic:?", "topic:??*"}, "topic:*", false},
		{[]string{"topic:a*", "topic:b*"}, "topic:?x", false},
		{[]string{"topic:a*", "topic:?"}, "topic:*", false},
		{[]string{"/v1/*"}, "topic:/v1/a", false},
		{[]string{"topic:" + "${devices.name}"}, "topic:a", false},
		{nil, "topic:a", false},
		{nil, "/v1/a", true},
		{nil, "topic:${devices.name}", true},

		{[]string{"topic:*"}, "topic:" + d, true},
		{[]string{"topic:?"}, "topic:" + d, false},
		{[]string{"topic:**"}, "topic:" + d, false},
		{[]string{"topic:" + d}, "topic:" + d, true},
		{[]string{"topic:" + p}, "topic:" + d, false},
		{[]string{"topic:dev1"}, "topic:" + d, false},
		{[]string{"topic:" + d}, "topic:dev1", false},
		{[]string{"topic:*"}, "topic:" + d + "x", true},
		{[]string{"topic:*x"}, "topic:" + d + "x", true},
		{[]string{"topic:*?"}, "topic:" + d + "x", true},
		{[]string{"topic:/v1/*/up"}, "topic:/v1/" + d + "/up", true},
		{[]string{"topic:/v1/?/up"}, "topic:/v1/" + d + "/up", false},
		{[]string{"topic:/v1/" + d + "/*"}, "topic:/v1/" + d + "/?", true},
		{[]string{"topic:/v1/" + d + "/*"}, "topic:/v1/" + p + "/?", false},
		{[]string{"topic:" + d + d}, "topic:" + d + d, true},
		{[]string{"topic:*" + d}, "topic:" + d, false},
		{[]string{"topic:\x00"}, "topic:" + d, false},
		{[]string{"topic:*\x00*"}, "topic:*" + d + "*", false},
	}
	for _, tt := range tests {
		r := includes(parseAll(tt.ps), parsePattern(tt.q))
		if !r.decided || r.included != tt.want {
			t.Errorf("includes(%q, %q) = %+v, want included=%v", tt.ps, tt.q, r, tt.want)
			continue
		}
		if !r.included && !hasVariable(tt.q) {
			checkWitness(t, tt.ps, tt.q, r)
		}
	}
}

// TestIncludesBudget shows that a subset blow-up ends the search early
// instead of running for an exponentially long time, and that the same
// shape of pattern is decided when it is small.
func TestIncludesBudget(t *testing.T) {
	for _, tt := range []struct {
		n           int
		wantDecided bool
	}{{4, true}, {40, false}} {
		tail := strings.Repeat("?", tt.n)
		r := includes([]pattern{parsePattern("topic:*a" + tail)}, parsePattern("topic:"+strings.Repeat("*a", tt.n/4)+tail))
		if r.decided != tt.wantDecided || r.included != tt.wantDecided {
			t.Errorf("n=%d: includes = {included:%v decided:%v}, want both %v", tt.n, r.included, r.decided, tt.wantDecided)
		}
	}
}

// inclusionAlphabet is what FuzzInclusion and TestIncludesExhaustive build
// patterns from: literals, wildcards, two known variables and an unknown one.
var inclusionAlphabet = []string{"a", "b", "?", "*", "${devices.deviceId}", "${devices.productId}", "${devices.other}"}

// inclusionIdentities are the identities the brute force tries; the values
// are short strings over the same letters as the topics.
var inclusionIdentities = []Identity{
	{DeviceID: "a", ProductID: "a"},
	{DeviceID: "b", ProductID: "ab"},
	{DeviceID: "ab", ProductID: "b"},
	{DeviceID: "ba", ProductID: "c"},
}

// topicsUpTo returns every string over "abc" of at most n characters, split
// into characters.
func topicsUpTo(n int) [][]char {
	out := [][]char{{}}
	for start, end := 0, 1; n > 0; n-- {
		for _, s := range out[start:end] {
			for _, c := range "abc" {
				out = append(out, append(slices.Clip(s), char(c)))
			}
		}
		start, end = end, len(out)
	}
	return out
}

// checkInclusion compares includes on ps and q with brute force over topics:
// a positive answer must hold for every topic and identity tried, and a
// negative answer for a variable-free q must come with a true witness.
func checkInclusion(t *testing.T, ps []string, q string, topics [][]char) {
	t.Helper()
	r := includes(parseAll(ps), parsePattern(q))
	if !r.decided {
		t.Fatalf("includes(%q, %q) undecided on short patterns", ps, q)
	}
	if !r.included {
		if !hasVariable(q) {
			checkWitness(t, ps, q, r)
		}
		return
	}
	for _, id := range inclusionIdentities {
		qSteps, ok := parsePattern(q).concrete(id)
		if !ok {
			continue
		}
		var pSteps [][]step
		for _, p := range ps {
			if steps, ok := parsePattern(p).concrete(id); ok {
				pSteps = append(pSteps, steps)
			}
		}
		for _, topic := range topics {
			if globMatch(qSteps, topic) && !slices.ContainsFunc(pSteps, func(p []step) bool { return globMatch(p, topic) }) {
				t.Fatalf("includes(%q, %q) = true, but for %+v %q matches %q and none of %q", ps, q, id, q, string(runesOf(topic)), ps)
			}
		}
	}
}

// runesOf converts characters that are all code points back to runes.
func runesOf(cs []char) []rune {
	out := make([]rune, len(cs))
	for i, c := range cs {
		out[i] = rune(c)
	}
	return out
}

// TestIncludesExhaustive checks every pair of patterns of up to three
// tokens over a smaller alphabet against brute force.
func TestIncludesExhaustive(t *testing.T) {
	alphabet := inclusionAlphabet[:5]
	patterns := []string{"topic:"}
	level := patterns
	for range 3 {
		var next []string
		for _, p := range level {
			for _, a := range alphabet {
				next = append(next, p+a)
			}
		}
		patterns = append(patterns, next...)
		level = next
	}
	topics := topicsUpTo(6)
	for _, p := range patterns {
		for _, q := range patterns {
			checkInclusion(t, []string{p}, q, topics)
		}
	}
}
