package policyeval

import (
	"fmt"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

func allow(actions []string, resources ...string) Statement {
	return Statement{Effect: "ALLOW", Actions: actions, Resources: resources}
}

func deny(actions []string, resources ...string) Statement {
	return Statement{Effect: "DENY", Actions: actions, Resources: resources}
}

var (
	pub    = []string{iotda.ActionPublish}
	sub    = []string{iotda.ActionSubscribe}
	pubSub = []string{iotda.ActionPublish, iotda.ActionSubscribe}
)

// want is an expected warning: its position, its summary and text its
// detail must contain.
type want struct {
	stmt, res int
	summary   string
	contains  []string
}

func TestReview(t *testing.T) {
	tests := []struct {
		name  string
		stmts []Statement
		want  []want
	}{
		{"clean policy", []Statement{
			allow(pubSub, "topic:/v1/${devices.deviceId}/*"),
			deny(pub, "topic:/v1/${devices.deviceId}/secret"),
		}, nil},
		{"no statements", nil, nil},

		{"plus", []Statement{allow(pub, "topic:/v1/+/up")}, []want{
			{0, 0, summaryWildcard, []string{`"topic:/v1/+/up"`, `contains "+"`, `"topic:/v1/*/up"`}},
		}},
		{"hash in second resource", []Statement{allow(sub, "topic:/a", "topic:/v1/#")}, []want{
			{0, 1, summaryWildcard, []string{`"topic:/v1/#"`, `contains "#"`, `"topic:/v1/*"`}},
		}},
		{"plus and hash with a variable", []Statement{deny(sub, "topic:/${devices.deviceId}/+/#")}, []want{
			{0, 0, summaryWildcard, []string{`contains "+" and "#"`, `"topic:/${devices.deviceId}/*/*"`}},
		}},
		{"star is not a wildcard warning", []Statement{allow(pub, "topic:/v1/*/up", "topic:/v1/?")}, nil},

		{"deny shadows allow", []Statement{
			deny(pub, "topic:/v1/*"),
			allow(pub, "topic:/v1/?/x"),
		}, []want{{1, -1, summaryOverridden, []string{"statement[1] is an ALLOW", `"iotda:devices:publish"`, "DENY statement[0] "}}}},
		{"narrower deny does not shadow", []Statement{
			deny(pub, "topic:/v1/a/*"),
			allow(pub, "topic:/v1/*"),
		}, nil},
		{"deny on publish only does not shadow publish and subscribe", []Statement{
			deny(pub, "topic:*"),
			allow(pubSub, "topic:/v1/a"),
		}, nil},
		{"deny on both shadows both", []Statement{
			allow(pubSub, "topic:/v1/a"),
			deny(pubSub, "topic:/v1/*"),
		}, []want{{0, -1, summaryOverridden, []string{`"iotda:devices:publish" and "iotda:devices:subscribe"`, "DENY statement[1] "}}}},
		{"deny per action across statements", []Statement{
			deny(pub, "topic:/v1/*"),
			deny(sub, "topic:*"),
			allow(pubSub, "topic:/v1/a"),
		}, []want{{2, -1, summaryOverridden, []string{"DENY statement[0] and statement[1] "}}}},
		{"deny statements together shadow", []Statement{
			deny(pub, "topic:?"),
			deny(pub, "topic:?*"),
			allow(pub, "topic:*"),
		}, []want{{2, -1, summaryOverridden, []string{"DENY statement[0] and statement[1] "}}}},
		{"deny statements together leave a gap", []Statement{
			deny(pub, "topic:?"),
			deny(pub, "topic:??*"),
			allow(pub, "topic:*"),
		}, nil},
		{"one resource not denied", []Statement{
			deny(pub, "topic:/a/*"),
			allow(pub, "topic:/a/b", "topic:/c"),
		}, nil},
		{"each resource denied by another statement", []Statement{
			deny(pub, "topic:/a/*"),
			deny(pub, "topic:/c", "topic:/d"),
			allow(pub, "topic:/a/b", "topic:/c"),
		}, []want{{2, -1, summaryOverridden, []string{"DENY statement[0] and statement[1] "}}}},
		{"allow does not shadow allow", []Statement{
			allow(pub, "topic:*"),
			allow(pub, "topic:/a"),
		}, nil},
		{"star covers a variable", []Statement{
			deny(pub, "topic:/v1/*/up"),
			allow(pub, "topic:/v1/${devices.deviceId}/up"),
		}, []want{{1, -1, summaryOverridden, nil}}},
		{"question mark does not cover a variable", []Statement{
			deny(pub, "topic:/v1/?/up"),
			allow(pub, "topic:/v1/${devices.deviceId}/up"),
		}, nil},
		{"same variable covers", []Statement{
			deny(pub, "topic:/v1/${devices.deviceId}/*"),
			allow(pub, "topic:/v1/${devices.deviceId}/up"),
		}, []want{{1, -1, summaryOverridden, nil}}},
		{"other variable does not cover", []Statement{
			deny(pub, "topic:/v1/${devices.productId}/*"),
			allow(pub, "topic:/v1/${devices.deviceId}/up"),
		}, nil},
		{"variable in deny does not cover a literal", []Statement{
			deny(pub, "topic:/v1/${devices.deviceId}/up"),
			allow(pub, "topic:/v1/dev1/up"),
		}, nil},
		{"system topics need no deny", []Statement{
			deny(pub, "topic:/a"),
			allow(pub, "topic:/a", "topic:$oc/x"),
		}, []want{
			{1, -1, summaryOverridden, []string{"DENY statement[0] "}},
			{1, 1, summarySystem, nil},
		}},
		{"only system topics is not overridden", []Statement{
			deny(pub, "topic:*"),
			allow(pub, "topic:$oc/x"),
		}, []want{{1, 0, summarySystem, nil}}},
		{"allow without resources is not reported", []Statement{
			deny(pub, "topic:*"),
			allow(pub),
		}, nil},

		{"everything in one statement", []Statement{allow(pubSub, "topic:/a", "topic:*")}, []want{
			{0, 1, summaryEverything, []string{`"topic:*"`, "matches every topic,", "$${devices.deviceId}"}},
		}},
		{"everything across statements", []Statement{
			allow(pub, "topic:*"),
			allow(sub, "topic:**"),
		}, []want{
			{0, 0, summaryEverything, []string{"matches every topic,"}},
			{1, 0, summaryEverything, []string{`"topic:**"`, "at least 2 characters"}},
		}},
		{"everything for publish only", []Statement{allow(pub, "topic:*"), allow(sub, "topic:/a/*")}, nil},
		{"everything denied is not allowed", []Statement{deny(pubSub, "topic:*")}, nil},
		{"star slash star is not everything", []Statement{allow(pubSub, "topic:*/*")}, nil},
		{"everything without prefix is nothing", []Statement{allow(pubSub, "*")}, nil},
		{"everything for unknown actions", []Statement{allow([]string{"publish", "subscribe"}, "topic:*")}, nil},

		{"oc system topic", []Statement{allow(pub, "topic:$oc/devices/${devices.deviceId}/sys/messages/up")}, []want{
			{0, 0, summarySystem, []string{`"topic:$oc/devices/${devices.deviceId}/sys/messages/up"`}},
		}},
		{"other system topic", []Statement{deny(sub, "topic:/a", "topic:$share/g/x")}, []want{{0, 1, summarySystem, nil}}},
		{"leading variable is not a system topic", []Statement{allow(pub, "topic:${devices.deviceId}/x")}, nil},
		{"dollar later is not a system topic", []Statement{allow(pub, "topic:/a/$oc")}, nil},

		{"unknown variables", []Statement{allow(pub, "topic:/v1/${devices.deviceid}/up", "topic:/v1/${device.deviceId}/${devices.productid}")}, []want{
			{0, 0, summaryUnknownVar, []string{`uses "${devices.deviceid}"`, "never matches", `Did you mean "${devices.deviceId}"?`, "$${devices.deviceId}"}},
			{0, 1, summaryUnknownVar, []string{`uses "${device.deviceId}"`, `Did you mean "${devices.deviceId}"?`}},
			{0, 1, summaryUnknownVar, []string{`uses "${devices.productid}"`, `Did you mean "${devices.productId}"?`}},
		}},
		{"variables without braces", []Statement{allow(pub, "topic:/v1/$devices.deviceId/up", "topic:/v1/{devices.clientId}", "topic:/v1/devices.productid/x")}, []want{
			{0, 0, summaryBareVar, []string{`contains "$devices.deviceId"`, "literal text", `Did you mean "${devices.deviceId}"?`, `"$${devices.deviceId}"`}},
			{0, 1, summaryBareVar, []string{`contains "{devices.clientId}"`, `Did you mean "${devices.clientId}"?`}},
			{0, 2, summaryBareVar, []string{`contains "devices.productid"`, `Did you mean "${devices.productId}"?`}},
		}},
		{"prefix written twice", []Statement{allow(pub, "topic:/v1/a", "topic:topic:/v1/${devices.deviceId}/up"), deny(sub, "topic:topic:topic:/v1/x")}, []want{
			{0, 1, summaryPrefix, []string{`starts with "topic:" more than once`, `Did you mean "topic:/v1/${devices.deviceId}/up"?`}},
			{1, 0, summaryPrefix, []string{`Did you mean "topic:/v1/x"?`}},
		}},
		{"dollar sign doubled as in HCL", []Statement{allow(pub, "topic:/v1/$${devices.deviceId}/up", "topic:/v1/${devices.deviceId}/$x")}, []want{
			{0, 0, summaryEscapedVar, []string{`contains "$${"`, `reached the provider with both dollar signs`, `with a single dollar sign where it comes from: "topic:/v1/${devices.deviceId}/up".`}},
		}},
		{"doubled dollar sign at the start of the topic is no system topic to remove", []Statement{allow(pub, "topic:$${devices.deviceId}/up", "topic:$oc/x")}, []want{
			{0, 0, summaryEscapedVar, []string{`"topic:${devices.deviceId}/up"`}},
			{0, 1, summarySystem, nil},
		}},
		{"topic: later in the topic is not a repeated prefix", []Statement{allow(pub, "topic:/v1/topic:/x", "topic:topic/x")}, nil},
		{"a dotted word that is no variable", []Statement{allow(pub, "topic:/v1/devices.status/x")}, nil},
		{"no wildcard advice for resources without effect", []Statement{
			allow(pub, "topic:$oc/+/x", "topic:/v1/${devices.deviceid}/+"),
			deny(pub, "topic:/v2/*"),
			allow(pub, "topic:/v2/+"),
		}, []want{
			{0, 0, summarySystem, nil},
			{0, 1, summaryUnknownVar, nil},
			{2, -1, summaryOverridden, nil},
		}},

		{"order", []Statement{
			allow(pubSub, "topic:/a/+", "topic:*"),
			deny(pubSub, "topic:/a/#"),
			allow(pub, "topic:/a/#", "topic:$oc/x"),
		}, []want{
			{0, 0, summaryWildcard, nil},
			{0, 1, summaryEverything, nil},
			{1, 0, summaryWildcard, nil},
			{2, -1, summaryOverridden, nil},
			{2, 1, summarySystem, nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Review(tt.stmts)
			if len(got) != len(tt.want) {
				t.Fatalf("Review returned %d warnings, want %d:\n%s", len(got), len(tt.want), dump(got))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Statement != w.stmt || g.Resource != w.res || g.Summary != w.summary {
					t.Errorf("warning %d = (%d, %d, %q), want (%d, %d, %q)", i, g.Statement, g.Resource, g.Summary, w.stmt, w.res, w.summary)
				}
				for _, s := range w.contains {
					if !strings.Contains(g.Detail, s) {
						t.Errorf("warning %d detail %q does not contain %q", i, g.Detail, s)
					}
				}
				if g.Resource >= 0 && !strings.Contains(g.Detail, fmt.Sprintf("%q", tt.stmts[g.Statement].Resources[g.Resource])) {
					t.Errorf("warning %d detail %q does not quote its resource", i, g.Detail)
				}
			}
		})
	}
}

func dump(ws []Warning) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "  (%d, %d) %s: %s\n", w.Statement, w.Resource, w.Summary, w.Detail)
	}
	return b.String()
}
