package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// validatePolicy plans the creation of a policy with the resource's
// ModifyPlan, on statements given as (effect, actions, resources) triples.
func validatePolicy(t *testing.T, statements ...[3][]string) diag.Diagnostics {
	t.Helper()
	ctx := context.Background()
	r := &devicePolicyResource{}
	var schemaResp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	model := devicePolicyModel{
		ID: types.StringNull(), PolicyName: types.StringValue("p"), AppID: types.StringNull(),
		CreateTime: types.StringNull(), UpdateTime: types.StringNull(),
	}
	for _, s := range statements {
		model.Statement = append(model.Statement, statementModel{
			Effect: types.StringValue(s[0][0]), Actions: stringSet(s[1]), Resources: stringSet(s[2]),
		})
	}
	state := tfsdk.State{Schema: schemaResp.Schema}
	if d := state.Set(ctx, model); d.HasError() {
		t.Fatal(d)
	}
	plan := tfsdk.Plan{Schema: schemaResp.Schema, Raw: state.Raw}
	resp := resource.ModifyPlanResponse{Plan: plan}
	r.ModifyPlan(ctx, resource.ModifyPlanRequest{
		Config: tfsdk.Config{Schema: schemaResp.Schema, Raw: state.Raw},
		Plan:   plan,
		State:  tfsdk.State{Schema: schemaResp.Schema, Raw: tftypes.NewValue(schemaResp.Schema.Type().TerraformType(ctx), nil)},
	}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("review produced errors: %v", resp.Diagnostics)
	}
	return resp.Diagnostics
}

func stmt(effect string, actions []string, resources ...string) [3][]string {
	return [3][]string{{effect}, actions, resources}
}

var (
	pub  = []string{"iotda:devices:publish"}
	both = []string{"iotda:devices:publish", "iotda:devices:subscribe"}
)

func TestReviewWarnings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		statements [][3][]string
		want       []string // summaries, in order
		path       string   // where the first warning points
	}{
		{"clean policy", [][3][]string{stmt("ALLOW", pub, "topic:/v1/${devices.deviceId}/up")}, nil, ""},
		{"mqtt wildcard", [][3][]string{stmt("ALLOW", pub, "topic:/v1/+/up")}, []string{"MQTT Wildcard In Device Policy Topic"}, `statement[0].resources[Value("topic:/v1/+/up")]`},
		{"shadowed allow", [][3][]string{stmt("ALLOW", pub, "topic:/v1/a/?"), stmt("DENY", both, "topic:/v1/*")}, []string{"Device Policy Statement Never Takes Effect"}, "statement[0]"},
		{"partly denied allow", [][3][]string{stmt("ALLOW", pub, "topic:/v1/*"), stmt("DENY", both, "topic:/v1/a/*")}, nil, ""},
		{"allow everything", [][3][]string{stmt("ALLOW", both, "topic:*")}, []string{"Device Policy Allows Every Topic"}, `statement[0].resources[Value("topic:*")]`},
		{"prefix written twice", [][3][]string{stmt("ALLOW", pub, "topic:topic:/v1/up")}, []string{`Repeated "topic:" Prefix In Device Policy Topic`}, `statement[0].resources[Value("topic:topic:/v1/up")]`},
		{"dollar sign doubled as in HCL", [][3][]string{stmt("ALLOW", pub, "topic:/v1/$${devices.deviceId}/up")}, []string{"Doubled Dollar Sign In Device Policy Topic"}, `statement[0].resources[Value("topic:/v1/$${devices.deviceId}/up")]`},
		{"system topic", [][3][]string{stmt("ALLOW", pub, "topic:$oc/devices/d1/sys/messages/up")}, []string{"System Topic In Device Policy"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diags := validatePolicy(t, tc.statements...)
			var got []string
			for _, d := range diags.Warnings() {
				got = append(got, d.Summary())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("warnings %q, want %q", got, tc.want)
			}
			if tc.path != "" {
				d, ok := diags.Warnings()[0].(diag.DiagnosticWithPath)
				if !ok || d.Path().String() != tc.path {
					t.Fatalf("warning points at %v, want %s", diags.Warnings()[0], tc.path)
				}
			}
		})
	}
}
