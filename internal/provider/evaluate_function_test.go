package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// evaluateStatements is a policy pair in HCL: devices publish to their own
// telemetry topics; nobody touches firmware topics.
const evaluateStatements = `
locals {
  statements = [
    {
      effect    = "ALLOW"
      actions   = ["iotda:devices:publish"]
      resources = ["topic:/v1/devices/$${devices.deviceId}/*"]
    },
    {
      effect    = "DENY"
      actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
      resources = ["topic:/v1/devices/*/firmware"]
    },
  ]
}
`

func decision(allowed bool, decision string, matched ...int64) knownvalue.Check {
	checks := make([]knownvalue.Check, len(matched))
	for i, m := range matched {
		checks[i] = knownvalue.Int64Exact(m)
	}
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"allowed":            knownvalue.Bool(allowed),
		"decision":           knownvalue.StringExact(decision),
		"matched_statements": knownvalue.ListExact(checks),
	})
}

func TestAccEvaluateFunction(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: evaluateStatements + `
output "own_topic" {
  value = provider::iotda::evaluate(local.statements, "publish", "/v1/devices/sensor-1/telemetry", { device_id = "sensor-1" })
}
output "other_device" {
  value = provider::iotda::evaluate(local.statements, "iotda:devices:publish", "/v1/devices/sensor-2/telemetry", { device_id = "sensor-1" })
}
output "deny_wins" {
  value = provider::iotda::evaluate(local.statements, "publish", "/v1/devices/sensor-1/firmware", { device_id = "sensor-1" })
}
output "no_identity" {
  value = provider::iotda::evaluate(local.statements, "publish", "/v1/devices/sensor-1/telemetry", {})
}
output "system_topic" {
  value = provider::iotda::evaluate(local.statements, "subscribe", "$oc/devices/sensor-1/sys/messages/down", { device_id = "sensor-1" })
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("own_topic", decision(true, "ALLOW", 0)),
					statecheck.ExpectKnownOutputValue("other_device", decision(false, "NO_MATCH")),
					statecheck.ExpectKnownOutputValue("deny_wins", decision(false, "DENY", 0, 1)),
					statecheck.ExpectKnownOutputValue("no_identity", decision(false, "NO_MATCH")),
					statecheck.ExpectKnownOutputValue("system_topic", decision(true, "NOT_GOVERNED")),
				},
			},
			{
				Config: evaluateStatements + `
output "x" {
  value = provider::iotda::evaluate(local.statements, "connect", "/v1/a", {})
}`,
				ExpectError: regexp.MustCompile(`(?s)publish.*subscribe`),
			},
			{
				Config: evaluateStatements + `
output "x" {
  value = provider::iotda::evaluate(local.statements, "publish", "/v1/a", { device = "d1" })
}`,
				ExpectError: expectError(`identity key "device" is not one of device_id, product_id, client_id`),
			},
			{
				// A topic written like a policy resource is refused, never judged NO_MATCH.
				Config: evaluateStatements + `
output "x" {
  value = provider::iotda::evaluate(local.statements, "publish", "topic:/v1/devices/sensor-1/telemetry", { device_id = "sensor-1" })
}`,
				ExpectError: expectError(`the topic "topic:/v1/devices/sensor-1/telemetry" starts with "topic:", the prefix of policy resources: give the MQTT topic itself, without the prefix, e.g. "/v1/devices/sensor-1/telemetry"`),
			},
			{
				// Statements the API never accepts would never match: refused,
				// never judged NO_MATCH.
				Config: `
output "x" {
  value = provider::iotda::evaluate([{ effect = "DENY", actions = ["publish"], resources = ["topic:/v1/*"] }], "publish", "/v1/a", {})
}`,
				ExpectError: expectError(`statement\[0\]: action "publish" is not "iotda:devices:publish" or "iotda:devices:subscribe", so the statement would never match: write "iotda:devices:publish"`),
			},
			{
				Config: `
output "x" {
  value = provider::iotda::evaluate([{ effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:/v1/a", "/v1/*"] }], "publish", "/v1/b", {})
}`,
				ExpectError: expectError(`statement\[0\]: resource "/v1/\*" does not start with "topic:", so it would never match: write "topic:/v1/\*"`),
			},
		},
	})
	// A function is the provider's own work.
	a.expectNoCalls(t)
}

// TestAccEvaluateFunction_policyResources pools the statements of two
// policy resources, the way a check block in a review would.
func TestAccEvaluateFunction_policyResources(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{{
			Config: a.providerBlock() + `
resource "iotda_device_policy" "allow" {
  policy_name = "` + a.name("allow") + `"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:subscribe"]
    resources = ["topic:/v1/commands/*"]
  }
}
resource "iotda_device_policy" "deny" {
  policy_name = "` + a.name("deny") + `"
  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:subscribe"]
    resources = ["topic:/v1/commands/admin"]
  }
}
output "admin" {
  value = provider::iotda::evaluate(concat(iotda_device_policy.allow.statement, iotda_device_policy.deny.statement), "subscribe", "/v1/commands/admin", {})
}
output "reboot" {
  value = provider::iotda::evaluate(concat(iotda_device_policy.allow.statement, iotda_device_policy.deny.statement), "subscribe", "/v1/commands/reboot", {})
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("admin", decision(false, "DENY", 0, 1)),
				statecheck.ExpectKnownOutputValue("reboot", decision(true, "ALLOW", 0)),
			},
		}},
	})
}
