package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// unknownEndpointConfig configures the provider from a terraform_data
// output, which is unknown at plan whenever the terraform_data is created
// or replaced (run changes it): the shape of an IoTDA instance created by
// another provider in the same configuration.
func unknownEndpointConfig(a *accTarget, run, extra string) string {
	return fmt.Sprintf(`
resource "terraform_data" "instance" {
  input            = %q
  triggers_replace = %q
}
`, a.endpoint(), run) + a.providerBlock("endpoint = terraform_data.instance.output") + fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/a"]
  }
}
%s`, a.name("unknown-endpoint"), extra)
}

// TestAccProvider_unknownEndpoint: an endpoint unknown at plan plans
// without error (resources with their computed values unknown, existing
// ones not refreshed), the apply configures the provider with the known
// endpoint and calls the API, and a data source, which must be read at
// plan, says why it cannot be.
func TestAccProvider_unknownEndpoint(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	addr := "iotda_device_policy.test"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				Config: unknownEndpointConfig(a, "1", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(addr, tfjsonpath.New("id")),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrSet(addr, "id"),
					func(*terraform.State) error {
						if n := len(a.policies()); n != 1 {
							return fmt.Errorf("the API holds %d policies of the test after the apply, want 1", n)
						}
						return nil
					},
				),
			},
			{
				// Replacing the terraform_data makes the endpoint unknown
				// again while the policy exists: it is kept as it is.
				Config: unknownEndpointConfig(a, "2", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("terraform_data.instance", plancheck.ResourceActionReplace),
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop),
				}},
			},
			{
				Config: unknownEndpointConfig(a, "3", `
data "iotda_device_policies" "all" {}
`),
				ExpectError: expectError(unconfiguredSummary),
			},
		},
	})
}
