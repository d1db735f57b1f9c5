package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/binding"
)

// ModifyPlan makes visible at plan time what the plan alone would hide
// (binding.Plan says what): an exclusive binding that is created, switched
// to exclusive, or whose refresh found targets bound outside it, unbinds
// those targets; targets an earlier failed apply may have bound are
// unbound when the configuration dropped them; a binding whose policy does
// not exist cannot be created. The checks are skipped while policy_id is
// unknown, that is while the policy is still to be created or replaced. A
// create also records in the planned private state which targets it binds,
// so that when it is the second half of a replacement the destroy half
// keeps them bound (see Delete).
func (r *devicePolicyBindingResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	plan, targets, diags := readBinding(ctx, req.Plan.Raw)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	io := planIO{
		plan: plan, targets: targets.ids, known: targets.value.IsKnown(), private: resp.Private,
		setIDUnknown: func() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), types.StringUnknown())...)
		},
	}
	if !req.State.Raw.IsNull() {
		io.prior = func(diags *diag.Diagnostics) (devicePolicyBindingModel, []string) {
			m, t, d := readBinding(ctx, req.State.Raw)
			diags.Append(d...)
			return m, t.ids
		}
	}
	r.plan(ctx, io, &resp.Diagnostics)
}

// planIO is what the plan of a binding reads and writes: the planned
// attributes (Targets unset), the planned target ids, sorted, and whether
// they are known; how to read the prior state's attributes and target ids
// (nil for a create); the planned private state, read and written; and
// how the planned id is made unknown. The framework's ModifyPlan and the
// protocol's (see bindingPlan) each give theirs.
type planIO struct {
	plan         devicePolicyBindingModel
	targets      []string
	known        bool
	prior        func(diags *diag.Diagnostics) (devicePolicyBindingModel, []string)
	private      privateState
	setIDUnknown func()
}

// plan is the binding's ModifyPlan on a plan that is not a destroy and
// that it could read.
func (r *devicePolicyBindingResource) plan(ctx context.Context, io planIO, diags *diag.Diagnostics) {
	if io.plan.PolicyID.IsUnknown() || io.plan.TargetType.IsUnknown() {
		return
	}
	next := io.plan.binding(io.targets, nil, nil)
	if io.prior == nil {
		if io.known {
			diags.Append(setReplacement(ctx, io.private, &next)...)
		}
		if r.client == nil || io.plan.Exclusive.IsUnknown() {
			return
		}
		renderPlanned(binding.Plan(ctx, r.client, nil, next, io.known), next, io.known, diags, io.setIDUnknown)
		return
	}
	state, ids := io.prior(diags)
	priv, d := getBindingPrivate(ctx, io.private)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	prior := state.binding(ids, priv.unsure, priv.outside)
	if io.plan.Exclusive.IsUnknown() || r.client == nil {
		// Not known to become exclusive, or no client to list with: plan
		// no switch, only what the state and private state tell.
		next.Exclusive = next.Exclusive && prior.Exclusive
	}
	renderPlanned(binding.Plan(ctx, r.client, &prior, next, io.known), next, io.known, diags, io.setIDUnknown)
}

// renderPlanned turns what binding.Plan found into warnings, and has the
// planned id made unknown when the apply must run for what the plan hides.
func renderPlanned(p binding.Planned, next binding.Binding, known bool, diags *diag.Diagnostics, setIDUnknown func()) {
	if p.PolicyGone {
		diags.AddAttributeWarning(path.Root("policy_id"), policyNotFoundSummary, policyNotFoundDetail(next.PolicyID))
	}
	if p.ListErr != nil {
		diags.AddWarning("Unable to Check the Targets Bound to Device Policy",
			fmt.Sprintf("The plan cannot tell which %s targets of device policy %s this exclusive binding would unbind: listing them failed: %s", next.TargetType, next.PolicyID, p.ListErr))
	}
	if len(p.Unbinds) > 0 {
		diags.AddAttributeWarning(path.Root("targets"), takeoverSummary, takeoverDetail(p, next, known))
	}
	if len(p.Leaving) > 0 {
		diags.AddAttributeWarning(path.Root("targets"), "Targets Possibly Bound Will Be Unbound",
			fmt.Sprintf("An earlier apply may have bound %d %s target(s) that the state does not record (a bind call and the listing after it failed): %s. "+
				"The configuration no longer lists them, so this apply unbinds them (unbinding a target that is not bound changes nothing). "+
				"A plan with refresh would have listed what is really bound.", len(p.Leaving), next.TargetType, firstFew(p.Leaving)))
		// The plan shows an update (the id is recomputed), so that the
		// apply runs.
		setIDUnknown()
	}
}

const takeoverSummary = "Exclusive Binding Unbinds Targets Bound Outside It"

// takeoverDetail names the targets bound outside an exclusive binding that
// the apply unbinds, says why, and how to keep them.
func takeoverDetail(p binding.Planned, next binding.Binding, known bool) string {
	var b strings.Builder
	n, ids := len(p.Unbinds), firstFew(p.Unbinds)
	switch {
	case p.Takeover == binding.TakeoverOutside && known:
		fmt.Fprintf(&b, "Device policy %s has %d %s target(s) bound outside this binding since its last apply, which it does not list: %s. This apply unbinds them; they lose the policy. "+
			"If another binding, in this or another configuration, binds them with exclusive = false, the two fight over them: each apply of one undoes the other, and every plan of this binding warns again.",
			next.PolicyID, n, next.TargetType, ids)
	case p.Takeover == binding.TakeoverOutside:
		fmt.Fprintf(&b, "Device policy %s has %d %s target(s) bound outside this binding since its last apply (%s). This apply unbinds every one of them that targets (known only after apply) does not list; those targets lose the policy.",
			next.PolicyID, n, next.TargetType, ids)
	case known:
		fmt.Fprintf(&b, "Device policy %s has %d %s target(s) bound that this binding does not list: %s. %s unbinds them; they lose the policy.",
			next.PolicyID, n, next.TargetType, ids, takeoverAction(p.Takeover))
	default:
		fmt.Fprintf(&b, "Device policy %s has %d %s target(s) bound now (%s). %s unbinds every one of them that targets (known only after apply) does not list; those targets lose the policy.",
			next.PolicyID, n, next.TargetType, ids, takeoverAction(p.Takeover))
	}
	b.WriteString(" The binding is exclusive (exclusive = true): it owns every target of its type bound to the policy. " +
		"To keep them bound, list them in targets, or set exclusive = false so that this binding manages only the targets it lists.")
	return b.String()
}

func takeoverAction(t binding.Takeover) string {
	if t == binding.TakeoverSwitch {
		return "Switching this binding to exclusive"
	}
	return "Creating this binding"
}

const policyNotFoundSummary = "Device Policy Not Found"

func policyNotFoundDetail(policyID string) string {
	return fmt.Sprintf("Device policy %s does not exist (any more), so this binding cannot be created: the apply will fail. "+
		"A policy deleted or destroyed elsewhere (for example by another configuration) takes all of its bindings with it. "+
		"Create the policy again first (apply the configuration that manages it), point policy_id at an existing policy, or remove this binding.", policyID)
}

// firstFew names up to five ids and says how many more there are.
func firstFew(ids []string) string {
	const n = 5
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}
