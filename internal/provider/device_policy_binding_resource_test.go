package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func TestAccDevicePolicyBinding_batches(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(70)
	first := ids[:45]
	second := ids[30:70] // removes 0..29 (30) and adds 45..69 (25)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				Config: a.bindingConfig(first),
				Check:  resource.ComposeTestCheckFunc(a.expectCalls(3, 0), a.expectBound(first)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("targets"), targetsExact(first...)),
					statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("target_type"), knownvalue.StringExact("device")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      bindingAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				PreConfig: a.resetCalls,
				Config:    a.bindingConfig(second),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeTestCheckFunc(a.expectCalls(2, 2), a.expectBound(second)),
			},
		},
	})
}

func TestAccDevicePolicyBinding_drift(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	all := a.deviceIDs(26)
	ids, intruder := all[:25], all[25]
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: a.bindingConfig(ids)},
			{
				PreConfig: func() {
					ctx := context.Background()
					policy := a.onlyPolicyID()
					if _, err := a.client.UnbindPolicy(ctx, policy, iotda.TargetTypeDevice, []string{ids[3]}); err != nil {
						t.Fatal(err)
					}
					if _, err := a.client.BindPolicy(ctx, policy, iotda.TargetTypeDevice, []string{intruder}); err != nil {
						t.Fatal(err)
					}
					a.resetCalls()
				},
				Config: a.bindingConfig(ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate)},
				},
				Check: resource.ComposeTestCheckFunc(a.expectCalls(1, 1), a.expectBound(ids)),
			},
		},
	})
}

// TestAccDevicePolicyBinding_partialFailure: an update that binds a target
// already bound to five other policies fails for that target only; the
// state records what is bound, and once the target is freed the next apply
// binds only it.
func TestAccDevicePolicyBinding_partialFailure(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(31)
	busy := ids[30]
	others := a.fillTarget(busy)
	before, after := ids[:9], ids
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{Config: a.bindingConfig(before)},
			{
				PreConfig:   a.resetCalls,
				Config:      a.bindingConfig(after),
				ExpectError: expectError(`Unable to Bind Device Policy.*refused 1 device target.*` + busy + `: IOTDA\.015204 .*the most IoTDA allows.*records the 30 device target\(s\) bound now`),
			},
			{
				PreConfig: func() {
					a.unbindDevices(others[0], busy)
					a.resetCalls()
				},
				Config: a.bindingConfig(after),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate)},
				},
				// Only the target that failed is bound now: one call.
				Check: resource.ComposeTestCheckFunc(a.expectCalls(1, 0), a.expectBound(after)),
			},
		},
	})
}

// TestAccDevicePolicyBinding_partialFailureOnCreate: a create that binds
// only some targets fails; Terraform taints the binding, and the next apply
// replaces it and converges.
func TestAccDevicePolicyBinding_partialFailureOnCreate(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(6)
	busy := ids[5]
	others := a.fillTarget(busy)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config:      a.bindingConfig(ids),
				ExpectError: expectError(busy + `: IOTDA\.015204`),
			},
			{
				PreConfig: func() {
					got, err := a.targets(a.policyID("fleet"), iotda.TargetTypeDevice)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != 5 {
						t.Fatalf("after the failed create the server has %d targets, want the 5 free ones", len(got))
					}
					a.unbindDevices(others[0], busy)
					a.resetCalls()
				},
				Config: a.bindingConfig(ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				// The replacement of the tainted binding keeps the 5 bound
				// and binds the one that failed: no unbind.
				Check: resource.ComposeTestCheckFunc(a.expectCalls(1, 0), a.expectBound(ids)),
			},
		},
	})
}
func TestAccDevicePolicyBinding_serverErrors(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("answers bind calls with 503, before and after acting on them")
	ids := a.deviceIDs(60)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				// Two 503s are retried away: 2 batches + 2 retries.
				PreConfig: func() { srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2}) },
				Config:    a.bindingConfig(ids[:40]),
				Check:     resource.ComposeTestCheckFunc(a.expectCalls(4, 0), a.expectBound(ids[:40])),
			},
			{
				// One batch fails 3 times (max_retries = 2) after the server acted on it.
				PreConfig: func() {
					a.resetCalls()
					srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 3})
				},
				Config:      a.bindingConfig(ids),
				ExpectError: expectError(`Unable to Bind Device Policy.*Calls failed:.*HTTP 503.*gave up after 3 attempts.*records the 60 device target\(s\) bound now`),
			},
			{
				PreConfig: a.resetCalls,
				Config:    a.bindingConfig(ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: a.expectBound(ids),
			},
		},
	})
}

func TestAccDevicePolicyBinding_policyDeleted(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(3)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: a.bindingConfig(ids)},
			{
				PreConfig: func() {
					if err := a.client.DeletePolicy(context.Background(), a.onlyPolicyID()); err != nil {
						t.Fatal(err)
					}
				},
				Config: a.bindingConfig(ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionCreate),
					},
				},
				Check: a.expectBound(ids),
			},
		},
	})
}

// TestAccDevicePolicyBinding_followsPolicyReplacement: a new app_id replaces
// the policy; the binding, which refers to the policy's id, is re-created
// on the new policy.
func TestAccDevicePolicyBinding_followsPolicyReplacement(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(3)
	spaces := a.apps(2)
	config := func(appID string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = %q
  app_id      = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/up"]
  }
}
`, a.name("fleet"), appID) + bindingBlock(ids)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: config(spaces[0])},
			{
				Config: config(spaces[1]),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionDestroyBeforeCreate),
						plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionDestroyBeforeCreate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: a.expectBound(ids),
			},
		},
	})
}

func TestAccDevicePolicyBinding_emptyAndImport(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				Config: a.bindingConfig(nil),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("targets"), knownvalue.MapExact(map[string]knownvalue.Check{})),
				},
				Check: a.expectCalls(0, 0),
			},
			{ResourceName: bindingAddr, ImportState: true, ImportStateVerify: true},
			{
				ResourceName:  bindingAddr,
				ImportState:   true,
				ImportStateId: "0123456789abcdef01234567/gateway",
				ExpectError:   expectError(`Invalid Import ID.*device, product or app`),
			},
		},
	})
}

func TestAccDevicePolicyBinding_validation(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	config := func(policyID, targetType, id string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = %q
  target_type = %q
  targets     = { %q = "" }
}
`, policyID, targetType, id)
	}
	const goodID = "0123456789abcdef01234567"
	a.testPlanErrors([]planErrorCase{
		{config("policy-1", "device", "d1"), `policy_id must be a device policy id: 24 lower-case hexadecimal characters. A policy's name is not its id: the iotda_device_policy data source finds a policy by name \(policy_id = data.iotda_device_policy.<name>.id\), got: policy-1`},
		{config(goodID, "gateway", "d1"), `target_type value must be one of.*"device".*"product".*"app"`},
		{config(goodID, "device", "dev 1"), `must be 1 to 128 characters long and contain only letters, digits, "_" and "-"`},
		{config(goodID, "device", strings.Repeat("d", 129)), `must be 1 to 128 characters long`},
	})
}

// TestAccDevicePolicyBinding_authoritativeCreateAndDelete: a new binding
// takes over targets already bound (unbinding those it does not list), and
// removing the binding unbinds everything while the policy stays.
func TestAccDevicePolicyBinding_authoritativeCreateAndDelete(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	all := a.deviceIDs(31)
	ids, intruder := all[:30], all[30]
	policyOnly := strings.Split(a.bindingConfig(nil), "\nresource \"iotda_device_policy_binding\"")[0]
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: policyOnly},
			{
				PreConfig: func() {
					a.bind(a.onlyPolicyID(), iotda.TargetTypeDevice, ids[0], intruder)
					a.resetCalls()
				},
				Config: a.bindingConfig(ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// 29 to bind (2 calls), the intruder to unbind (1 call).
				Check: resource.ComposeTestCheckFunc(a.expectCalls(2, 1), a.expectBound(ids)),
			},
			{
				PreConfig: a.resetCalls,
				Config:    policyOnly,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionDestroy)},
				},
				Check: resource.ComposeTestCheckFunc(a.expectCalls(0, 2), a.expectBound(nil)),
			},
		},
	})
}
