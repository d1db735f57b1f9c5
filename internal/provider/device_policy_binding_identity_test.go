package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// bindingIdentityChecks: the identity is the policy id and the target type
// of the binding.
func bindingIdentityChecks(addr string) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectIdentity(addr, map[string]knownvalue.Check{
			"policy_id":   policyIDValue,
			"target_type": knownvalue.StringExact(iotda.TargetTypeDevice),
		}),
		statecheck.ExpectIdentityValueMatchesStateAtPath(addr, tfjsonpath.New("policy_id"), tfjsonpath.New("policy_id")),
		statecheck.ExpectIdentityValueMatchesStateAtPath(addr, tfjsonpath.New("target_type"), tfjsonpath.New("target_type")),
	}
}

func TestAccDevicePolicyBinding_identity(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(6)
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				Config:            a.bindingConfig(ids[:3]),
				ConfigStateChecks: bindingIdentityChecks(bindingAddr),
			},
			{
				ResourceName:    bindingAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
			{
				ResourceName:    bindingAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
			},
			{
				// A target bound out of band: the refresh keeps the identity...
				PreConfig:          func() { a.bind(a.onlyPolicyID(), iotda.TargetTypeDevice, ids[5]) },
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{
					PostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate)},
				},
			},
			{
				// ...and so does the update that unbinds it and binds more.
				Config: a.bindingConfig(ids[:5]),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: append(bindingIdentityChecks(bindingAddr),
					statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("targets"), targetsExact(ids[:5]...))),
			},
			{
				ResourceName:    bindingAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
		},
	})
}

func TestAccDevicePolicyBinding_importByIdentityErrors(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	config := func(policyID, targetType string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = %[1]q
  target_type = "device"
  targets     = {}
}

import {
  to       = iotda_device_policy_binding.test
  identity = { policy_id = %[1]q, target_type = %[2]q }
}
`, policyID, targetType)
	}
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config:      config("5c90fa7d3c4e4405e8525079", "devices"),
				PlanOnly:    true,
				ExpectError: expectError(`Invalid Import Identity.*target_type "devices" is not device, product or app`),
			},
			{
				Config:      config("5c90fa7d3c4e4405e8525079", "device"),
				PlanOnly:    true,
				ExpectError: expectError(`Cannot import non-existent remote object`),
			},
		},
	})
}

// boundOutOfBand binds, as another user of the API would, 3 devices to the
// first policy, 60 devices (two pages) and a product to the second, and
// nothing to the third; it returns the devices and the product.
func (a *accTarget) boundOutOfBand(policies []iotda.Policy) (first, second []string, product string) {
	a.t.Helper()
	ids := a.deviceIDs(63)
	first, second, product = ids[:3], ids[3:], a.products(1)[0]
	a.bind(policies[0].PolicyID, iotda.TargetTypeDevice, first...)
	a.bind(policies[1].PolicyID, iotda.TargetTypeDevice, second...)
	a.bind(policies[1].PolicyID, iotda.TargetTypeProduct, product)
	return first, second, product
}

func TestAccDevicePolicyBindingList(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	policies := a.outOfBandPolicies()
	first, second, _ := a.boundOutOfBand(policies)
	space := a.apps(1)[0]
	binding := func(policy int, targetType string) map[string]knownvalue.Check {
		return map[string]knownvalue.Check{
			"policy_id":   knownvalue.StringExact(policies[policy].PolicyID),
			"target_type": knownvalue.StringExact(targetType),
		}
	}
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_14_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: a.providerBlock()},
			{
				PreConfig: a.resetCalls,
				Query:     true,
				Config: `
list "iotda_device_policy_binding" "all" {
  provider         = iotda
  include_resource = true
}
`,
				QueryResultChecks: []querycheck.QueryResultCheck{
					// One result per (policy, target type) with targets; the
					// third policy has none.
					querycheck.ExpectLength("iotda_device_policy_binding.all", 3),
					querycheck.ExpectIdentity("iotda_device_policy_binding.all", binding(0, iotda.TargetTypeDevice)),
					querycheck.ExpectIdentity("iotda_device_policy_binding.all", binding(1, iotda.TargetTypeDevice)),
					querycheck.ExpectIdentity("iotda_device_policy_binding.all", binding(1, iotda.TargetTypeProduct)),
					querycheck.ExpectResourceDisplayName("iotda_device_policy_binding.all", queryfilter.ByResourceIdentity(binding(1, iotda.TargetTypeDevice)),
						knownvalue.StringExact(a.name("gateways")+" (resource space "+space+"): 60 device target(s)")),
					querycheck.ExpectResourceKnownValues("iotda_device_policy_binding.all", queryfilter.ByResourceIdentity(binding(0, iotda.TargetTypeDevice)), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("id"), KnownValue: knownvalue.StringExact(policies[0].PolicyID + "/device")},
						{Path: tfjsonpath.New("targets"), KnownValue: targetsExact(first...)},
					}),
					querycheck.ExpectResourceKnownValues("iotda_device_policy_binding.all", queryfilter.ByResourceIdentity(binding(1, iotda.TargetTypeDevice)), []querycheck.KnownValueCheck{
						{Path: tfjsonpath.New("targets"), KnownValue: targetsExact(second...)},
					}),
				},
			},
			{
				// The cost: 1 policy listing, then per policy one target
				// listing per 50 targets (1 + 2 + 1).
				PreConfig: func() {
					if err := a.checkCalls(map[iotda.Operation]int{iotda.OpList: 1, iotda.OpListTargets: 4}); err != nil {
						t.Errorf("the query: %v", err)
					}
					a.resetCalls()
				},
				Query: true,
				Config: fmt.Sprintf(`
list "iotda_device_policy_binding" "products" {
  provider = iotda
  config {
    target_type = "product"
  }
}

list "iotda_device_policy_binding" "first" {
  provider = iotda
  config {
    policy_id = %q
  }
}

list "iotda_device_policy_binding" "third" {
  provider = iotda
  config {
    policy_id = %q
  }
}

list "iotda_device_policy_binding" "missing" {
  provider = iotda
  config {
    policy_id = "0123456789abcdef01234567"
  }
}
`, policies[0].PolicyID, policies[2].PolicyID),
				QueryResultChecks: []querycheck.QueryResultCheck{
					querycheck.ExpectLength("iotda_device_policy_binding.products", 1),
					querycheck.ExpectIdentity("iotda_device_policy_binding.products", binding(1, iotda.TargetTypeProduct)),
					querycheck.ExpectLength("iotda_device_policy_binding.first", 1),
					querycheck.ExpectIdentity("iotda_device_policy_binding.first", binding(0, iotda.TargetTypeDevice)),
					querycheck.ExpectResourceDisplayName("iotda_device_policy_binding.first", queryfilter.ByResourceIdentity(binding(0, iotda.TargetTypeDevice)),
						knownvalue.StringExact(a.name("sensors")+" (resource space "+space+"): 3 device target(s)")),
					querycheck.ExpectLength("iotda_device_policy_binding.third", 0),
					querycheck.ExpectLength("iotda_device_policy_binding.missing", 0),
				},
			},
			{
				// A query of one policy reads it instead of listing every
				// policy: "products" lists the policies and the product
				// targets of each (1 + 3); "first" and "third" read their
				// policy and list its targets (2 x (1 + 1)); "missing" reads
				// nothing but its policy.
				PreConfig: func() {
					if err := a.checkCalls(map[iotda.Operation]int{iotda.OpList: 1, iotda.OpShow: 3, iotda.OpListTargets: 5}); err != nil {
						t.Errorf("the queries: %v", err)
					}
					if got := a.totalCalls(); got != 9 {
						t.Errorf("the queries made %d calls, want 9", got)
					}
				},
				Config: a.providerBlock(),
			},
		},
	})
}
