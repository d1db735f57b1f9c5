package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// policyIdentityChecks: the identity is the policy id, and equals the id
// attribute.
func policyIdentityChecks(addr string) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectIdentity(addr, map[string]knownvalue.Check{"policy_id": policyIDValue}),
		statecheck.ExpectIdentityValueMatchesStateAtPath(addr, tfjsonpath.New("policy_id"), tfjsonpath.New("id")),
	}
}

func TestAccDevicePolicy_identity(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	sameID := statecheck.CompareValue(compare.ValuesSame())
	withSameID := func(checks []statecheck.StateCheck) []statecheck.StateCheck {
		return append(checks, sameID.AddStateValue(policyAddr, tfjsonpath.New("id")))
	}
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				Config:            a.policyConfig("identity", "", "topic:/v1/a"),
				ConfigStateChecks: withSameID(policyIdentityChecks(policyAddr)),
			},
			{
				// Import by identity, by an import block's id, and by the
				// command: each finds the same policy with nothing to change.
				ResourceName:    policyAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
			{
				ResourceName:    policyAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
			},
			{
				ResourceName:      policyAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// The identity survives a refresh that finds the policy
				// changed out of band...
				PreConfig: func() {
					a.updatePolicy(a.onlyPolicyID(), iotda.UpdatePolicyRequest{PolicyName: a.name("renamed-elsewhere")})
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				RefreshPlanChecks: resource.RefreshPlanChecks{
					PostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
				},
			},
			{
				// ...and the update that puts it back.
				Config: a.policyConfig("identity", "", "topic:/v1/a", "topic:/v1/b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: withSameID(policyIdentityChecks(policyAddr)),
			},
			{
				ResourceName:    policyAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
		},
	})
}

// importByIdentityConfig is a policy configuration with an import block
// that names the policy by identity.
func importByIdentityConfig(a *accTarget, policyID string) string {
	return a.policyConfig("imported", "", "topic:/v1/a") + fmt.Sprintf(`
import {
  to       = %s
  identity = { policy_id = %q }
}
`, policyAddr, policyID)
}

func TestAccDevicePolicy_importByIdentityErrors(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config:      importByIdentityConfig(a, "not-a-policy-id"),
				PlanOnly:    true,
				ExpectError: expectError(`Invalid Import Identity.*policy_id "not-a-policy-id" is not a device policy id`),
			},
			{
				Config:      importByIdentityConfig(a, "5c90fa7d3c4e4405e8525079"),
				PlanOnly:    true,
				ExpectError: expectError(`Cannot import non-existent remote object`),
			},
		},
	})
}
