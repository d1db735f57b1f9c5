package provider

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
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
	a := newAccTarget(t)
	var defaultApp knownvalue.Check = knownvalue.NotNull()
	a.onMock("knows the id of the default resource space", func(srv *mock.TestServer) {
		defaultApp = knownvalue.StringExact(srv.DefaultAppID(""))
	})
	// The move to another resource space needs one the instance names.
	otherApp := ""
	if a.real() {
		if spaces := realList(realObjectsEnv[iotda.TargetTypeApp]); len(spaces) > 0 {
			otherApp = spaces[0]
		}
	} else {
		otherApp = a.apps(1)[0]
	}
	steps := []resource.TestStep{
		{
			Config: a.policyConfig("sensors", "", "topic:/v1/a", "topic:/v1/b"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{24}$`))),
				statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact(a.name("sensors"))),
				statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("app_id"), defaultApp),
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
			Config: a.policyConfig("sensors-v2", "", "topic:/v1/b", "topic:/v1/c"),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("policy_name"), knownvalue.StringExact(a.name("sensors-v2"))),
				statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"), stringSetExact("topic:/v1/b", "topic:/v1/c")),
			},
		},
	}
	if otherApp == "" {
		t.Logf("left out on an instance whose %s names no resource space: the move to another one", realObjectsEnv[iotda.TargetTypeApp])
	} else {
		steps = append(steps,
			resource.TestStep{
				// A new resource space replaces the policy.
				Config: a.policyConfig("sensors-v2", otherApp, "topic:/v1/b", "topic:/v1/c"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("app_id"), knownvalue.StringExact(otherApp)),
				},
			},
			resource.TestStep{
				ResourceName:      policyAddr,
				ImportState:       true,
				ImportStateVerify: true,
			})
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps:                    steps,
	})
}

// TestAccDevicePolicy_unorderedSets shows the API's order of statements,
// actions and resources never becomes a diff.
func TestAccDevicePolicy_unorderedSets(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	config := a.policyConfig("order", "", "topic:/z", "topic:/a", "topic:/m")
	var reversed []iotda.Statement
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					// Another client rewrites the policy with the same content in another order.
					p, err := a.client.GetPolicy(context.Background(), a.onlyPolicyID())
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range p.Statement {
						slices.Reverse(s.Resources)
						slices.Reverse(s.Actions)
					}
					slices.Reverse(p.Statement)
					reversed = p.Statement
					a.updatePolicy(p.PolicyID, iotda.UpdatePolicyRequest{Statement: reversed})
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// The API keeps the other order: the plan above compared it.
				Check: func(*terraform.State) error {
					p, err := a.client.GetPolicy(context.Background(), a.onlyPolicyID())
					if err != nil {
						return err
					}
					if !reflect.DeepEqual(p.Statement, reversed) {
						return fmt.Errorf("the API holds %+v, not the reordered %+v", p.Statement, reversed)
					}
					return nil
				},
			},
		},
	})
}

func TestAccDevicePolicy_driftDeleted(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: a.policyConfig("gone", "", "topic:/a")},
			{
				PreConfig: func() {
					if err := a.client.DeletePolicy(context.Background(), a.onlyPolicyID()); err != nil {
						t.Fatal(err)
					}
				},
				Config: a.policyConfig("gone", "", "topic:/a"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionCreate)},
				},
				Check: func(*terraform.State) error {
					if n := len(a.policies()); n != 1 {
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
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: a.policyConfig("steady", "", "topic:/a")},
			{
				PreConfig: func() {
					_, err := a.client.UpdatePolicy(context.Background(), a.onlyPolicyID(), iotda.UpdatePolicyRequest{
						PolicyName: a.name("renamed-by-hand"),
						Statement:  []iotda.Statement{{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:/#"}}},
					})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: a.policyConfig("steady", "", "topic:/a"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(policyAddr, plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					p, err := a.client.GetPolicy(context.Background(), a.onlyPolicyID())
					if err != nil {
						return err
					}
					if p.PolicyName != a.name("steady") || len(p.Statement) != 2 || !slices.Contains(statementResources(p.Statement), "topic:/a") {
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
	a := newAccTarget(t)
	config := a.providerBlock() + fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/$${devices.deviceId}/up", "topic:/v1/$${devices.productId}/$${devices.clientId}/*"]
  }
}
`, a.name("own-topics"))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(policyAddr, tfjsonpath.New("statement").AtSliceIndex(0).AtMapKey("resources"),
						stringSetExact("topic:/v1/${devices.deviceId}/up", "topic:/v1/${devices.productId}/${devices.clientId}/*")),
				},
				Check: func(*terraform.State) error {
					p, err := a.client.GetPolicy(context.Background(), a.onlyPolicyID())
					if err != nil {
						return err
					}
					got := p.Statement[0].Resources
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
	a := newAccTarget(t)
	// Fill the instance: what it already holds counts too.
	all, err := a.client.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(all); i < iotda.MaxPoliciesPerInstance; i++ {
		a.createPolicy(fmt.Sprintf("existing-%02d", i), "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	}
	status := `HTTP \d{3}`
	a.onMock("answers a create over the quota with HTTP 400, a status the API reference does not give", func(*mock.TestServer) {
		status = `HTTP 400`
	})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				PreConfig:   a.resetCalls,
				Config:      a.policyConfig("the-51st", "", "topic:/a"),
				ExpectError: expectError(`Unable to Create Device Policy.*"` + a.name("the-51st") + `".*` + status + `.*already holds 50 device policies.*at most 50`),
			},
			{
				// The create, a listing of the policies of that name (none),
				// then one of every policy, to count them.
				PreConfig: func() {
					if create, list, total := a.callsTo(iotda.OpCreate), a.callsTo(iotda.OpList), a.totalCalls(); create != 1 || list != 2 || total != 3 {
						t.Errorf("%d calls (%d creates, %d listings), want 3 (1 and 2)", total, create, list)
					}
				},
				Config: a.providerBlock(),
			},
		},
	})
}

func TestAccDevicePolicy_wrongCredentials(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	if a.getenv("HW_ACCESS_KEY") == "" && a.getenv("HUAWEICLOUD_SDK_AK") == "" && a.real() {
		t.Skip("the instance is reached with a token, not an access key whose secret key could be wrong")
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock(`secret_key = "not-the-secret-key"`) + `
resource "iotda_device_policy" "test" {
  policy_name = "` + a.name("p") + `"
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

// TestDevicePolicyImportStateRefusesBadIDs: a malformed import id is an
// error of the whole import, a malformed identity an error at its
// policy_id, and neither reaches the state.
func TestDevicePolicyImportStateRefusesBadIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := &devicePolicyResource{}
	var sch fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sch)
	var idSch fwresource.IdentitySchemaResponse
	r.IdentitySchema(ctx, fwresource.IdentitySchemaRequest{}, &idSch)
	identity := func(policyID string) *tfsdk.ResourceIdentity {
		return &tfsdk.ResourceIdentity{Schema: idSch.IdentitySchema, Raw: tftypes.NewValue(idSch.IdentitySchema.Type().TerraformType(ctx),
			map[string]tftypes.Value{"policy_id": tftypes.NewValue(tftypes.String, policyID)})}
	}
	for name, tc := range map[string]struct {
		req     fwresource.ImportStateRequest
		summary string
		at      path.Path
		detail  string
	}{
		"id":                {fwresource.ImportStateRequest{ID: "p-1"}, "Invalid Import ID", path.Empty(), `"p-1" is not a device policy id`},
		"id, with identity": {fwresource.ImportStateRequest{ID: "p-1", Identity: identity("")}, "Invalid Import ID", path.Empty(), `"p-1" is not a device policy id`},
		"identity":          {fwresource.ImportStateRequest{Identity: identity("p-2")}, "Invalid Import Identity", path.Root("policy_id"), `policy_id "p-2" is not a device policy id`},
	} {
		t.Run(name, func(t *testing.T) {
			resp := fwresource.ImportStateResponse{
				State:    tfsdk.State{Schema: sch.Schema, Raw: tftypes.NewValue(sch.Schema.Type().TerraformType(ctx), nil)},
				Identity: identity(""),
			}
			r.ImportState(ctx, tc.req, &resp)
			if len(resp.Diagnostics) != 1 {
				t.Fatalf("diagnostics: %v", resp.Diagnostics)
			}
			d := resp.Diagnostics[0]
			at := path.Empty()
			if withPath, ok := d.(diag.DiagnosticWithPath); ok {
				at = withPath.Path()
			}
			if d.Severity() != diag.SeverityError || d.Summary() != tc.summary || !at.Equal(tc.at) || !strings.HasPrefix(d.Detail(), tc.detail) {
				t.Errorf("diagnostic %q at %q: %s\nwant %q at %q: %s...", d.Summary(), at, d.Detail(), tc.summary, tc.at, tc.detail)
			}
			if !resp.State.Raw.IsNull() {
				t.Errorf("the state was set: %v", resp.State.Raw)
			}
		})
	}
}

func TestAccDevicePolicy_importInvalidID(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config:        a.policyConfig("p", "", "topic:/a"),
			ResourceName:  policyAddr,
			ImportState:   true,
			ImportStateId: "not-a-policy-id",
			ExpectError:   expectError(`Invalid Import ID.*24 lower-case hexadecimal`),
		}},
	})
	a.expectNoCalls(t)
}

// TestAccDevicePolicy_validation has one plan-time error per rule of the
// API that a configuration can break.
func TestAccDevicePolicy_validation(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	statement := func(effect, actions, resources string) string {
		return fmt.Sprintf("statement {\n effect = %q\n actions = [%s]\n resources = [%s]\n}\n", effect, actions, resources)
	}
	ok := statement("ALLOW", `"iotda:devices:publish"`, `"topic:/a"`)
	policy := func(attrs, statements string) string {
		return a.providerBlock() + fmt.Sprintf("resource \"iotda_device_policy\" \"test\" {\n%s\n%s}\n", attrs, statements)
	}
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ", ")
	}
	a.testPlanErrors([]planErrorCase{
		{policy(`policy_name = ""`, ok), `policy_name string length must be between 1 and 128`},
		{policy(fmt.Sprintf("policy_name = %q", strings.Repeat("a", 129)), ok), `policy_name string length must be between 1 and 128`},
		{policy(`policy_name = "my policy"`, ok), `policy_name.*only letters, digits, "_" and "-"`},
		{policy(fmt.Sprintf("policy_name = \"p\"\napp_id = %q", strings.Repeat("a", 37)), ok), `app_id string length must be between 1 and 36`},
		{policy("policy_name = \"p\"\napp_id = \"space.1\"", ok), `app_id.*only letters, digits, "_" and "-"`},
		{policy(`policy_name = "p"`, ""), `Missing Device Policy Statement.*needs 1 to 10 statement blocks, and this one has none.*statement \{`},
		{policy(`policy_name = "p"`, "dynamic \"statement\" {\n for_each = []\n content {\n effect = \"ALLOW\"\n actions = [\"iotda:devices:publish\"]\n resources = [\"topic:/a\"]\n }\n}\n"), `Missing Device Policy Statement.*for_each is not empty`},
		{policy(`policy_name = "p"`, strings.Repeat(ok, 11)), `statement list must contain at least 1 elements and at most 10`},
		{policy(`policy_name = "p"`, statement("allow", `"iotda:devices:publish"`, `"topic:/a"`)), `effect.*value must be one of.*"ALLOW".*"DENY"`},
		{policy(`policy_name = "p"`, statement("ALLOW", ``, `"topic:/a"`)), `actions.*at least 1`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:connect"`, `"topic:/a"`)), `actions.*iotda:devices:publish.*iotda:devices:subscribe`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish\riotda:devices:subscribe"`, `"topic:/a"`)), `actions.*value must be one of`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, ``)), `resources set must contain at least 1 elements and at most 10`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, many(11, func(i int) string { return fmt.Sprintf("%q", fmt.Sprintf("topic:/t%d", i)) }))), `resources set must contain at least 1 elements and at most 10`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"/v1/up"`)), `"/v1/up" must start with "topic:", followed by the topic pattern: "topic:/v1/up"\.`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"Topic:/v1/up"`)), `"Topic:/v1/up" must start with "topic:", followed by the topic pattern: "topic:/v1/up"\.`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"/v1/$${devices.deviceId}/up"`)), `pattern: "topic:/v1/\$\{devices.deviceId\}/up" \(written "topic:/v1/\$\$\{devices.deviceId\}/up" in Terraform configuration\)\.`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"topic:"`)), `has no topic after "topic:"`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, `"topic:/v1/a b"`)), `contains ' '; only letters, digits and the characters /\{\}\$=\+#\?\*:\._- are allowed`},
		{policy(`policy_name = "p"`, statement("ALLOW", `"iotda:devices:publish"`, fmt.Sprintf("%q", "topic:/"+strings.Repeat("a", 128)))), `129 bytes long; topics are at most 128 bytes`},
		{policy(`policy_name = "p"`, strings.Repeat(statement("ALLOW", `"iotda:devices:publish"`, many(10, func(i int) string { return fmt.Sprintf("%q", fmt.Sprintf("topic:/%d/%s", i, strings.Repeat("x", 120))) })), 10)), `Device Policy Too Large.*at most 10240 bytes`},
	})
}
