package provider

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Configurations and checks that hold on any target: the policy and
// binding blocks the tests apply, value checks, and plan-time error steps.

var (
	publishOnly   = []string{iotda.ActionPublish}
	subscribeOnly = []string{iotda.ActionSubscribe}
	bothActions   = []string{iotda.ActionPublish, iotda.ActionSubscribe}
)

const policyAddr = "iotda_device_policy.test"

// policyBlock is the iotda_device_policy.test of policyConfig, app being
// the app_id line or "" and quoted the quoted resources.
func policyBlock(name, app string, quoted []string) string {
	return fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = %q
  %s
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = [%s]
  }
  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/firmware/*"]
  }
}
`, name, app, strings.Join(quoted, ", "))
}

func stringSetExact(values ...string) knownvalue.Check {
	return knownvalue.SetExact(stringChecks(values))
}

func stringListExact(values ...string) knownvalue.Check {
	return knownvalue.ListExact(stringChecks(values))
}

// stringChecks checks each of values exactly.
func stringChecks(values []string) []knownvalue.Check {
	checks := make([]knownvalue.Check, len(values))
	for i, v := range values {
		checks[i] = knownvalue.StringExact(v)
	}
	return checks
}

const bindingAddr = "iotda_device_policy_binding.test"

// deviceIDs names devices from..to-1 the way IoTDA does: product_node.
func deviceIDs(from, to int) []string {
	ids := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("64a7ba7ef9cb063d27e16b97_sensor-%04d", i))
	}
	return ids
}

// bindingBlock binds ids with the provider's function; the for-expression
// idiom is tested on its own.
func bindingBlock(ids []string) string {
	return fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = iotda_device_policy.test.id
  target_type = "device"
  targets     = provider::iotda::targets([%s])
}
`, quoteAll(ids))
}

func ceilDiv(n, d int) int { return (n + d - 1) / d }

func quoteAll(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(quoted, ", ")
}

// targetsExact checks a targets map holds exactly ids.
func targetsExact(ids ...string) knownvalue.Check {
	m := make(map[string]knownvalue.Check, len(ids))
	for _, id := range ids {
		m[id] = knownvalue.StringExact("")
	}
	return knownvalue.MapExact(m)
}

// targetKeys returns the target ids of a targets map, sorted; none when it
// is null or unknown.
func targetKeys(m types.Map) []string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	return slices.Sorted(maps.Keys(m.Elements()))
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// expectError matches an error message that terraform may have wrapped:
// "." also crosses lines, and each space matches any run of white space.
func expectError(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)` + strings.ReplaceAll(pattern, " ", `\s+`))
}

// planErrorCase is a configuration that must fail at plan time with an
// error matching want (see expectError).
type planErrorCase struct {
	config string
	want   string
}

// planErrorSteps makes one plan-only step per case.
func planErrorSteps(cases []planErrorCase) []resource.TestStep {
	steps := make([]resource.TestStep, 0, len(cases))
	for _, tc := range cases {
		steps = append(steps, resource.TestStep{Config: tc.config, PlanOnly: true, ExpectError: expectError(tc.want)})
	}
	return steps
}

// statementResources lists the resources of every statement.
func statementResources(stmts []iotda.Statement) []string {
	var out []string
	for _, s := range stmts {
		out = append(out, s.Resources...)
	}
	return out
}

// teamDevices names n devices of a team, from index from on.
func teamDevices(team string, from, to int) []string {
	ids := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("64a7ba7ef9cb063d27e16b97_%s-%03d", team, i))
	}
	return ids
}

var policyIDValue = knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{24}$`))

// apiStatement is a statement as the API carries it.
func apiStatement(effect string, actions []string, resources ...string) iotda.Statement {
	return iotda.Statement{Effect: effect, Actions: actions, Resources: resources}
}

// policyConfig is policyConfig on the target, with the target's policy name.
func (a *accTarget) policyConfig(name, appID string, resources ...string) string {
	app := ""
	if appID != "" {
		app = fmt.Sprintf("app_id = %q", appID)
	}
	quoted := make([]string, len(resources))
	for i, r := range resources {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	return a.providerBlock() + policyBlock(a.name(name), app, quoted)
}

// bindingConfig is bindingConfig on the target.
func (a *accTarget) bindingConfig(ids []string) string {
	return a.providerBlock() + fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/up"]
  }
}
`, a.name("fleet")) + bindingBlock(ids)
}

// outOfBandPolicies makes three policies as another user of the API would:
// two in the first resource space (one of them with an IoTDA variable and
// its DENY statement first), one in the second.
func (a *accTarget) outOfBandPolicies() []iotda.Policy {
	a.t.Helper()
	spaces := a.apps(2)
	return []iotda.Policy{
		a.createPolicy("sensors", spaces[0],
			apiStatement(iotda.EffectDeny, publishOnly, "topic:/v1/firmware/*"),
			apiStatement(iotda.EffectAllow, bothActions, "topic:/v1/devices/${devices.deviceId}/*")),
		a.createPolicy("gateways", spaces[0], apiStatement(iotda.EffectAllow, subscribeOnly, "topic:/v1/broadcast")),
		a.createPolicy("sensors", spaces[1], apiStatement(iotda.EffectAllow, publishOnly, "topic:/v2/telemetry")),
	}
}
