package provider

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// lagForTests is the mock's read lag in the eventual-consistency tests:
// long enough that the refresh terraform-plugin-testing runs straight after
// each apply falls within it.
const lagForTests = 3 * time.Second

// TestAccDevicePolicy_readLag: while reads lag behind writes, a create and
// an update apply cleanly and the refresh straight after them (the plan
// the test framework runs after each apply) waits for what was written
// instead of dropping the policy (404) or planning to undo the update
// (old values). Mock-only: a real instance's lag cannot be set.
func TestAccDevicePolicy_readLag(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{ReadLag: lagForTests})
	// The mock's out-of-band view is current: it tells what was written.
	written := func(name string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			id := s.RootModule().Resources[policyAddr].Primary.ID
			if p, ok := srv.Policy("", id); !ok || p.PolicyName != name {
				return fmt.Errorf("policy %s on the server: %+v (found %t); want the name %q", id, p, ok, name)
			}
			return nil
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		CheckDestroy:             checkNoPolicies(srv),
		Steps: []resource.TestStep{
			{
				Config: policyConfig(srv, "lagged", "topic:/v1/a"),
				Check:  written("lagged"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact("lagged")),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"), stringSetExact("topic:/v1/a")),
				},
			},
			{
				Config: policyConfig(srv, "lagged-v2", "topic:/v1/b"),
				Check:  written("lagged-v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact("lagged-v2")),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"), stringSetExact("topic:/v1/b")),
				},
			},
		},
	})
}
