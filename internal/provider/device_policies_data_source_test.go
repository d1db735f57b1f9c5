package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// idList is the check of a list of ids in that order.
func idList(ids ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(ids))
	for i, id := range ids {
		checks[i] = knownvalue.StringExact(id)
	}
	return knownvalue.ListExact(checks)
}

func TestAccDevicePoliciesDataSource(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	spaces := a.apps(2)
	s := apiStatement(iotda.EffectAllow, publishOnly, "topic:/a")
	alpha1 := a.createPolicy("alpha", spaces[0], s)
	alpha2 := a.createPolicy("alpha-2", spaces[0], s) // its name contains "alpha"
	beta := a.createPolicy("beta", spaces[1], s)
	alphaSpace2 := a.createPolicy("alpha", spaces[1], s)
	addr := func(name string) string { return "data.iotda_device_policies." + name }
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: a.resetCalls,
			Config: a.providerBlock() + fmt.Sprintf(`
data "iotda_device_policies" "all" {}

data "iotda_device_policies" "space_1" {
  app_id = %[1]q
}

data "iotda_device_policies" "alpha" {
  policy_name = %[3]q
}

data "iotda_device_policies" "alpha_space_2" {
  app_id      = %[2]q
  policy_name = %[3]q
}

data "iotda_device_policies" "none" {
  policy_name = %[4]q
}
`, spaces[0], spaces[1], a.name("alpha"), a.name("gamma")),
			// One listing call per data source, each read once so far.
			Check: a.expectOpCalls(map[iotda.Operation]int{iotda.OpList: 5, iotda.OpShow: 0}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("ids"), idList(alphaSpace2.PolicyID, beta.PolicyID, alpha2.PolicyID, alpha1.PolicyID)),
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("policies").AtSliceIndex(1), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"policy_id":   knownvalue.StringExact(beta.PolicyID),
					"policy_name": knownvalue.StringExact(a.name("beta")),
					"app_id":      knownvalue.StringExact(spaces[1]),
					"create_time": knownvalue.StringExact(beta.CreateTime),
					"update_time": knownvalue.StringExact(beta.UpdateTime),
				})),
				statecheck.ExpectKnownValue(addr("space_1"), tfjsonpath.New("ids"), idList(alpha2.PolicyID, alpha1.PolicyID)),
				statecheck.ExpectKnownValue(addr("alpha"), tfjsonpath.New("ids"), idList(alphaSpace2.PolicyID, alpha1.PolicyID)),
				statecheck.ExpectKnownValue(addr("alpha"), tfjsonpath.New("policies"), knownvalue.ListSizeExact(2)),
				statecheck.ExpectKnownValue(addr("alpha_space_2"), tfjsonpath.New("ids"), idList(alphaSpace2.PolicyID)),
				statecheck.ExpectKnownValue(addr("none"), tfjsonpath.New("ids"), idList()),
				statecheck.ExpectKnownValue(addr("none"), tfjsonpath.New("policies"), knownvalue.ListExact([]knownvalue.Check{})),
			},
		}},
	})
}

// TestAccDevicePoliciesDataSource_fullInstance lists an instance holding the
// most policies it can, 50, in one call.
func TestAccDevicePoliciesDataSource_fullInstance(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	var newest iotda.Policy
	for i := range iotda.MaxPoliciesPerInstance {
		newest = a.createPolicy(fmt.Sprintf("policy-%02d", i), "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: a.resetCalls,
			Config:    a.providerBlock() + `data "iotda_device_policies" "test" {}`,
			Check:     a.expectOpCalls(map[iotda.Operation]int{iotda.OpList: 1}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.iotda_device_policies.test", tfjsonpath.New("ids"), knownvalue.ListSizeExact(iotda.MaxPoliciesPerInstance)),
				statecheck.ExpectKnownValue("data.iotda_device_policies.test", tfjsonpath.New("ids").AtSliceIndex(0), knownvalue.StringExact(newest.PolicyID)),
				statecheck.ExpectKnownValue("data.iotda_device_policies.test", tfjsonpath.New("policies").AtSliceIndex(49).AtMapKey("policy_name"), knownvalue.StringExact(a.name("policy-00"))),
			},
		}},
	})
}

func TestAccDevicePoliciesDataSource_validation(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	cases := []struct {
		attrs string
		want  string
	}{
		{`app_id = "space.1"`, `app_id must contain only letters, digits, "_" and "-"`},
		{`policy_name = "my policy"`, `policy_name must contain only letters, digits, "_" and "-"`},
		{`policy_name = ""`, `policy_name string length must be between 1 and 128`},
	}
	planCases := make([]planErrorCase, 0, len(cases))
	for _, tc := range cases {
		planCases = append(planCases, planErrorCase{a.providerBlock() + "data \"iotda_device_policies\" \"test\" {\n" + tc.attrs + "\n}\n", tc.want})
	}
	a.testPlanErrors(planCases)
}
