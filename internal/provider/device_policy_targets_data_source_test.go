package provider

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func targetValue(targetType, id string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"target_type": knownvalue.StringExact(targetType),
		"target_id":   knownvalue.StringExact(id),
	})
}

func TestAccDevicePolicyTargetsDataSource(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	p := createPolicy(t, srv, "fleet", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	empty := createPolicy(t, srv, "unbound", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	devices := deviceIDs(0, 120)
	bindTargets(t, srv, p.PolicyID, iotda.TargetTypeDevice, devices...)
	bindTargets(t, srv, p.PolicyID, iotda.TargetTypeProduct, "prod-a")
	bindTargets(t, srv, p.PolicyID, iotda.TargetTypeProduct, "prod-b")
	bindTargets(t, srv, p.PolicyID, iotda.TargetTypeApp, "space-1")
	// The same id as a device and as a product: two targets, one id.
	bindTargets(t, srv, p.PolicyID, iotda.TargetTypeDevice, "shared-id")
	bindTargets(t, srv, p.PolicyID, iotda.TargetTypeProduct, "shared-id")
	addr := func(name string) string { return "data.iotda_device_policy_targets." + name }
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: srv.ResetCalls,
			Config: providerBlock(srv) + fmt.Sprintf(`
data "iotda_device_policy_targets" "all" {
  policy_id = %[1]q
}

data "iotda_device_policy_targets" "products" {
  policy_id   = %[1]q
  target_type = "product"
}

data "iotda_device_policy_targets" "apps" {
  policy_id   = %[1]q
  target_type = "app"
}

data "iotda_device_policy_targets" "empty" {
  policy_id = %[2]q
}
`, p.PolicyID, empty.PolicyID),
			// Each data source has been read once: 125 targets take 3 pages
			// of 50, the other listings one call each.
			Check: expectOpCalls(srv, map[mock.Operation]int{mock.OpListTargets: 3 + 1 + 1 + 1, mock.OpShow: 0}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("targets"), knownvalue.ListSizeExact(125)),
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("targets").AtSliceIndex(0), targetValue("product", "shared-id")),
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("targets").AtSliceIndex(124), targetValue("device", devices[0])),
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("target_ids"), knownvalue.ListSizeExact(124)),
				// Sorted, each id once ("shared-id" is a device and a product).
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("target_ids").AtSliceIndex(0), knownvalue.StringExact(slices.Min(devices))),
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("target_ids").AtSliceIndex(123), knownvalue.StringExact("space-1")),
				statecheck.ExpectKnownValue(addr("products"), tfjsonpath.New("targets"), knownvalue.ListExact([]knownvalue.Check{
					targetValue("product", "shared-id"), targetValue("product", "prod-b"), targetValue("product", "prod-a"),
				})),
				statecheck.ExpectKnownValue(addr("products"), tfjsonpath.New("target_ids"), stringListExact("prod-a", "prod-b", "shared-id")),
				statecheck.ExpectKnownValue(addr("apps"), tfjsonpath.New("targets"), knownvalue.ListExact([]knownvalue.Check{targetValue("app", "space-1")})),
				statecheck.ExpectKnownValue(addr("apps"), tfjsonpath.New("target_ids"), stringListExact("space-1")),
				statecheck.ExpectKnownValue(addr("empty"), tfjsonpath.New("targets"), knownvalue.ListExact([]knownvalue.Check{})),
				statecheck.ExpectKnownValue(addr("empty"), tfjsonpath.New("target_ids"), knownvalue.ListExact([]knownvalue.Check{})),
			},
		}},
	})
}

// TestAccDevicePolicyTargetsDataSource_sameConfiguration reads the targets a
// binding of the same configuration made.
func TestAccDevicePolicyTargetsDataSource_sameConfiguration(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	ids := deviceIDs(0, 3)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			Config: bindingConfig(srv, ids) + `
data "iotda_device_policy_targets" "test" {
  policy_id  = iotda_device_policy.test.id
  depends_on = [iotda_device_policy_binding.test]
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.iotda_device_policy_targets.test", tfjsonpath.New("target_ids"), stringListExact(ids...)),
				statecheck.ExpectKnownValue(bindingAddr, tfjsonpath.New("targets"), targetsExact(ids...)),
				statecheck.ExpectKnownValue("data.iotda_device_policy_targets.test", tfjsonpath.New("targets").AtSliceIndex(0).AtMapKey("target_type"), knownvalue.StringExact("device")),
			},
		}},
	})
}

func TestAccDevicePolicyTargetsDataSource_errors(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	data := func(attrs string) string {
		return providerBlock(srv) + "data \"iotda_device_policy_targets\" \"test\" {\n" + attrs + "\n}\n"
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: append(planErrorSteps([]planErrorCase{
			{data(`target_type = "device"`), `The argument "policy_id" is required`},
			{data("policy_id = \"0123456789abcdef01234567\"\ntarget_type = \"devices\""), `target_type value must be one of: \["device" "product" "app"\]`},
			{data(`policy_id = "policy-1"`), `policy_id must be a device policy id`},
		}), resource.TestStep{
			PreConfig:   func() { expectNoCalls(t, srv) },
			Config:      data(`policy_id = "0123456789abcdef01234567"`),
			ExpectError: expectError(`Device Policy Not Found.*Device policy 0123456789abcdef01234567 does not exist.*HTTP 404`),
		}),
	})
}
