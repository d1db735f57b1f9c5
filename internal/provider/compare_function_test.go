package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// compareStatements holds the statements the compare tests start from and
// the changed versions they compare with, in HCL.
const compareStatements = `
locals {
  base = [
    { effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:/v1/devices/$${devices.deviceId}/up", "topic:/v1/fleet/*"] },
    { effect = "DENY", actions = ["iotda:devices:publish", "iotda:devices:subscribe"], resources = ["topic:/v1/fleet/firmware/*"] },
  ]
  reordered = [
    { effect = "DENY", actions = ["iotda:devices:subscribe", "iotda:devices:publish"], resources = ["topic:/v1/fleet/firmware/*"] },
    { effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:/v1/fleet/*", "topic:/v1/devices/$${devices.deviceId}/up"] },
  ]
  added = concat(local.base, [
    { effect = "ALLOW", actions = ["iotda:devices:subscribe"], resources = ["topic:/v1/broadcast"] },
  ])
  deny_removed = [local.base[0]]
  wildcard = [
    { effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:/v1/devices/$${devices.deviceId}/up", "topic:*"] },
    local.base[1],
  ]
  variable = [
    { effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:/v1/devices/*/up", "topic:/v1/fleet/*"] },
    local.base[1],
  ]
}
`

// change is the check of one element of widened or narrowed.
func change(action, topic string, identity map[string]string, statement int64, resource string) knownvalue.Check {
	id := map[string]knownvalue.Check{}
	for k, v := range identity {
		id[k] = knownvalue.StringExact(v)
	}
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"action":    knownvalue.StringExact(action),
		"topic":     knownvalue.StringExact(topic),
		"identity":  knownvalue.MapExact(id),
		"statement": knownvalue.Int64Exact(statement),
		"resource":  knownvalue.StringExact(resource),
	})
}

// comparison is the check of a whole result of compare, without undecided
// resources.
func comparison(widened, narrowed []knownvalue.Check) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"widened":        knownvalue.ListExact(widened),
		"narrowed":       knownvalue.ListExact(narrowed),
		"undecided":      knownvalue.ListExact([]knownvalue.Check{}),
		"no_new_access":  knownvalue.Bool(len(widened) == 0),
		"no_lost_access": knownvalue.Bool(len(narrowed) == 0),
		"equivalent":     knownvalue.Bool(len(widened) == 0 && len(narrowed) == 0),
	})
}

func TestAccCompareFunction(t *testing.T) {
	t.Parallel()
	dev1 := map[string]string{"device_id": "device-1"}
	everyone := map[string]string{}
	outputs := ""
	for _, name := range []string{"same", "reordered", "added", "deny_removed", "deny_added", "wildcard", "variable"} {
		before, after := "local.base", "local."+name
		switch name {
		case "same":
			after = "local.base"
		case "deny_added":
			before, after = "local.deny_removed", "local.base"
		}
		outputs += fmt.Sprintf("output %q {\n  value = provider::iotda::compare(%s, %s)\n}\n", name, before, after)
	}
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: compareStatements + outputs,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("same", comparison(nil, nil)),
					statecheck.ExpectKnownOutputValue("reordered", comparison(nil, nil)),
					statecheck.ExpectKnownOutputValue("added", comparison([]knownvalue.Check{
						change("iotda:devices:subscribe", "/v1/broadcast", everyone, 2, "topic:/v1/broadcast"),
					}, nil)),
					statecheck.ExpectKnownOutputValue("deny_removed", comparison([]knownvalue.Check{
						change("iotda:devices:publish", "/v1/fleet/firmware/x", everyone, 0, "topic:/v1/fleet/*"),
					}, nil)),
					statecheck.ExpectKnownOutputValue("deny_added", comparison(nil, []knownvalue.Check{
						change("iotda:devices:publish", "/v1/fleet/firmware/x", everyone, 0, "topic:/v1/fleet/*"),
					})),
					statecheck.ExpectKnownOutputValue("wildcard", comparison([]knownvalue.Check{
						change("iotda:devices:publish", "x", everyone, 0, "topic:*"),
					}, nil)),
					statecheck.ExpectKnownOutputValue("variable", comparison([]knownvalue.Check{
						change("iotda:devices:publish", "/v1/devices/x/up", dev1, 0, "topic:/v1/devices/*/up"),
					}, nil)),
				},
			},
			{
				// A comparison that cannot be settled is reported, not guessed.
				Config: `
output "undecided" {
  value = provider::iotda::compare(
    [{ effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:?", "topic:??*"] }],
    [{ effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:$${devices.deviceId}"] }],
  ).undecided
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("undecided", knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"direction": knownvalue.StringExact("widened"),
							"action":    knownvalue.StringExact("iotda:devices:publish"),
							"statement": knownvalue.Int64Exact(0),
							"resource":  knownvalue.StringExact("topic:${devices.deviceId}"),
							"reason":    knownvalue.StringExact(policyeval.ReasonIdentities),
						}),
					})),
				},
			},
			{
				// A comparison whose search outgrows its limit is reported
				// with the reason, in bounded time: "*a" followed by many
				// "?" needs exponentially many states.
				Config: `
output "budget" {
  value = provider::iotda::compare(
    [{ effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:*a` + strings.Repeat("?", 60) + `"] }],
    [{ effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:` + strings.Repeat("*a", 15) + strings.Repeat("?", 60) + `"] }],
  ).undecided
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("budget", knownvalue.ListPartial(map[int]knownvalue.Check{
						0: knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"direction": knownvalue.StringExact("widened"),
							"reason":    knownvalue.StringRegexp(regexp.MustCompile(`limit \(\d+ steps`)),
						}),
					})),
				},
			},
			{
				// A check block guards a review: the plan fails the assertion on a widening.
				Config: compareStatements + `
check "no_new_access" {
  assert {
    condition     = provider::iotda::compare(local.base, local.reordered).no_new_access
    error_message = "reordering grants new access"
  }
}
output "guarded" {
  value = provider::iotda::compare(local.base, local.added).no_new_access
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("guarded", knownvalue.Bool(false)),
				},
			},
			{
				Config: `
output "x" {
  value = provider::iotda::compare([{ effect = "PERMIT", actions = [], resources = [] }], [])
}`,
				ExpectError: expectError(`old statement\[0\]: the effect must be "ALLOW" or "DENY", not "PERMIT"`),
			},
			{
				// A new statement that would never match is refused: judged as
				// written it would prove "no new access" for the wrong reason.
				Config: `
output "x" {
  value = provider::iotda::compare([], [{ effect = "ALLOW", actions = ["iotda:devices:subscribe"], resources = ["/v1/*"] }])
}`,
				ExpectError: expectError(`new statement\[0\]: resource "/v1/\*" does not start with "topic:", so it would never match: write "topic:/v1/\*"`),
			},
			{
				Config: `
output "x" {
  value = provider::iotda::compare([{ effect = "ALLOW", actions = ["Subscribe"], resources = ["topic:/v1/*"] }], [])
}`,
				ExpectError: expectError(`old statement\[0\]: action "Subscribe" is not .* write "iotda:devices:subscribe"`),
			},
		},
	})
	// A function is the provider's own work.
	a.expectNoCalls(t)
}
