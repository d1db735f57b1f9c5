package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

const policyDataAddr = "data.iotda_device_policy.test"

// statementValue is the check of one element of a statement list.
func statementValue(effect string, actions []string, resources ...string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"effect":    knownvalue.StringExact(effect),
		"actions":   stringSetExact(actions...),
		"resources": stringSetExact(resources...),
	})
}

func TestAccDevicePolicyDataSource_byID(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	p := a.createPolicy("sensors", "",
		apiStatement(iotda.EffectAllow, bothActions, "topic:/v1/${devices.deviceId}/up", "topic:/v1/shared"),
		apiStatement(iotda.EffectDeny, publishOnly, "topic:/v1/firmware/*"))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: a.resetCalls,
			Config: a.providerBlock() + fmt.Sprintf(`
data "iotda_device_policy" "test" {
  policy_id = %q
}
`, p.PolicyID),
			// Check runs right after the apply of the saved plan: the data
			// source has been read once, during the plan.
			Check: a.expectOpCalls(map[iotda.Operation]int{iotda.OpShow: 1, iotda.OpList: 0}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("id"), knownvalue.StringExact(p.PolicyID)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_id"), knownvalue.StringExact(p.PolicyID)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact(a.name("sensors"))),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("app_id"), knownvalue.StringExact(p.AppID)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("statement"), knownvalue.ListExact([]knownvalue.Check{
					statementValue("ALLOW", bothActions, "topic:/v1/${devices.deviceId}/up", "topic:/v1/shared"),
					statementValue("DENY", publishOnly, "topic:/v1/firmware/*"),
				})),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("create_time"), knownvalue.StringExact(p.CreateTime)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("update_time"), knownvalue.StringExact(p.UpdateTime)),
			},
		}},
	})
}

// TestAccDevicePolicyDataSource_byName finds a policy by its exact name
// among decoys whose names contain it, which the API's substring filter
// lists too.
func TestAccDevicePolicyDataSource_byName(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	space := a.apps(1)[0]
	a.createPolicy("sensors-old", space, apiStatement(iotda.EffectAllow, publishOnly, "topic:/old"))
	want := a.createPolicy("sensors", space, apiStatement(iotda.EffectAllow, subscribeOnly, "topic:/v1/commands/*"))
	a.createPolicy("sensors-legacy", space, apiStatement(iotda.EffectAllow, publishOnly, "topic:/legacy"))
	a.createPolicy("Sensors", space, apiStatement(iotda.EffectAllow, publishOnly, "topic:/upper"))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: a.resetCalls,
			Config: a.providerBlock() + fmt.Sprintf(`
data "iotda_device_policy" "test" {
  policy_name = %q
}
`, a.name("sensors")),
			Check: a.expectOpCalls(map[iotda.Operation]int{iotda.OpList: 1, iotda.OpShow: 1}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_id"), knownvalue.StringExact(want.PolicyID)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("id"), knownvalue.StringExact(want.PolicyID)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact(a.name("sensors"))),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("app_id"), knownvalue.StringExact(space)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("statement"), knownvalue.ListExact([]knownvalue.Check{
					statementValue("ALLOW", subscribeOnly, "topic:/v1/commands/*"),
				})),
			},
		}},
	})
}

func TestAccDevicePolicyDataSource_ambiguousName(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	spaces := a.apps(2)
	first := a.createPolicy("shared", spaces[0], apiStatement(iotda.EffectAllow, publishOnly, "topic:/one"))
	second := a.createPolicy("shared", spaces[1], apiStatement(iotda.EffectAllow, publishOnly, "topic:/two"))
	config := func(appID string) string {
		app := ""
		if appID != "" {
			app = fmt.Sprintf("app_id = %q", appID)
		}
		return a.providerBlock() + fmt.Sprintf(`
data "iotda_device_policy" "test" {
  policy_name = %q
  %s
}
`, a.name("shared"), app)
	}
	name := regexp.QuoteMeta(a.name("shared"))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ExpectError: expectError(fmt.Sprintf(`Ambiguous Device Policy Name.*2 device policies are named "%[1]s": %[2]s \("%[1]s", app_id %[3]s\), %[4]s \("%[1]s", app_id %[5]s\).*Set app_id.*policy_id`,
					name, second.PolicyID, spaces[1], first.PolicyID, spaces[0])),
			},
			{
				Config: config(spaces[0]),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_id"), knownvalue.StringExact(first.PolicyID)),
					statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("app_id"), knownvalue.StringExact(spaces[0])),
					statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"), stringSetExact("topic:/one")),
				},
			},
		},
	})
}

func TestAccDevicePolicyDataSource_notFound(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	spaces := a.apps(2)
	near := a.createPolicy("sensors-v2", spaces[0], apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	data := func(attrs string) string {
		return a.providerBlock() + "data \"iotda_device_policy\" \"test\" {\n" + attrs + "\n}\n"
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config:      data(`policy_id = "0123456789abcdef01234567"`),
				ExpectError: expectError(`Device Policy Not Found.*Device policy 0123456789abcdef01234567 does not exist.*HTTP 404`),
			},
			{
				Config:      data(fmt.Sprintf("policy_name = %q", a.name("nope"))),
				ExpectError: expectError(`Device Policy Not Found.*No device policy is named "` + a.name("nope") + `"\. Names are matched exactly`),
			},
			{
				// Only a policy whose name contains the wanted one exists.
				Config: data(fmt.Sprintf("policy_name = %q", a.name("sensors"))),
				ExpectError: expectError(fmt.Sprintf(`Device Policy Not Found.*No device policy is named "%s".*Policies with similar names: %s \("%s", app_id %s\)`,
					a.name("sensors"), near.PolicyID, a.name("sensors-v2"), spaces[0])),
			},
			{
				Config:      data(fmt.Sprintf("policy_name = %q\napp_id = %q", a.name("sensors-v2"), spaces[1])),
				ExpectError: expectError(fmt.Sprintf(`Device Policy Not Found.*No device policy is named "%s" in resource space "%s"`, a.name("sensors-v2"), spaces[1])),
			},
		},
	})
}

// TestAccDevicePolicyDataSource_validation has one plan-time error per class
// of bad arguments; none reaches the API.
func TestAccDevicePolicyDataSource_validation(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	cases := []struct {
		name  string
		attrs string
		want  string
	}{
		{"neither id nor name", `app_id = "space-1"`, `Missing Attribute Configuration.*Exactly one of these attributes must be configured: \[policy_id,policy_name\]`},
		{"both id and name", "policy_id = \"0123456789abcdef01234567\"\npolicy_name = \"p\"", `Invalid Attribute Combination.*Exactly one of these attributes must be configured: \[policy_id,policy_name\]`},
		{"app id with id", "policy_id = \"0123456789abcdef01234567\"\napp_id = \"space-1\"", `Invalid Attribute Combination.*cannot be configured together: \[policy_id,app_id\]`},
		{"malformed id", `policy_id = "0123456789ABCDEF01234567"`, `policy_id must be a device policy id: 24 lower-case hexadecimal characters`},
		{"name as id", `policy_id = "my-policy"`, `policy_id must be a device policy id: 24 lower-case hexadecimal characters. A policy's name is not its id: to find a policy by name, set policy_name instead of policy_id, got: my-policy`},
		{"name characters", `policy_name = "my policy"`, `policy_name must contain only letters, digits, "_" and "-"`},
		{"long app id", fmt.Sprintf("policy_name = \"p\"\napp_id = %q", "a123456789012345678901234567890123456"), `app_id string length must be between 1 and 36`},
	}
	planCases := make([]planErrorCase, 0, len(cases))
	for _, tc := range cases {
		planCases = append(planCases, planErrorCase{a.providerBlock() + "data \"iotda_device_policy\" \"test\" {\n" + tc.attrs + "\n}\n", tc.want})
	}
	a.testPlanErrors(planCases)
}

// TestAccDevicePolicyDataSource_sameConfiguration reads a policy managed in
// the same configuration, by id and (after it exists) by name.
func TestAccDevicePolicyDataSource_sameConfiguration(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	config := a.policyConfig("managed", "", "topic:/v1/a") + `
data "iotda_device_policy" "test" {
  policy_id = iotda_device_policy.test.id
}

data "iotda_device_policy" "by_name" {
  policy_name = iotda_device_policy.test.policy_name
  depends_on  = [iotda_device_policy.test]
}
`
	byName := "data.iotda_device_policy.by_name"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.CompareValuePairs(policyAddr, tfjsonpath.New("id"), policyDataAddr, tfjsonpath.New("policy_id"), compare.ValuesSame()),
				statecheck.CompareValuePairs(policyAddr, tfjsonpath.New("id"), byName, tfjsonpath.New("policy_id"), compare.ValuesSame()),
				statecheck.CompareValuePairs(policyAddr, tfjsonpath.New("statement"), policyDataAddr, tfjsonpath.New("statement"), compare.ValuesSame()),
				statecheck.CompareValuePairs(policyAddr, tfjsonpath.New("app_id"), byName, tfjsonpath.New("app_id"), compare.ValuesSame()),
				statecheck.ExpectKnownValue(byName, tfjsonpath.New("update_time"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{8}T\d{6}Z$`))),
			},
		}},
	})
}
