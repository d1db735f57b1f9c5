package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// ModifyPlan adds the plan-time warnings a reviewer reads: the review of
// the configured statements (topics that will not do what an MQTT user
// expects, statements that can never take effect, grants of every topic,
// topics policies do not govern, misspelt variables), on an update the
// access the change widens and narrows with the targets it reaches, and on a destroy or replacement
// how many targets lose the policy. They are added here and not in
// ValidateConfig because Terraform validates a configuration twice during
// a plan (once in its validate walk, again while planning), which would
// print every warning twice.
func (r *devicePolicyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.warnTargetsLoseIt(ctx, req.State, false, &resp.Diagnostics)
		return
	}
	var config []statementModel
	if diags := req.Config.GetAttribute(ctx, path.Root("statement"), &config); !diags.HasError() {
		if expanded, ok := expandStatements(ctx, config); ok {
			reviewWarnings(expanded, &resp.Diagnostics)
		}
	}
	if req.State.Raw.IsNull() {
		return
	}
	var plan, state devicePolicyModel
	if req.Plan.Get(ctx, &plan).HasError() || req.State.Get(ctx, &state).HasError() {
		return
	}
	// A plan with -refresh=false reads nothing: the region guard of a
	// moved policy holds here too.
	if r.client != nil && !checkMovedRegion(ctx, req.Private, r.client.Region(), state.ID, &resp.Diagnostics) {
		return
	}
	if !plan.AppID.Equal(state.AppID) {
		r.warnTargetsLoseIt(ctx, req.State, true, &resp.Diagnostics)
		return
	}
	prior, okPrior := expandStatements(ctx, state.Statement)
	planned, okPlanned := expandStatements(ctx, plan.Statement)
	if !okPrior || !okPlanned {
		return
	}
	if sameStatements(prior, planned) {
		keepPriorOrder(ctx, plan, state, resp)
		return
	}
	accessChangeWarning(state, prior, planned, func() (iotda.TargetCount, bool) {
		return r.countTargets(ctx, state.ID.ValueString(), state.PolicyName.ValueString(), &resp.Diagnostics)
	}, &resp.Diagnostics)
}

// keepPriorOrder plans the statements in the order of the state when the
// configuration holds the same statements in another order. IoTDA ignores
// the order of statements (DENY wins wherever it stands), so a reordering
// is no change: without this, the plan would show an update that reads
// `effect = "ALLOW" -> "DENY"` and apply would send the same statements
// again. Terraform accepts a planned value equal to the prior one in place
// of the configured one, as for any equivalent value. With the name
// unchanged too, update_time keeps its value and the plan is empty; and
// there is nothing to compare, whatever the patterns cost.
func keepPriorOrder(ctx context.Context, plan, state devicePolicyModel, resp *resource.ModifyPlanResponse) {
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("statement"), state.Statement)...)
	if plan.PolicyName.Equal(state.PolicyName) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("update_time"), state.UpdateTime)...)
	}
}

// reviewWarnings adds the warnings of policyeval.Review on the statements,
// each at the statement or resource it is about.
func reviewWarnings(statements []iotda.Statement, diags *diag.Diagnostics) {
	for _, w := range policyeval.Review(toEvalStatements(statements)) {
		at := path.Root("statement").AtListIndex(w.Statement)
		if w.Resource >= 0 {
			at = at.AtName("resources").AtSetValue(types.StringValue(statements[w.Statement].Resources[w.Resource]))
		}
		diags.AddAttributeWarning(at, w.Summary, w.Detail)
	}
}
