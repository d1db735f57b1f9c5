package provider

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func TestAccDevicePolicy_lifecycle(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		CheckDestroy:             checkNoPolicies(srv),
		Steps: []resource.TestStep{
			{
				Config: policyConfig(srv, "sensors", "", "topic:/v1/a", "topic:/v1/b"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{24}$`))),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact("sensors")),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("app_id"), knownvalue.StringExact(srv.DefaultAppID(""))),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"), stringSetExact("topic:/v1/a", "topic:/v1/b")),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(1).AtMapKey("effect"), knownvalue.StringExact("DENY")),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("create_time"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{8}T\d{6}Z$`))),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      policyAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				// Name and statements change in place.
				Config: policyConfig(srv, "sensors-v2", "", "topic:/v1/b", "topic:/v1/c"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact("sensors-v2")),
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"), stringSetExact("topic:/v1/b", "topic:/v1/c")),
				},
			},
			{
				// A new resource space replaces the policy.
				Config: policyConfig(srv, "sensors-v2", "factory-space", "topic:/v1/b", "topic:/v1/c"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("app_id"), knownvalue.StringExact("factory-space")),
				},
			},
			{
				ResourceName:      policyAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
		},
	})
}

// TestAccDevicePolicy_unorderedSets shows the API's order of statements,
// actions and resources never becomes a diff.
func TestAccDevicePolicy_unorderedSets(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyConfig(srv, "order", "", "topic:/z", "topic:/a", "topic:/m")},
			{
				PreConfig: func() {
					// Another client rewrites the policy with the same content in another order.
					p := srv.Policies("")[0]
					for i := range p.Statement {
						s := p.Statement[i]
						for l, r := 0, len(s.Resources)-1; l < r; l, r = l+1, r-1 {
							s.Resources[l], s.Resources[r] = s.Resources[r], s.Resources[l]
						}
						for l, r := 0, len(s.Actions)-1; l < r; l, r = l+1, r-1 {
							s.Actions[l], s.Actions[r] = s.Actions[r], s.Actions[l]
						}
					}
					slices.Reverse(p.Statement)
					if _, err := srv.UpdatePolicy("", p.PolicyID, mock.UpdatePolicyRequest{Statement: p.Statement}); err != nil {
						t.Fatal(err)
					}
				},
				Config: policyConfig(srv, "order", "", "topic:/z", "topic:/a", "topic:/m"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccDevicePolicy_driftDeleted(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		CheckDestroy:             checkNoPolicies(srv),
		Steps: []resource.TestStep{
			{Config: policyConfig(srv, "gone", "", "topic:/a")},
			{
				PreConfig: func() {
					for _, p := range srv.Policies("") {
						if err := srv.DeletePolicy("", p.PolicyID); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: policyConfig(srv, "gone", "", "topic:/a"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionCreate)},
				},
				Check: func(*terraform.State) error {
					if n := len(srv.Policies("")); n != 1 {
						return fmt.Errorf("%d policies after re-create, want 1", n)
					}
					return nil
				},
			},
		},
	})
}

func TestAccDevicePolicy_driftChanged(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{Config: policyConfig(srv, "steady", "", "topic:/a")},
			{
				PreConfig: func() {
					p := srv.Policies("")[0]
					_, err := srv.UpdatePolicy("", p.PolicyID, mock.UpdatePolicyRequest{
						PolicyName: "renamed-by-hand",
						Statement:  []mock.Statement{{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:/#"}}},
					})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: policyConfig(srv, "steady", "", "topic:/a"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					p := srv.Policies("")[0]
					if p.PolicyName != "steady" || len(p.Statement) != 2 || p.Statement[0].Resources[0] != "topic:/a" {
						return fmt.Errorf("apply did not restore the policy: %+v", p)
					}
					return nil
				},
			},
		},
	})
}

// TestAccDevicePolicy_variables round-trips a topic with IoTDA variables,
// written with $${...} in HCL.
func TestAccDevicePolicy_variables(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	config := providerBlock(srv) + `
resource "iotda_device_policy" "test" {
  policy_name = "own-topics"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/$${devices.deviceId}/up", "topic:/v1/$${devices.productId}/$${devices.clientId}/*"]
  }
}
`
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"),
						stringSetExact("topic:/v1/${devices.deviceId}/up", "topic:/v1/${devices.productId}/${devices.clientId}/*")),
				},
				Check: func(*terraform.State) error {
					got := srv.Policies("")[0].Statement[0].Resources
					if !strings.Contains(strings.Join(got, " "), "topic:/v1/${devices.deviceId}/up") {
						return fmt.Errorf("the API received %q", got)
					}
					return nil
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{ResourceName: policyAddr, ImportState: true, ImportStateVerify: true},
		},
	})
}

func TestAccDevicePolicy_quota(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	for i := range iotda.MaxPoliciesPerInstance {
		_, err := srv.CreatePolicy("", mock.CreatePolicyRequest{
			PolicyName: fmt.Sprintf("existing-%02d", i),
			Statement:  []mock.Statement{{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/a"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			Config:      policyConfig(srv, "the-51st", "", "topic:/a"),
			ExpectError: expectError(`Unable to Create Device Policy.*"the-51st".*HTTP 400.*already holds 50 device policies.*at most 50`),
		}},
	})
}

func TestAccDevicePolicy_wrongCredentials(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerBlockWith(srv, "not-the-secret-key", "") + `
resource "iotda_device_policy" "test" {
  policy_name = "p"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/a"]
  }
}`,
			ExpectError: expectError(`HTTP 401 APIGW\.0301.*credentials were rejected`),
		}},
	})
}

func TestAccDevicePolicy_importInvalidID(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			Config:        policyConfig(srv, "p", "", "topic:/a"),
			ResourceName:  policyAddr,
			ImportState:   true,
			ImportStateId: "not-a-policy-id",
			ExpectError:   expectError(`Invalid Import ID.*24 lower-case hexadecimal`),
		}},
	})
}

// TestAccDevicePolicy_validation has one plan-time error per rule of the
// API that a configuration can break.
func TestAccDevicePolicy_validation(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	statement := func(effect, actions, resources string) string {
		return fmt.Sprintf("statement {\n effect = %q\n actions = [%s]\n resources = [%s]\n}\n", effect, actions, resources)
	}
	ok := statement("ALLOW", `"iotda:devices:publish"`, `"topic:/a"`)
	policy := func(attrs, statements string) string {
		return providerBlock(srv) + fmt.Sprintf("resource \"iotda_device_policy\" \"test\" {\n%s\n%s}\n", attrs, statements)
	}
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ", ")
	}
	testPlanErrors(t, srv, []planErrorCase{
		{policy(`policy_name = ""`, ok), `policy_name string length must be between 1 and 128`},
		{policy(fmt.Sprintf("policy_name = %q", strings.Repeat("a", 129)), ok), `policy_name string length must be between 1 and 128`},
		{policy(`policy_name = "my policy"`, ok), `policy_name.*only letters, digits, "_" and "-"`},
		{policy(fmt.Sprintf("policy_name = \"p\"\napp_id = %q", strings.Repeat("a", 37)), ok), `app_id string length must be between 1 and 36`},
		{policy("policy_name = \"p\"\napp_id = \"space.1\"", ok), `app_id.*only letters, digits, "_" and "-"`},
		{policy(`policy_name = "p"`, ""), `(?i)statement.*(required|at least 1)`},
		{policy(`policy_name = "p"`, strings.Repeat(ok, 11)), `statement list must contain at least 1 elements and at most 10`},
		{policy(`policy_name = "p"`, statement("allow", `"iotda:devices:publish"`, `"topic:/a"`)), `effect.*value must be one of.*"ALLOW".*"DENY"`},
		{policy(`policy_name = "p"`, statement("ALLOW", ``, `"topic:/a"`)), `actions.*at least 1`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:connect"`, `"topic:/a"`)), `actions.*iotda:devices:publish.*iotda:devices:subscribe`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish\riotda:devices:subscribe"`, `"topic:/a"`)), `actions.*value must be one of`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, ``)), `resources set must contain at least 1 elements and at most 10`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, many(11, func(i int) string { return fmt.Sprintf("%q", fmt.Sprintf("topic:/t%d", i)) }))), `resources set must contain at least 1 elements and at most 10`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"/v1/up"`)), `"/v1/up" must start with "topic:"`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"topic:"`)), `has no topic after "topic:"`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"topic:/v1/a b"`)), `contains ' '; only letters, digits and the characters /\{\}\$=\+#\?\*:\._- are allowed`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, fmt.Sprintf("%q", "topic:/"+strings.Repeat("a", 128)))), `129 bytes long; topics are at most 128 bytes`},
		{policy(`policy_name = "p"`, strings.Repeat(statement("ALLOW", `"iotda:devices:publish"`, many(10, func(i int) string { return fmt.Sprintf("%q", fmt.Sprintf("topic:/%d/%s", i, strings.Repeat("x", 120))) })), 10)), `Device Policy Too Large.*at most 10240 bytes`},
	})
}

// TestAccDevicePolicy_createOutcomeUnknown: a create that failed after
// IoTDA may have acted is not retried, and the error names what exists.
func TestAccDevicePolicy_createOutcomeUnknown(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig:   func() { srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, Count: 1}) },
				Config:      policyConfig(srv, "maybe", "", "topic:/a"),
				ExpectError: expectError(`HTTP 503.*may have acted.*No policy of that name exists now: the API did not create it`),
			},
			{
				PreConfig: func() {
					srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 1})
				},
				Config:      policyConfig(srv, "maybe", "", "topic:/a"),
				ExpectError: expectError(`IoTDA may have created the policy before the call failed. Policies named "maybe" now: [0-9a-f]{24} .*terraform import`),
			},
		},
	})
	if n := srv.Calls(mock.OpCreate); n != 2 {
		t.Errorf("%d create calls, want 2 (none retried)", n)
	}
	if n := len(srv.Policies("")); n != 1 {
		t.Errorf("%d policies, want the 1 the second create made", n)
	}
}
