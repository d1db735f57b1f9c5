package provider

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func byPolicyID(id string) queryfilter.QueryFilter {
	return queryfilter.ByResourceIdentity(map[string]knownvalue.Check{"policy_id": knownvalue.StringExact(id)})
}

func TestAccDevicePolicyList(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	policies := a.outOfBandPolicies()
	spaces := a.apps(2)
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: a.providerBlock()},
			{
				Query: true,
				Config: fmt.Sprintf(`
list "iotda_device_policy" "all" {
  provider         = iotda
  include_resource = true
}

list "iotda_device_policy" "factory_1" {
  provider = iotda
  config {
    app_id = %[1]q
  }
}

list "iotda_device_policy" "sensors" {
  provider = iotda
  config {
    policy_name = %[3]q
  }
}

list "iotda_device_policy" "none" {
  provider = iotda
  config {
    app_id      = %[2]q
    policy_name = %[4]q
  }
}
`, spaces[0], spaces[1], a.name("sensors"), a.name("gateways")),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("iotda_device_policy.all", 3),
					querycheck.ExpectIdentity("iotda_device_policy.all", map[string]knownvalue.Check{"policy_id": knownvalue.StringExact(policies[0].PolicyID)}),
					querycheck.ExpectIdentity("iotda_device_policy.all", map[string]knownvalue.Check{"policy_id": knownvalue.StringExact(policies[2].PolicyID)}),
					querycheck.ExpectResourceDisplayName("iotda_device_policy.all", byPolicyID(policies[1].PolicyID), knownvalue.StringExact(a.name("gateways")+" (resource space "+spaces[0]+")")),
					// The whole policy, statements in the API's order.
					querycheck.ExpectResourceKnownValues("iotda_device_policy.all", byPolicyID(policies[0].PolicyID), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("id"), KnownValue: knownvalue.StringExact(policies[0].PolicyID)},
						{Path: tfjsonpath.New("policy_name"), KnownValue: knownvalue.StringExact(a.name("sensors"))},
						{Path: tfjsonpath.New("app_id"), KnownValue: knownvalue.StringExact(spaces[0])},
						{Path: tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("effect"), KnownValue: knownvalue.StringExact("DENY")},
						{Path: tfjsonpath.New("statement").AtSliceIndex(1).AtMapKey("resources"), KnownValue: stringSetExact("topic:/v1/devices/${devices.deviceId}/*")},
						{Path: tfjsonpath.New("create_time"), KnownValue: knownvalue.StringExact(policies[0].CreateTime)},
					}),
					querycheck.ExpectLength("iotda_device_policy.factory_1", 2),
					querycheck.ExpectLength("iotda_device_policy.sensors", 2),
					querycheck.ExpectIdentity("iotda_device_policy.sensors", map[string]knownvalue.Check{"policy_id": knownvalue.StringExact(policies[2].PolicyID)}),
					querycheck.ExpectLength("iotda_device_policy.none", 0),
				},
			},
		},
	})
}

// TestAccDevicePolicyList_cost: a full instance (50 policies) is listed in
// one ListDevicePolicies call, and include_resource adds one
// ShowDevicePolicy call per policy, nothing else.
func TestAccDevicePolicyList_cost(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	for i := range iotda.MaxPoliciesPerInstance {
		a.createPolicy(fmt.Sprintf("p%02d", i), "", apiStatement(iotda.EffectAllow, publishOnly, fmt.Sprintf("topic:/t/%d", i)))
	}
	query := func(include bool) string {
		// The provider block is in the configuration of the first step.
		return fmt.Sprintf(`
list "iotda_device_policy" "all" {
  provider         = iotda
  include_resource = %t
}
`, include)
	}
	expectCalls := func(list, show int) func() {
		return func() {
			if err := a.checkCalls(map[iotda.Operation]int{iotda.OpList: list, iotda.OpShow: show}); err != nil {
				t.Error(err)
			}
			a.resetCalls()
		}
	}
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: a.providerBlock()},
			{
				PreConfig:         a.resetCalls,
				Query:             true,
				Config:            query(false),
				QueryResultChecks: []querycheck.QueryResultCheck{querycheck.ExpectLength("iotda_device_policy.all", 50)},
			},
			{
				PreConfig:         expectCalls(1, 0),
				Query:             true,
				Config:            query(true),
				QueryResultChecks: []querycheck.QueryResultCheck{querycheck.ExpectLength("iotda_device_policy.all", 50)},
			},
			{PreConfig: expectCalls(1, 50), Config: a.providerBlock()},
		},
	})
}

// TestAccDevicePolicyList_limitSkipsVanished: a policy deleted between the
// listing and its read is no result, and does not count towards the limit.
func TestAccDevicePolicyList_limitSkipsVanished(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("answers a policy read with 404, as if the policy had been deleted since the listing")
	a.outOfBandPolicies()
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: a.providerBlock()},
			{
				// The first policy read answers 404, as if the policy had
				// been deleted since the listing.
				PreConfig: func() { srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusNotFound}) },
				Query:     true,
				Config: `
list "iotda_device_policy" "two" {
  provider         = iotda
  include_resource = true
  limit            = 2
}
`,
				QueryResultChecks: []querycheck.QueryResultCheck{querycheck.ExpectLength("iotda_device_policy.two", 2)},
			},
		},
	})
}
