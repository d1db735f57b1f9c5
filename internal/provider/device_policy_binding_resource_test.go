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

func TestAccDevicePolicyBinding_partialFailure(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	const busy = "64a7ba7ef9cb063d27e16b97_busy"
	others := fillTarget(t, srv, busy)
	before := deviceIDs(0, 9)
	after := append(deviceIDs(0, 30), busy)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{Config: bindingConfig(srv, before)},
			{
				PreConfig:   srv.ResetCalls,
				Config:      bindingConfig(srv, after),
				ExpectError: expectError(`Unable to Bind Device Policy.*refused 1 device target.*` + busy + `: IOTDA\.015204 .*the most IoTDA allows.*records the 30 device target\(s\) bound now`),
			},
			{
				PreConfig: func() {
					if _, err := srv.Unbind("", others[0], iotda.TargetTypeDevice, busy); err != nil {
						t.Fatal(err)
					}
					srv.ResetCalls()
				},
				Config: bindingConfig(srv, after),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate)},
				},
				// Only the target that failed is bound now: one call.
				Check: resource.ComposeTestCheckFunc(expectCalls(srv, 1, 0), expectBound(t, srv, after)),
			},
		},
	})
}

// TestAccDevicePolicyBinding_partialFailureOnCreate: a create that binds
// only some targets fails; Terraform taints the binding, and the next apply
// replaces it and converges.
func TestAccDevicePolicyBinding_partialFailureOnCreate(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	const busy = "64a7ba7ef9cb063d27e16b97_busy"
	others := fillTarget(t, srv, busy)
	ids := append(deviceIDs(0, 5), busy)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      bindingConfig(srv, ids),
				ExpectError: expectError(busy + `: IOTDA\.015204`),
			},
			{
				PreConfig: func() {
					if got := srv.Targets("", onlyPolicy(t, srv), iotda.TargetTypeDevice); len(got) != 5 {
						t.Fatalf("after the failed create the server has %d targets, want the 5 free ones", len(got))
					}
					if _, err := srv.Unbind("", others[0], iotda.TargetTypeDevice, busy); err != nil {
						t.Fatal(err)
					}
					srv.ResetCalls()
				},
				Config: bindingConfig(srv, ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				// The replacement of the tainted binding keeps the 5 bound
				// and binds the one that failed: no unbind.
				Check: resource.ComposeTestCheckFunc(expectCalls(srv, 1, 0), expectBound(t, srv, ids)),
			},
		},
	})
}

func TestAccDevicePolicyBinding_serverErrors(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	ids := deviceIDs(0, 60)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				// Two 503s are retried away: 2 batches + 2 retries.
				PreConfig: func() { srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2}) },
				Config:    bindingConfig(srv, ids[:40]),
				Check:     resource.ComposeTestCheckFunc(expectCalls(srv, 4, 0), expectBound(t, srv, ids[:40])),
			},
			{
				// One batch fails 3 times (max_retries = 2) after the server acted on it.
				PreConfig: func() {
					srv.ResetCalls()
					srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 3})
				},
				Config:      bindingConfig(srv, ids),
				ExpectError: expectError(`Unable to Bind Device Policy.*Calls failed:.*HTTP 503.*gave up after 3 attempts.*records the 60 device target\(s\) bound now`),
			},
			{
				PreConfig: srv.ResetCalls,
				Config:    bindingConfig(srv, ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: expectBound(t, srv, ids),
			},
		},
	})
}

func TestAccDevicePolicyBinding_policyDeleted(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	ids := deviceIDs(0, 3)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{Config: bindingConfig(srv, ids)},
			{
				PreConfig: func() {
					if err := srv.DeletePolicy("", onlyPolicy(t, srv)); err != nil {
						t.Fatal(err)
					}
				},
				Config: bindingConfig(srv, ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionCreate),
					},
				},
				Check: expectBound(t, srv, ids),
			},
		},
	})
}

// TestAccDevicePolicyBinding_followsPolicyReplacement: a new app_id replaces
// the policy; the binding, which refers to the policy's id, is re-created
// on the new policy.
func TestAccDevicePolicyBinding_followsPolicyReplacement(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	ids := deviceIDs(0, 3)
	config := func(appID string) string {
		return providerBlock(srv) + fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = "fleet"
  app_id      = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/up"]
  }
}
`, appID) + bindingBlock(ids)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("space-a")},
			{
				Config: config("space-b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionDestroyBeforeCreate),
						plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionDestroyBeforeCreate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: expectBound(t, srv, ids),
			},
		},
	})
}

func TestAccDevicePolicyBinding_emptyAndImport(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: bindingConfig(srv, nil),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("targets"), knownvalue.MapExact(map[string]knownvalue.Check{})),
				},
				Check: expectCalls(srv, 0, 0),
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
	srv := mock.NewTestServer(t, mock.Config{})
	config := func(policyID, targetType, id string) string {
		return providerBlock(srv) + fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = %q
  target_type = %q
  targets     = { %q = "" }
}
`, policyID, targetType, id)
	}
	const goodID = "0123456789abcdef01234567"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("policy-1", "device", "d1"), PlanOnly: true, ExpectError: expectError(`policy_id must be a device policy id: 24 lower-case hexadecimal characters. A policy's name is not its id: the iotda_device_policy data source finds a policy by name \(policy_id = data.iotda_device_policy.<name>.id\), got: policy-1`)},
			{Config: config(goodID, "gateway", "d1"), PlanOnly: true, ExpectError: expectError(`target_type value must be one of.*"device".*"product".*"app"`)},
			{Config: config(goodID, "device", "dev 1"), PlanOnly: true, ExpectError: expectError(`must be 1 to 128 letters, digits, "_" or "-"`)},
			{Config: config(goodID, "device", strings.Repeat("d", 129)), PlanOnly: true, ExpectError: expectError(`must be 1 to 128 letters`)},
		},
	})
}

// TestAccDevicePolicyBinding_authoritativeCreateAndDelete: a new binding
// takes over targets already bound (unbinding those it does not list), and
// removing the binding unbinds everything while the policy stays.
func TestAccDevicePolicyBinding_authoritativeCreateAndDelete(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	ids := deviceIDs(0, 30)
	policyOnly := strings.Split(bindingConfig(srv, nil), "\nresource \"iotda_device_policy_binding\"")[0]
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyOnly},
			{
				PreConfig: func() {
					if _, err := srv.Bind("", onlyPolicy(t, srv), iotda.TargetTypeDevice, ids[0], "intruder"); err != nil {
						t.Fatal(err)
					}
					srv.ResetCalls()
				},
				Config: bindingConfig(srv, ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// 29 to bind (2 calls), the intruder to unbind (1 call).
				Check: resource.ComposeTestCheckFunc(expectCalls(srv, 2, 1), expectBound(t, srv, ids)),
			},
			{
				PreConfig: srv.ResetCalls,
				Config:    policyOnly,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionDestroy)},
				},
				Check: resource.ComposeTestCheckFunc(expectCalls(srv, 0, 2), expectBound(t, srv, nil)),
			},
		},
	})
}
