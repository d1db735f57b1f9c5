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
	a := newAccTarget(t)
	p := a.createPolicy("fleet", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	empty := a.createPolicy("unbound", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	devices, products, space := a.deviceIDs(121), a.products(3), a.apps(1)[0]
	a.bind(p.PolicyID, iotda.TargetTypeDevice, devices[:120]...)
	a.bind(p.PolicyID, iotda.TargetTypeProduct, products[0])
	a.bind(p.PolicyID, iotda.TargetTypeProduct, products[1])
	a.bind(p.PolicyID, iotda.TargetTypeApp, space)
	// The same id as a device and as a product: two targets, one id.
	shared, sharedProduct := devices[120], products[2]
	a.onMock("binds one id as a device and as a product, which an instance's objects never share", func(*mock.TestServer) {
		shared, sharedProduct = "shared-id", "shared-id"
	})
	a.bind(p.PolicyID, iotda.TargetTypeDevice, shared)
	a.bind(p.PolicyID, iotda.TargetTypeProduct, sharedProduct)
	devices = devices[:120]
	ids := slices.Sorted(slices.Values(append(slices.Concat(devices, products[:2], []string{space, shared}), sharedProduct)))
	ids = slices.Compact(ids)
	addr := func(name string) string { return "data.iotda_device_policy_targets." + name }
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig: a.resetCalls,
			Config: a.providerBlock() + fmt.Sprintf(`
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
			Check: a.expectOpCalls(map[iotda.Operation]int{iotda.OpListTargets: 3 + 1 + 1 + 1, iotda.OpShow: 0}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("targets"), knownvalue.ListSizeExact(125)),
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("targets").AtSliceIndex(0), targetValue("product", sharedProduct)),
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("targets").AtSliceIndex(124), targetValue("device", devices[0])),
				// Sorted, each id once.
				statecheck.ExpectKnownValue(addr("all"), tfjsonpath.New("target_ids"), stringListExact(ids...)),
				statecheck.ExpectKnownValue(addr("products"), tfjsonpath.New("targets"), knownvalue.ListExact([]knownvalue.Check{
					targetValue("product", sharedProduct), targetValue("product", products[1]), targetValue("product", products[0]),
				})),
				statecheck.ExpectKnownValue(addr("products"), tfjsonpath.New("target_ids"), stringListExact(slices.Sorted(slices.Values([]string{products[0], products[1], sharedProduct}))...)),
				statecheck.ExpectKnownValue(addr("apps"), tfjsonpath.New("targets"), knownvalue.ListExact([]knownvalue.Check{targetValue("app", space)})),
				statecheck.ExpectKnownValue(addr("apps"), tfjsonpath.New("target_ids"), stringListExact(space)),
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
	a := newAccTarget(t)
	ids := a.deviceIDs(3)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{{
			Config: a.bindingConfig(ids) + `
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
	a := newAccTarget(t)
	data := func(attrs string) string {
		return a.providerBlock() + "data \"iotda_device_policy_targets\" \"test\" {\n" + attrs + "\n}\n"
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: append(planErrorSteps([]planErrorCase{
			{data(`target_type = "device"`), `The argument "policy_id" is required`},
			{data("policy_id = \"0123456789abcdef01234567\"\ntarget_type = \"devices\""), `target_type value must be one of: \["device" "product" "app"\]`},
			{data(`policy_id = "policy-1"`), `policy_id must be a device policy id`},
		}), resource.TestStep{
			PreConfig:   func() { a.expectNoCalls(t) },
			Config:      data(`policy_id = "0123456789abcdef01234567"`),
			ExpectError: expectError(`Device Policy Not Found.*Device policy 0123456789abcdef01234567 does not exist.*HTTP 404`),
		}),
	})
}
