package policyeval

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// changeSummary renders changes as "action topic statement" lines for
// comparison in tables.
func changeSummary(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, strings.TrimPrefix(c.Action, "iotda:devices:")+" "+c.Topic+" "+c.Resource)
	}
	return out
}

func undecidedSummary(us []Undecided) []string {
	var out []string
	for _, u := range us {
		out = append(out, strings.TrimPrefix(u.Action, "iotda:devices:")+" "+u.Resource)
	}
	return out
}

func TestCompare(t *testing.T) {
	const d = "${devices.deviceId}"
	base := []Statement{
		allow(pub, "topic:/v1/"+d+"/up"),
		deny(pubSub, "topic:/v1/firmware/*"),
	}
	tests := []struct {
		name              string
		old, new          []Statement
		widened, narrowed []string
		undecided         []string // widened then narrowed
	}{
		{name: "identical", old: base, new: base},
		{name: "reordered statements, actions and resources", old: []Statement{
			allow(pubSub, "topic:/a/*", "topic:/b"),
			deny(pub, "topic:/a/secret"),
		}, new: []Statement{
			deny(pub, "topic:/a/secret"),
			allow([]string{iotda.ActionSubscribe, iotda.ActionPublish}, "topic:/b", "topic:/a/*"),
		}},
		{name: "statement added", old: base, new: append(slices.Clone(base), allow(sub, "topic:/v1/broadcast")),
			widened: []string{"subscribe /v1/broadcast topic:/v1/broadcast"}},
		{name: "deny removed", old: []Statement{
			allow(pubSub, "topic:/v1/*"),
			deny(pub, "topic:/v1/firmware/*"),
		}, new: []Statement{allow(pubSub, "topic:/v1/*")},
			widened: []string{"publish /v1/firmware/x topic:/v1/*"}},
		{name: "deny removed beside a variable resource", old: []Statement{
			allow(pub, "topic:/v1/devices/"+d+"/up", "topic:/v1/fleet/*"),
			deny(pub, "topic:/v1/fleet/firmware/*"),
		}, new: []Statement{allow(pub, "topic:/v1/devices/"+d+"/up", "topic:/v1/fleet/*")},
			widened: []string{"publish /v1/fleet/firmware/x topic:/v1/fleet/*"}},
		{name: "deny removed that a variable value could reach", old: []Statement{
			allow(pub, "topic:/v1/"+d+"/up", "topic:/v1/fleet/*"),
			deny(pub, "topic:/v1/fleet/firmware/*"),
		}, new: []Statement{allow(pub, "topic:/v1/"+d+"/up", "topic:/v1/fleet/*")},
			// For the device id "fleet/firmware/x", "/v1/fleet/firmware/x/up"
			// was denied and is now allowed: no example is found for
			// that, and no proof that there is none.
			widened:   []string{"publish /v1/fleet/firmware/x topic:/v1/fleet/*"},
			undecided: []string{"publish topic:/v1/" + d + "/up"}},
		{name: "deny added", old: []Statement{allow(pubSub, "topic:/v1/*")}, new: []Statement{
			allow(pubSub, "topic:/v1/*"),
			deny(pub, "topic:/v1/firmware/*"),
		}, narrowed: []string{"publish /v1/firmware/x topic:/v1/*"}},
		{name: "wildcard widened", old: []Statement{allow(pub, "topic:a/*")}, new: []Statement{allow(pub, "topic:*")},
			widened: []string{"publish x topic:*"}},
		{name: "wildcard narrowed", old: []Statement{allow(pub, "topic:*")}, new: []Statement{allow(pub, "topic:a/*")},
			narrowed: []string{"publish x topic:*"}},
		{name: "variable replaced by star", old: base, new: []Statement{
			allow(pub, "topic:/v1/*/up"),
			deny(pubSub, "topic:/v1/firmware/*"),
		}, widened: []string{"publish /v1/x/up topic:/v1/*/up"}},
		{name: "star replaced by variable", old: []Statement{allow(pub, "topic:/v1/*/up")}, new: []Statement{allow(pub, "topic:/v1/"+d+"/up")},
			narrowed: []string{"publish /v1/x/up topic:/v1/*/up"}},
		{name: "action moved", old: []Statement{allow(pub, "topic:/t")}, new: []Statement{allow(sub, "topic:/t")},
			widened: []string{"subscribe /t topic:/t"}, narrowed: []string{"publish /t topic:/t"}},
		{name: "allow fully denied in new", old: []Statement{allow(pub, "topic:/a")}, new: []Statement{
			allow(pub, "topic:/a", "topic:/b/*"),
			deny(pub, "topic:/b/*"),
		}},
		{name: "deny of old re-denied by a wider deny", old: []Statement{
			allow(pub, "topic:/v1/"+d+"/*"),
			deny(pub, "topic:/v1/"+d+"/fw"),
		}, new: []Statement{
			allow(pub, "topic:/v1/"+d+"/*"),
			deny(pub, "topic:/v1/"+d+"/f*"),
		}, narrowed: []string{"publish /v1/device-1/fx topic:/v1/" + d + "/*"}},
		{name: "system topics are never a change", old: nil, new: []Statement{allow(pub, "topic:$oc/*")}},
		{name: "unknown variable never matches", old: nil, new: []Statement{allow(pub, "topic:/v1/${devices.deviceid}")}},
		{name: "a variable whose every value the old already allowed is undecided, not guessed", old: []Statement{
			allow(pub, "topic:?", "topic:??*"),
		}, new: []Statement{allow(pub, "topic:"+d)}, undecided: []string{"publish topic:" + d},
			narrowed: []string{"publish x topic:?", "publish xxx topic:??*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diff, err := Compare(tt.old, tt.new)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want []string) {
				t.Helper()
				if !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			check("widened", changeSummary(diff.Widened), tt.widened)
			check("narrowed", changeSummary(diff.Narrowed), tt.narrowed)
			check("undecided", append(undecidedSummary(diff.UndecidedWidened), undecidedSummary(diff.UndecidedNarrowed)...), tt.undecided)
			if diff.NoNewAccess() != (len(tt.widened) == 0 && len(diff.UndecidedWidened) == 0) {
				t.Errorf("NoNewAccess = %v", diff.NoNewAccess())
			}
			checkChanges(t, tt.old, tt.new, diff.Widened)
			checkChanges(t, tt.new, tt.old, diff.Narrowed)
		})
	}
}

func TestCompareIdentity(t *testing.T) {
	diff, err := Compare(
		[]Statement{allow(pub, "topic:/v1/${devices.deviceId}/up")},
		[]Statement{allow(pub, "topic:/v1/${devices.deviceId}/up", "topic:/v1/${devices.productId}/up")},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := Change{Action: iotda.ActionPublish, Topic: "/v1/product-1/up", Identity: Identity{DeviceID: "device-1", ProductID: "product-1"},
		Statement: 0, Resource: "topic:/v1/${devices.productId}/up"}
	if len(diff.Widened) != 1 || diff.Widened[0] != want {
		t.Fatalf("widened = %+v, want %+v", diff.Widened, want)
	}
	if len(diff.Narrowed) != 0 || !diff.NoLostAccess() {
		t.Fatalf("narrowed = %+v", diff.Narrowed)
	}
}

func TestCompareErrors(t *testing.T) {
	if _, err := Compare([]Statement{{Effect: "allow"}}, nil); err == nil || !strings.Contains(err.Error(), "old statement[0]") {
		t.Errorf("Compare with a bad old effect: %v", err)
	}
	if _, err := Compare(nil, []Statement{allow(pub), {Effect: "PERMIT"}}); err == nil || !strings.Contains(err.Error(), "new statement[1]") {
		t.Errorf("Compare with a bad new effect: %v", err)
	}
}

// checkChanges fails t unless every change is access that to's statements
// grant and from's do not, for the change's identity, or, for a change
// without one (every device), for every identity of inclusionIdentities too.
func checkChanges(t *testing.T, from, to []Statement, changes []Change) {
	t.Helper()
	for _, c := range changes {
		ids := []Identity{c.Identity}
		if c.Identity == (Identity{}) {
			ids = append(ids, inclusionIdentities...)
		}
		for _, id := range ids {
			now, err := Evaluate(to, c.Action, c.Topic, id)
			if err != nil || now.Decision != DecisionAllow {
				t.Errorf("change %+v: for %+v the new statements give %+v, %v", c, id, now, err)
			}
			before, err := Evaluate(from, c.Action, c.Topic, id)
			if err != nil || before.Allowed {
				t.Errorf("change %+v: for %+v the old statements give %+v, %v", c, id, before, err)
			}
		}
		if !slices.Contains(to[c.Statement].Resources, c.Resource) || to[c.Statement].Effect != iotda.EffectAllow {
			t.Errorf("change %+v names a resource that is not in ALLOW statement %d", c, c.Statement)
		}
	}
}

// compareAlphabet is what the generated statements' patterns are made of.
var compareAlphabet = []string{"a", "b", "?", "*", "${devices.deviceId}", "${devices.productId}"}

// statementsFrom builds up to three statements from fuzz bytes: per
// statement a header byte (effect and actions) and up to two resources of
// up to three tokens.
func statementsFrom(b []byte) []Statement {
	var out []Statement
	next := func() (byte, bool) {
		if len(b) == 0 {
			return 0, false
		}
		c := b[0]
		b = b[1:]
		return c, true
	}
	for len(out) < 3 {
		h, ok := next()
		if !ok {
			break
		}
		s := Statement{Effect: iotda.EffectAllow, Actions: [][]string{pub, sub, pubSub}[int(h>>1)%3]}
		if h&1 == 1 {
			s.Effect = iotda.EffectDeny
		}
		for range 1 + int(h>>3)%2 {
			n, _ := next()
			var r strings.Builder
			r.WriteString(iotda.ResourcePrefix)
			for range 1 + int(n)%3 {
				c, _ := next()
				r.WriteString(compareAlphabet[int(c)%len(compareAlphabet)])
			}
			s.Resources = append(s.Resources, r.String())
		}
		out = append(out, s)
	}
	return out
}

func usesVariables(stmts ...[]Statement) bool {
	for _, ss := range stmts {
		for _, s := range ss {
			if hasVariable(s.Resources...) {
				return true
			}
		}
	}
	return false
}

// checkCompare compares Compare with brute force: every change it reports
// is real (checked with Evaluate), and every topic of up to six characters
// over a, b and c whose access differs for one of inclusionIdentities is
// accounted for, by a change or an undecided resource of the same action
// and direction. Without variables nothing is undecided.
func checkCompare(t *testing.T, old, updated []Statement, topics [][]char) {
	t.Helper()
	diff, err := Compare(old, updated)
	if err != nil {
		t.Fatal(err)
	}
	checkChanges(t, old, updated, diff.Widened)
	checkChanges(t, updated, old, diff.Narrowed)
	if !usesVariables(old, updated) && (len(diff.UndecidedWidened) > 0 || len(diff.UndecidedNarrowed) > 0) {
		t.Fatalf("Compare(%q, %q) is undecided without variables: %+v", old, updated, diff)
	}
	accounted := func(cs []Change, us []Undecided, action string) bool {
		return slices.ContainsFunc(cs, func(c Change) bool { return c.Action == action }) ||
			slices.ContainsFunc(us, func(u Undecided) bool { return u.Action == action })
	}
	for _, action := range []string{iotda.ActionPublish, iotda.ActionSubscribe} {
		for _, id := range inclusionIdentities {
			before, now := compiled(old, action, id), compiled(updated, action, id)
			for _, topic := range topics[1:] {
				was, is := before.allowed(topic), now.allowed(topic)
				switch {
				case is && !was && !accounted(diff.Widened, diff.UndecidedWidened, action):
					t.Fatalf("Compare(%q, %q) reports nothing widened for %s, but %q is allowed now and was not for %+v", old, updated, action, string(runesOf(topic)), id)
				case was && !is && !accounted(diff.Narrowed, diff.UndecidedNarrowed, action):
					t.Fatalf("Compare(%q, %q) reports nothing narrowed for %s, but %q was allowed and is not now for %+v", old, updated, action, string(runesOf(topic)), id)
				}
			}
		}
	}
}

// compiledPolicy is statements compiled for one action and identity, for
// brute force over many topics (Evaluate parses every pattern each call).
type compiledPolicy struct{ allows, denies [][]step }

func compiled(stmts []Statement, action string, id Identity) compiledPolicy {
	var c compiledPolicy
	for _, s := range stmts {
		if !slices.Contains(s.Actions, action) {
			continue
		}
		for _, r := range s.Resources {
			if steps, ok := parsePattern(r).concrete(id); ok {
				if s.Effect == iotda.EffectAllow {
					c.allows = append(c.allows, steps)
				} else {
					c.denies = append(c.denies, steps)
				}
			}
		}
	}
	return c
}

// allowed decides a non-empty topic that does not start with "$".
func (c compiledPolicy) allowed(topic []char) bool {
	m := func(p []step) bool { return globMatch(p, topic) }
	return slices.ContainsFunc(c.allows, m) && !slices.ContainsFunc(c.denies, m)
}

// TestCompareProperties checks Compare against brute force on generated
// pairs of statement sets, a fixed seed so that a failure reproduces.
func TestCompareProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	topics := topicsUpTo(6)
	for range 1000 {
		bytes := func() []byte {
			b := make([]byte, 4+rng.IntN(16))
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			return b
		}
		checkCompare(t, statementsFrom(bytes()), statementsFrom(bytes()), topics)
	}
}

func FuzzCompare(f *testing.F) {
	// Header bytes: bit 0 DENY, bits 1-2 actions, bit 3 two resources.
	f.Add([]byte{0, 0, 3}, []byte{0, 0, 0, 3})
	f.Add([]byte{0, 0, 3, 1, 1, 0, 3}, []byte{0, 0, 3})
	f.Add([]byte{0, 0, 4}, []byte{0, 1, 3, 3})
	f.Add([]byte{4, 2, 0, 3, 5}, []byte{4, 0, 5})
	f.Add([]byte{0, 0, 2, 8, 0, 2, 1, 3, 3}, []byte{0, 0, 4})
	topics := topicsUpTo(5)
	f.Fuzz(func(t *testing.T, old, updated []byte) {
		checkCompare(t, statementsFrom(old), statementsFrom(updated), topics)
	})
}
