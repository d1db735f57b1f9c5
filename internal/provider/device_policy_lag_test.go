package provider

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// lagForTests is the mock's read lag in the eventual-consistency tests:
// long enough that the refresh terraform-plugin-testing runs straight after
// each apply falls within it.
const lagForTests = 3 * time.Second

// lagReason is why the eventual-consistency tests need the mock.
const lagReason = "makes reads lag behind writes by a set time, which an instance does not let a test set"

// TestAccDevicePolicy_readLag: while reads lag behind writes, a create and
// an update apply cleanly and the refresh straight after them (the plan
// the test framework runs after each apply) waits for what was written
// instead of dropping the policy (404) or planning to undo the update
// (old values). Mock-only: a real instance's lag cannot be set.
func TestAccDevicePolicy_readLag(t *testing.T) {
	t.Parallel()
	srv := newAccTargetWith(t, mock.Config{ReadLag: lagForTests}).requireMock(lagReason)
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

// bindingLagForTests is the mock's read lag in the binding's test: longer
// than lagForTests, because the refresh straight after an apply must come
// within the lag of the apply's last bind call, and on a loaded machine the
// CLI takes several seconds from one to the other. With a shorter lag the
// test would pass without the refresh's wait.
const bindingLagForTests = 10 * time.Second

// lagBindingConfig is policyConfig's policy and a binding of ids to it,
// exclusive or not.
func lagBindingConfig(srv *mock.TestServer, exclusive bool, ids []string) string {
	return policyConfig(srv, "lagged", "topic:/v1/a") + fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = iotda_device_policy.test.id
  target_type = "device"
  exclusive   = %t
  targets     = provider::iotda::targets([%s])
}
`, exclusive, quoteAll(ids))
}

// TestAccDevicePolicyBinding_readLag: while reads lag behind writes, a
// policy and its binding created in one apply, and then an update of the
// binding that adds and removes targets, apply without error, and the
// refresh straight after each apply plans nothing: the binding's first
// listing waits for the policy its own apply created (the client retries
// its 404), and a refresh after its own bind and unbind calls waits for
// the listing to show them (binding.Read). Both
// modes: an exclusive binding also owns what the lagging listing would
// show as bound outside it. Mock-only: a real instance's lag cannot be
// set.
func TestAccDevicePolicyBinding_readLag(t *testing.T) {
	t.Parallel()
	newAccTarget(t).requireMock(lagReason)
	for _, exclusive := range []bool{true, false} {
		t.Run(fmt.Sprintf("exclusive=%t", exclusive), func(t *testing.T) {
			t.Parallel()
			srv := newAccTargetWith(t, mock.Config{ReadLag: bindingLagForTests}).requireMock(lagReason)
			first, second := deviceIDs(0, 25), deviceIDs(5, 35)
			emptyAfter := resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProviderFactories,
				CheckDestroy:             checkNoPolicies(srv),
				Steps: []resource.TestStep{
					{
						Config:           lagBindingConfig(srv, exclusive, first),
						Check:            boundOnServer(srv, first),
						ConfigPlanChecks: emptyAfter,
						ConfigStateChecks: []statecheck.StateCheck{
							statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("targets"), targetsExact(first...)),
						},
					},
					{
						Config: lagBindingConfig(srv, exclusive, second),
						Check:  boundOnServer(srv, second),
						ConfigPlanChecks: resource.ConfigPlanChecks{
							PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate)},
							PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
						},
						ConfigStateChecks: []statecheck.StateCheck{
							statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("targets"), targetsExact(second...)),
						},
					},
				},
			})
		})
	}
}

// boundOnServer checks, with the mock's current (not lagged) view, that
// the policy of the binding in state has exactly ids bound.
func boundOnServer(srv *mock.TestServer, ids []string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		policyID := s.RootModule().Resources[policyAddr].Primary.ID
		if got := srv.Targets("", policyID, iotda.TargetTypeDevice); !slices.Equal(got, sorted(ids)) {
			return fmt.Errorf("policy %s has %d targets bound on the server, want %d", policyID, len(got), len(ids))
		}
		return nil
	}
}
