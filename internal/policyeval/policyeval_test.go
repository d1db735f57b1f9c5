package policyeval

import (
	"slices"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// matchResource reports whether the resource pattern matches the whole of
// topic for the identity id, without the special case of "$" topics.
func matchResource(resource, topic string, id Identity) bool {
	return parsePattern(resource).matchWork(chars(topic), id, nil)
}

var dev = Identity{DeviceID: "dev1", ProductID: "prod1", ClientID: "dev1_0_0_2024"}

func TestMatchResource(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		topic    string
		id       Identity
		want     bool
	}{
		{"manual worked example", "topic:test/topic*/some", "test/topic1/pub/some", dev, true},
		{"manual example needs the suffix", "topic:test/topic*/some", "test/topic1/pub/somex", dev, false},
		{"literal", "topic:/v1/dev1/up", "/v1/dev1/up", dev, true},
		{"literal differs", "topic:/v1/dev1/up", "/v1/dev2/up", dev, false},
		{"literal is case sensitive", "topic:/v1/Up", "/v1/up", dev, false},

		{"star one char", "topic:a/*", "a/b", dev, true},
		{"star many chars", "topic:a/*", "a/bcd", dev, true},
		{"star not empty", "topic:a/*", "a/", dev, false},
		{"star not empty in the middle", "topic:a*b", "ab", dev, false},
		{"star spans slash", "topic:a/*", "a/b/c/d", dev, true},
		{"star spans slash in the middle", "topic:/v1/*/up", "/v1/x/y/up", dev, true},
		{"star alone matches one char", "topic:*", "x", dev, true},
		{"star alone does not match empty", "topic:*", "", dev, false},
		{"double star needs two chars", "topic:**", "x", dev, false},
		{"double star two chars", "topic:**", "xy", dev, true},
		{"star backtracks", "topic:*a*b", "xaaab", dev, true},
		{"star backtracks and fails", "topic:*a*b", "xaaa", dev, false},

		{"question one char", "topic:a?c", "abc", dev, true},
		{"question matches slash", "topic:a?c", "a/c", dev, true},
		{"question not zero chars", "topic:a?c", "ac", dev, false},
		{"question not two chars", "topic:a?c", "abbc", dev, false},
		{"question one multibyte char", "topic:a?c", "a\u00e9c", dev, true},
		{"question one invalid byte", "topic:a?c", "a\xffc", dev, true},
		{"invalid bytes are distinct", "topic:a\xfec", "a\xffc", dev, false},

		{"plus literal", "topic:/v1/+/up", "/v1/+/up", dev, true},
		{"plus not a wildcard", "topic:/v1/+/up", "/v1/dev1/up", dev, false},
		{"hash literal", "topic:/v1/#", "/v1/#", dev, true},
		{"hash not a wildcard", "topic:/v1/#", "/v1/dev1/up", dev, false},

		{"device id", "topic:/v1/${devices.deviceId}/up", "/v1/dev1/up", dev, true},
		{"device id other device", "topic:/v1/${devices.deviceId}/up", "/v1/dev2/up", dev, false},
		{"product id", "topic:/p/${devices.productId}/*", "/p/prod1/x", dev, true},
		{"product id other product", "topic:/p/${devices.productId}/*", "/p/prod2/x", dev, false},
		{"client id", "topic:/c/${devices.clientId}", "/c/dev1_0_0_2024", dev, true},
		{"client id other client", "topic:/c/${devices.clientId}", "/c/dev1", dev, false},
		{"two variables", "topic:${devices.productId}/${devices.deviceId}", "prod1/dev1", dev, true},
		{"empty device id never matches", "topic:/v1/${devices.deviceId}/up", "/v1//up", Identity{ProductID: "p"}, false},
		{"empty device id never matches a star", "topic:*${devices.deviceId}", "abc", Identity{ProductID: "p"}, false},
		{"empty client id never matches", "topic:/c/${devices.clientId}*", "/c/x", Identity{DeviceID: "d"}, false},
		{"substituted star is literal", "topic:/v1/${devices.deviceId}/up", "/v1/abc/up", Identity{DeviceID: "*"}, false},
		{"substituted star matches itself", "topic:/v1/${devices.deviceId}/up", "/v1/*/up", Identity{DeviceID: "*"}, true},
		{"substituted question is literal", "topic:${devices.deviceId}", "a", Identity{DeviceID: "?"}, false},
		{"substituted variable text is literal", "topic:${devices.deviceId}", "${devices.productId}", Identity{DeviceID: "${devices.productId}", ProductID: "p"}, true},
		{"unknown variable", "topic:/v1/${devices.name}/up", "/v1/${devices.name}/up", dev, false},
		{"variable names are case sensitive", "topic:${devices.deviceid}", "dev1", dev, false},
		{"unclosed brace is literal", "topic:/v1/${devices", "/v1/${devices", dev, true},

		{"anchored at the start", "topic:v1/up", "/v1/up", dev, false},
		{"anchored at the end", "topic:/v1/up", "/v1/up/x", dev, false},
		{"anchored after a star", "topic:*/up", "a/up/b", dev, false},
		{"no topic prefix", "/v1/up", "/v1/up", dev, false},
		{"no topic prefix star", "*", "abc", dev, false},
		{"prefix is case sensitive", "TOPIC:/v1/up", "/v1/up", dev, false},
		{"empty pattern matches only empty", "topic:", "a", dev, false},
		{"system topic is just text to the matcher", "topic:$oc/*", "$oc/devices/x", dev, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchResource(tt.resource, tt.topic, tt.id); got != tt.want {
				t.Errorf("matchResource(%q, %q, %+v) = %v, want %v", tt.resource, tt.topic, tt.id, got, tt.want)
			}
		})
	}
}

func TestNormalizeAction(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"publish", iotda.ActionPublish},
		{"PUBLISH", iotda.ActionPublish},
		{"Subscribe", iotda.ActionSubscribe},
		{"iotda:devices:publish", iotda.ActionPublish},
		{"IoTDA:Devices:Subscribe", iotda.ActionSubscribe},
	}
	for _, tt := range tests {
		got, err := NormalizeAction(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeAction(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "pub", "connect", " publish", "iotda:devices:*", "devices:publish"} {
		got, err := NormalizeAction(bad)
		if err == nil {
			t.Errorf("NormalizeAction(%q) = %q, want an error", bad, got)
			continue
		}
		for _, accepted := range []string{`"publish"`, `"subscribe"`, `"iotda:devices:publish"`, `"iotda:devices:subscribe"`} {
			if !strings.Contains(err.Error(), accepted) {
				t.Errorf("NormalizeAction(%q) error %q does not list %s", bad, err, accepted)
			}
		}
	}
}

func TestEvaluate(t *testing.T) {
	pubSub := []string{iotda.ActionPublish, iotda.ActionSubscribe}
	policy := []Statement{
		{Effect: "ALLOW", Actions: pubSub, Resources: []string{"topic:/v1/${devices.deviceId}/*"}},
		{Effect: "DENY", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/v1/*/secret", "topic:/admin/*"}},
		{Effect: "ALLOW", Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:/broadcast/?"}},
		{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"/v1/dev1/raw"}},
	}
	tests := []struct {
		name    string
		stmts   []Statement
		action  string
		topic   string
		id      Identity
		allowed bool
		want    Decision
		matched []int
	}{
		{"allow by variable", policy, "publish", "/v1/dev1/up", dev, true, DecisionAllow, []int{0}},
		{"allow by variable, subscribe", policy, "subscribe", "/v1/dev1/down", dev, true, DecisionAllow, []int{0}},
		{"other device no match", policy, "publish", "/v1/dev2/up", dev, false, DecisionNoMatch, nil},
		{"deny beats allow across statements", policy, "publish", "/v1/dev1/secret", dev, false, DecisionDeny, []int{0, 1}},
		{"deny only for its action", policy, "subscribe", "/v1/dev1/secret", dev, true, DecisionAllow, []int{0}},
		{"deny alone", policy, iotda.ActionPublish, "/admin/x", dev, false, DecisionDeny, []int{1}},
		{"deny second resource only for its action", policy, "subscribe", "/admin/x", dev, false, DecisionNoMatch, nil},
		{"question mark", policy, "subscribe", "/broadcast/a", dev, true, DecisionAllow, []int{2}},
		{"question mark not two", policy, "subscribe", "/broadcast/ab", dev, false, DecisionNoMatch, nil},
		{"action must be named", policy, "publish", "/broadcast/a", dev, false, DecisionNoMatch, nil},
		{"resource without prefix never matches", policy, "publish", "/v1/dev1/raw", Identity{ProductID: "p"}, false, DecisionNoMatch, nil},
		{"empty device id", policy, "publish", "/v1//up", Identity{ProductID: "p"}, false, DecisionNoMatch, nil},
		{"oc system topic", policy, "publish", "$oc/devices/x/sys/messages/up", dev, true, DecisionNotGoverned, nil},
		{"other system topic", []Statement{{Effect: "DENY", Actions: pubSub, Resources: []string{"topic:*"}}}, "subscribe", "$SYS/x", dev, true, DecisionNotGoverned, nil},
		{"deny everything", []Statement{{Effect: "DENY", Actions: pubSub, Resources: []string{"topic:*"}}}, "subscribe", "a", dev, false, DecisionDeny, []int{0}},
		{"no statements", nil, "publish", "/a", dev, false, DecisionNoMatch, nil},
		{"deny then allow order does not matter", []Statement{
			{Effect: "DENY", Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:/x/?"}},
			{Effect: "ALLOW", Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:*"}},
			{Effect: "ALLOW", Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:/y", "topic:/x/*"}},
		}, "subscribe", "/x/1", dev, false, DecisionDeny, []int{0, 1, 2}},
		{"several allows all reported", []Statement{
			{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:a*"}},
			{Effect: "ALLOW", Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:*"}},
			{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:*b"}},
		}, "publish", "ab", dev, true, DecisionAllow, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(tt.stmts, tt.action, tt.topic, tt.id)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if got.Allowed != tt.allowed || got.Decision != tt.want || !slices.Equal(got.Matched, tt.matched) {
				t.Errorf("Evaluate(%q, %q) = %+v, want {Allowed:%v Decision:%s Matched:%v}", tt.action, tt.topic, got, tt.allowed, tt.want, tt.matched)
			}
		})
	}
}

func TestEvaluateErrors(t *testing.T) {
	ok := []Statement{{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:*"}}}
	tests := []struct {
		name   string
		stmts  []Statement
		action string
		topic  string
		want   string
	}{
		{"bad action", ok, "connect", "/a", `unknown action "connect"`},
		{"empty topic", ok, "publish", "", "topic must not be empty"},
		{"topic with the resource prefix", ok, "publish", "topic:/v1/up", `the topic "topic:/v1/up" starts with "topic:", the prefix of policy resources: give the MQTT topic itself, without the prefix, e.g. "/v1/up"`},
		{"the resource prefix alone", ok, "publish", "topic:", `without the prefix, e.g. "/v1/devices/sensor-1/telemetry"`},
		{"bad effect", append(ok, Statement{Effect: "allow"}), "publish", "/a", `statement[1]: the effect must be "ALLOW" or "DENY", not "allow"`},
		{"bad effect on a system topic", []Statement{{Effect: "PERMIT"}}, "publish", "$oc/x", `statement[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(tt.stmts, tt.action, tt.topic, dev)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Evaluate = %+v, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}
