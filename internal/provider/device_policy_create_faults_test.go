package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// Creates whose answer is lost: each test injects the failure into the
// mock, which an instance cannot be made to do.

// TestAccDevicePolicy_createLostAnswer: a create whose answer is lost is
// resolved by a listing. Nothing created: the create is sent again and the
// apply succeeds. Created with the planned statements: the policy is
// recorded in state (the next plan is empty and destroy removes it).
func TestAccDevicePolicy_createLostAnswer(t *testing.T) {
	t.Parallel()
	const reason = "loses the answer to a create"
	newAccTarget(t).requireMock(reason)
	for name, fault := range map[string]mock.Fault{
		"503 before acting":    {Status: http.StatusServiceUnavailable},
		"503 after acting":     {Status: http.StatusServiceUnavailable, AfterAction: true},
		"dropped after acting": {Drop: true, AfterAction: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := newAccTarget(t)
			srv := a.requireMock(reason)
			wantCreates := 1
			if !fault.AfterAction {
				wantCreates = 2
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: a.factories(),
				CheckDestroy:             a.checkNoPolicies,
				Steps: []resource.TestStep{{
					PreConfig: func() { srv.InjectFault(mock.OpCreate, fault) },
					Config:    a.policyConfig("maybe", "", "topic:/a"),
					Check: resource.ComposeTestCheckFunc(
						func(*terraform.State) error {
							if n := a.callsTo(iotda.OpCreate); n != wantCreates {
								return fmt.Errorf("%d create calls, want %d", n, wantCreates)
							}
							return nil
						},
						func(s *terraform.State) error {
							if id, held := s.RootModule().Resources[policyAddr].Primary.ID, a.onlyPolicyID(); id != held {
								return fmt.Errorf("state records %s, the server holds %s", id, held)
							}
							return nil
						},
					),
				}},
			})
		})
	}
}

// TestAccDevicePolicy_createLostAnswerUnresolved: when the listing cannot
// settle what a lost create did, the error says how to find and import the
// policy; the next apply, refused because the name is taken, names the
// policy and gives the import command with its id; the import then brings
// it under Terraform with an empty plan.
func TestAccDevicePolicy_createLostAnswerUnresolved(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("loses the answer to a create and fails the listings after it")
	config := a.policyConfig("maybe", "", "topic:/a")
	policyID := func() string {
		if p := a.policies(); len(p) == 1 {
			return p[0].PolicyID
		}
		return "no single policy"
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true})
					srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, Count: 3})
				},
				Config:      config,
				ExpectError: expectError(`HTTP 503.*IoTDA may have created the policy, and the listing that would show it failed too.*named "` + a.name("maybe") + `".*terraform import <address of this resource> <policy id>`),
			},
			{
				PreConfig:   srv.ClearFaults,
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)HTTP 400.*already exists.*terraform import <address of this resource>\s+[0-9a-f]{24}`),
			},
			{
				Config:             config,
				ResourceName:       policyAddr,
				ImportState:        true,
				ImportStateIdFunc:  func(*terraform.State) (string, error) { return policyID(), nil },
				ImportStatePersist: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// TestAccDevicePolicy_createLostAnswerOtherPolicy: the listing after a lost
// answer finds a policy of that name that is not this one (another resource
// space, other statements): nothing is adopted and the error names it with
// its import command.
func TestAccDevicePolicy_createLostAnswerOtherPolicy(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("loses the answer to a create")
	other := a.createPolicy("maybe", a.apps(1)[0], apiStatement(iotda.EffectDeny, publishOnly, "topic:/x"))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			PreConfig:   func() { srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable}) },
			Config:      a.policyConfig("maybe", "", "topic:/a"),
			ExpectError: expectError(`may have created the policy.*cannot tell which policy is this one.*` + other.PolicyID + `.*terraform import <address of this resource> ` + other.PolicyID),
		}},
	})
	if n := a.callsTo(iotda.OpCreate); n != 1 {
		t.Errorf("%d create calls, want 1 (no proof that nothing was created)", n)
	}
}

// TestDevicePolicyCreate_foundWarning calls Create directly to read the
// warning that says a policy found after a lost answer is now in state.
func TestDevicePolicyCreate_foundWarning(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	client, err := iotda.New(iotda.Config{
		Endpoint: srv.URL, ProjectID: mock.TestProjectID,
		Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := &devicePolicyResource{client: client}
	var schemaResp fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &schemaResp)
	plan := tfsdk.Plan{Schema: schemaResp.Schema}
	model := devicePolicyModel{
		ID: types.StringUnknown(), PolicyName: types.StringValue("maybe"), AppID: types.StringUnknown(),
		CreateTime: types.StringUnknown(), UpdateTime: types.StringUnknown(),
		Statement: []statementModel{{Effect: types.StringValue("ALLOW"), Actions: stringSet([]string{iotda.ActionPublish}), Resources: stringSet([]string{"topic:/a"})}},
	}
	if d := plan.Set(ctx, model); d.HasError() {
		t.Fatal(d)
	}
	srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true})
	resp := fwresource.CreateResponse{State: tfsdk.State{Schema: schemaResp.Schema, Raw: plan.Raw}}
	r.Create(ctx, fwresource.CreateRequest{Plan: plan}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	warnings := resp.Diagnostics.Warnings()
	id := srv.Policies("")[0].PolicyID
	if len(warnings) != 1 || warnings[0].Summary() != "Device Policy Found After a Lost Answer" || !strings.Contains(warnings[0].Detail(), id) {
		t.Fatalf("warnings %v, want one naming %s", warnings, id)
	}
	var got devicePolicyModel
	if d := resp.State.Get(ctx, &got); d.HasError() || got.ID.ValueString() != id {
		t.Fatalf("state records %q (%v), want %s", got.ID.ValueString(), d, id)
	}
}
