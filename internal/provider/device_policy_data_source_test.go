package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
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
	p, err := a.client.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: a.name("sensors"), Statement: []iotda.Statement{
		{Effect: iotda.EffectAllow, Actions: bothActions, Resources: []string{"topic:/v1/${devices.deviceId}/up", "topic:/v1/shared"}},
		{Effect: iotda.EffectDeny, Actions: publishOnly, Resources: []string{"topic:/v1/firmware/*"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
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
			Check: func(s *terraform.State) error {
				var err error
				a.mockOnly("one ShowDevicePolicy call and no listing", func() {
					err = expectOpCalls(a.srv, map[mock.Operation]int{mock.OpShow: 1, mock.OpList: 0})(s)
				})
				return err
			},
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
	srv := mock.NewTestServer(t, mock.Config{})
	createPolicy(t, srv, "old-sensors", "space-1", apiStatement(iotda.EffectAllow, publishOnly, "topic:/old"))
	want := createPolicy(t, srv, "sensors", "space-1", apiStatement(iotda.EffectAllow, subscribeOnly, "topic:/v1/commands/*"))
	createPolicy(t, srv, "sensors-legacy", "space-1", apiStatement(iotda.EffectAllow, publishOnly, "topic:/legacy"))
	createPolicy(t, srv, "Sensors", "space-1", apiStatement(iotda.EffectAllow, publishOnly, "topic:/upper"))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: srv.ResetCalls,
			Config: providerBlock(srv) + `
data "iotda_device_policy" "test" {
  policy_name = "sensors"
}
`,
			Check: expectOpCalls(srv, map[mock.Operation]int{mock.OpList: 1, mock.OpShow: 1}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_id"), knownvalue.StringExact(want.PolicyID)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("id"), knownvalue.StringExact(want.PolicyID)),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact("sensors")),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("app_id"), knownvalue.StringExact("space-1")),
				statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("statement"), knownvalue.ListExact([]knownvalue.Check{
					statementValue("ALLOW", subscribeOnly, "topic:/v1/commands/*"),
				})),
			},
		}},
	})
}

func TestAccDevicePolicyDataSource_ambiguousName(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	first := createPolicy(t, srv, "shared", "space-1", apiStatement(iotda.EffectAllow, publishOnly, "topic:/one"))
	second := createPolicy(t, srv, "shared", "space-2", apiStatement(iotda.EffectAllow, publishOnly, "topic:/two"))
	config := func(appID string) string {
		app := ""
		if appID != "" {
			app = fmt.Sprintf("app_id = %q", appID)
		}
		return providerBlock(srv) + fmt.Sprintf(`
data "iotda_device_policy" "test" {
  policy_name = "shared"
  %s
}
`, app)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ExpectError: expectError(fmt.Sprintf(`Ambiguous Device Policy Name.*2 device policies are named "shared": %s \("shared", app_id space-2\), %s \("shared", app_id space-1\).*Set app_id.*policy_id`,
					second.PolicyID, first.PolicyID)),
			},
			{
				Config: config("space-1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("policy_id"), knownvalue.StringExact(first.PolicyID)),
					statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("app_id"), knownvalue.StringExact("space-1")),
					statecheck.ExpectKnownValue(policyDataAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"), stringSetExact("topic:/one")),
				},
			},
		},
	})
}

func TestAccDevicePolicyDataSource_notFound(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	near := createPolicy(t, srv, "sensors-v2", "space-1", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	data := func(attrs string) string {
		return providerBlock(srv) + "data \"iotda_device_policy\" \"test\" {\n" + attrs + "\n}\n"
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      data(`policy_id = "0123456789abcdef01234567"`),
				ExpectError: expectError(`Device Policy Not Found.*Device policy 0123456789abcdef01234567 does not exist.*HTTP 404`),
			},
			{
				Config:      data(`policy_name = "nope"`),
				ExpectError: expectError(`Device Policy Not Found.*No device policy is named "nope"\. Names are matched exactly`),
			},
			{
				// Only a policy whose name contains the wanted one exists.
				Config:      data(`policy_name = "sensors"`),
				ExpectError: expectError(fmt.Sprintf(`Device Policy Not Found.*No device policy is named "sensors".*Policies with similar names: %s \("sensors-v2", app_id space-1\)`, near.PolicyID)),
			},
			{
				Config:      data("policy_name = \"sensors-v2\"\napp_id = \"space-2\""),
				ExpectError: expectError(`Device Policy Not Found.*No device policy is named "sensors-v2" in resource space "space-2"`),
			},
		},
	})
}

// TestAccDevicePolicyDataSource_validation has one plan-time error per class
// of bad arguments; none reaches the API.
func TestAccDevicePolicyDataSource_validation(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
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
		planCases = append(planCases, planErrorCase{providerBlock(srv) + "data \"iotda_device_policy\" \"test\" {\n" + tc.attrs + "\n}\n", tc.want})
	}
	testPlanErrors(t, srv, planCases)
}

// TestAccDevicePolicyDataSource_sameConfiguration reads a policy managed in
// the same configuration, by id and (after it exists) by name.
func TestAccDevicePolicyDataSource_sameConfiguration(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	config := policyConfig(srv, "managed", "topic:/v1/a") + `
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
		ProtoV6ProviderFactories: testAccProviderFactories,
		CheckDestroy:             checkNoPolicies(srv),
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
