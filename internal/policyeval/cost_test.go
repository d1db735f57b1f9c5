package policyeval

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// The cost search runs a few rounds in every test run; a longer search,
// and the file it keeps the worst inputs in, are asked for with flags:
//
//	go test -run TestCostSearch -costsearch.rounds=2000 -costsearch.out=testdata/worst.json ./internal/policyeval
var (
	costRounds = flag.Int("costsearch.rounds", 10, "rounds of the cost-maximising search in TestCostSearch")
	costOut    = flag.String("costsearch.out", "", "file to write the worst inputs TestCostSearch found to, as JSON")
)

// The API's limits the cost search stays within.
const (
	apiStatements = 10
	apiResources  = 10
	apiTopicBytes = 128
	// apiTopicChars are the characters IoTDA accepts in a topic pattern.
	apiTopicChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/{}$=+#?*:._-"
)

// costCase is one input of the cost search: two versions of a policy.
type costCase struct {
	Name string      `json:"name"`
	Old  []Statement `json:"old"`
	New  []Statement `json:"new"`
	// Work is what compare and review of both took, in steps (see MaxWork).
	Work int `json:"work"`
}

// cost runs what a plan of the change runs, the review of the new
// statements and the comparison, and returns the work they took.
func cost(c costCase) int {
	rb, cb := newBudget(), newBudget()
	review(c.New, rb)
	compare(c.Old, c.New, cb)
	return 2*MaxWork - rb.left - cb.left
}

// costAlphabet biases generated patterns towards what makes searches long:
// wildcards, few distinct letters, and variables, with the other
// characters IoTDA accepts now and then.
var costAlphabet = []string{"*", "*", "*", "?", "?", "a", "a", "b", "c", "/", "${devices.deviceId}"}

func randomTopic(rng *rand.Rand) string {
	var b strings.Builder
	n := 1 + rng.IntN(apiTopicBytes)
	for b.Len() < n {
		if rng.IntN(10) == 0 {
			b.WriteByte(apiTopicChars[rng.IntN(len(apiTopicChars))])
		} else {
			b.WriteString(costAlphabet[rng.IntN(len(costAlphabet))])
		}
	}
	return iotda.ResourcePrefix + truncateTopic(b.String())
}

// truncateTopic cuts a topic to apiTopicBytes without splitting a variable.
func truncateTopic(s string) string {
	for len(s) > apiTopicBytes {
		if i := strings.LastIndex(s, "${"); i >= 0 && i+len("${devices.deviceId}") > apiTopicBytes {
			s = s[:i]
			continue
		}
		s = s[:apiTopicBytes]
	}
	return s
}

func randomStatements(rng *rand.Rand) []Statement {
	out := make([]Statement, 1+rng.IntN(apiStatements))
	for i := range out {
		out[i] = Statement{Effect: []string{iotda.EffectAllow, iotda.EffectAllow, iotda.EffectDeny}[rng.IntN(3)], Actions: [][]string{pub, sub, pubSub}[rng.IntN(3)]}
		for range 1 + rng.IntN(apiResources) {
			out[i].Resources = append(out[i].Resources, randomTopic(rng))
		}
	}
	return out
}

func cloneStatements(in []Statement) []Statement {
	out := make([]Statement, len(in))
	for i, s := range in {
		out[i] = Statement{Effect: s.Effect, Actions: slices.Clone(s.Actions), Resources: slices.Clone(s.Resources)}
	}
	return out
}

// mutate returns stmts with one small change: a character of a resource
// replaced, inserted or removed, a resource copied or replaced, an effect
// flipped, or a statement added or removed, within the API's limits.
func mutate(rng *rand.Rand, stmts []Statement) []Statement {
	out := cloneStatements(stmts)
	s := &out[rng.IntN(len(out))]
	r := &s.Resources[rng.IntN(len(s.Resources))]
	body := strings.TrimPrefix(*r, iotda.ResourcePrefix)
	pick := func() string {
		if rng.IntN(4) == 0 {
			return string(apiTopicChars[rng.IntN(len(apiTopicChars))])
		}
		return costAlphabet[rng.IntN(len(costAlphabet))]
	}
	switch rng.IntN(9) {
	case 0, 1:
		if i := rng.IntN(len(body) + 1); i < len(body) {
			body = body[:i] + pick() + body[i+1:]
		}
	case 2, 3:
		i := rng.IntN(len(body) + 1)
		body = body[:i] + pick() + body[i:]
	case 4:
		if len(body) > 1 {
			i := rng.IntN(len(body))
			body = body[:i] + body[i+1:]
		}
	case 5:
		if len(s.Resources) < apiResources {
			s.Resources = append(s.Resources, *r)
		}
	case 6:
		body = strings.TrimPrefix(randomTopic(rng), iotda.ResourcePrefix)
	case 7:
		s.Effect = map[string]string{iotda.EffectAllow: iotda.EffectDeny, iotda.EffectDeny: iotda.EffectAllow}[s.Effect]
	default:
		if len(out) < apiStatements && rng.IntN(2) == 0 {
			return append(out, cloneStatements(stmts[rng.IntN(len(stmts)):][:1])...)
		}
		if len(out) > 1 {
			i := rng.IntN(len(out))
			return append(out[:i], out[i+1:]...)
		}
	}
	if body = truncateTopic(body); body != "" {
		*r = iotda.ResourcePrefix + body
	}
	return out
}

// TestCostSearch is a cost-maximising fuzzer: it searches, within the
// API's limits, for the pair of policies whose plan-time review and
// comparison take the most work, by keeping a population of the costliest
// inputs found and mutating them (hill climbing with restarts). It checks
// that no input takes more work than the limits allow, and, with
// -costsearch.out, keeps the worst inputs for BenchmarkWorstCompare.
func TestCostSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 18))
	var pool []costCase
	for _, c := range worstShapes() {
		c.Work = cost(c)
		pool = append(pool, c)
	}
	const keep = 8
	for round := range *costRounds {
		var c costCase
		if round%5 == 0 {
			c = costCase{Old: randomStatements(rng), New: randomStatements(rng)}
		} else {
			parent := pool[rng.IntN(len(pool))]
			c = costCase{Old: parent.Old, New: parent.New}
			switch rng.IntN(3) {
			case 0:
				c.Old = mutate(rng, c.Old)
			case 1:
				c.New = mutate(rng, c.New)
			default:
				c.Old = cloneStatements(c.New)
				c.New = mutate(rng, c.New)
			}
		}
		c.Work = cost(c)
		// Two calls, each within MaxWork; one step of a search or one
		// confirmation may overrun the last bit of the budget.
		if limit := 2 * (MaxWork + MaxSearchWork); c.Work > limit {
			t.Fatalf("review and compare took %d steps, more than the limit %d: %+v", c.Work, limit, c)
		}
		pool = append(pool, c)
		slices.SortStableFunc(pool, func(a, b costCase) int { return b.Work - a.Work })
		pool = pool[:min(len(pool), keep)]
	}
	t.Logf("costliest inputs: %v", slices.Collect(func(yield func(int) bool) {
		for _, c := range pool {
			if !yield(c.Work) {
				return
			}
		}
	}))
	if *costOut == "" {
		return
	}
	// The hand-made shapes are benchmarked anyway: keep the inputs found.
	var found []costCase
	for _, c := range pool {
		if c.Name == "" {
			c.Name = fmt.Sprintf("found-%d", len(found)+1)
			found = append(found, c)
		}
	}
	out, err := json.MarshalIndent(found, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*costOut, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// starTopic is a resource of n bytes alternating "*" with letters, as
// "topic:*a*b*c...", starting at letter shift.
func starTopic(letters string, n, shift int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteByte('*')
		b.WriteByte(letters[(i+shift)%len(letters)])
	}
	return iotda.ResourcePrefix + b.String()[:n]
}

// starPolicy is apiStatements statements of star topics of nearly
// apiTopicBytes bytes, each a little shorter than the one before, shifted
// by k.
func starPolicy(letters string, resources, k int, effect func(i int) string) []Statement {
	out := make([]Statement, apiStatements)
	for i := range out {
		out[i] = Statement{Effect: effect(i), Actions: pubSub}
		for j := range resources {
			out[i].Resources = append(out[i].Resources, starTopic(letters, apiTopicBytes-i-j-k, i+j+k))
		}
	}
	return out
}

func allowAll(int) string { return iotda.EffectAllow }

// worstShapes are the hand-made shapes that cost the most before the work
// limits existed, and the start of the cost search: the policy of 10
// statements of 6 topics "*a*a*a..." whose unchanged plan took 80 s, the
// same with 10 topics compared with a changed version, with more letters,
// with DENY statements, and the "*a" followed by many "?" whose subsets
// grow exponentially.
func worstShapes() []costCase {
	a6 := starPolicy("a", 6, 0, allowAll)
	everyThird := func(i int) string {
		if i%3 == 2 {
			return iotda.EffectDeny
		}
		return iotda.EffectAllow
	}
	question := func(n int) string { return iotda.ResourcePrefix + "*a" + strings.Repeat("?", n) }
	spread := func(n int) string { return iotda.ResourcePrefix + strings.Repeat("*a", n/4) + strings.Repeat("?", n) }
	out := []costCase{
		{Name: "unchanged-star-a-10x6", Old: a6, New: cloneStatements(a6)},
		{Name: "star-a-10x10", Old: starPolicy("a", 10, 0, allowAll), New: starPolicy("a", 10, 1, allowAll)},
		{Name: "star-abc-10x10", Old: starPolicy("abc", 10, 0, allowAll), New: starPolicy("abc", 10, 1, allowAll)},
		{Name: "star-ab-deny-10x10", Old: starPolicy("ab", 10, 0, everyThird), New: starPolicy("ab", 10, 1, everyThird)},
		{Name: "star-a-question", Old: []Statement{allow(pubSub, question(120))}, New: []Statement{allow(pubSub, spread(60))}},
	}
	return out
}

// loadWorst returns the inputs the cost search kept in testdata.
func loadWorst(tb testing.TB) []costCase {
	data, err := os.ReadFile(filepath.Join("testdata", "worst.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []costCase
	if err := json.Unmarshal(data, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}
