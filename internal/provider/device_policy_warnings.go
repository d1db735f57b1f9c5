package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// How many examples the access-change warning shows of each kind.
const (
	maxWidenedExamples  = 5
	maxNarrowedExamples = 2
)

// accessChangeWarning warns when the planned statements of a policy grant
// or take away access compared with its current statements, with examples
// and the targets the policy is bound to (from bound, asked only then, so an
// unchanged or reordered policy costs no call; it reports false when they
// are unknown); nothing when access is unchanged (a reordering, a rename).
func accessChangeWarning(state devicePolicyModel, prior, planned []iotda.Statement, bound func() (iotda.TargetCount, bool), diags *diag.Diagnostics) {
	diff, err := policyeval.Compare(toEvalStatements(prior), toEvalStatements(planned))
	if err != nil || diff.NoNewAccess() && diff.NoLostAccess() {
		return
	}
	policy := fmt.Sprintf("device policy %s (%q)", state.ID.ValueString(), state.PolicyName.ValueString())
	var b strings.Builder
	summary := "Device Policy Change Widens Access"
	if diff.NoNewAccess() {
		summary = "Device Policy Change Narrows Access"
		fmt.Fprintf(&b, "This change takes access away from the devices bound to %s:\n", policy)
		listChanges(&b, diff.Narrowed, "current", maxWidenedExamples)
		listUndecided(&b, diff.UndecidedNarrowed, "current", "takes access away")
	} else {
		fmt.Fprintf(&b, "This change lets the devices bound to %s publish or subscribe to topics they could not before:\n", policy)
		listChanges(&b, diff.Widened, "planned", maxWidenedExamples)
		listUndecided(&b, diff.UndecidedWidened, "planned", "grants new access")
		if len(diff.Narrowed) > 0 {
			b.WriteString("\nIt also takes access away:\n")
			listChanges(&b, diff.Narrowed, "current", maxNarrowedExamples)
		}
		listUndecided(&b, diff.UndecidedNarrowed, "current", "takes access away")
	}
	if count, ok := bound(); ok {
		b.WriteString("\n" + blastRadius(count) + "\n")
	}
	b.WriteString("\nprovider::iotda::compare(old_statements, new_statements) gives the whole comparison, for a check block or a terraform test.")
	diags.AddAttributeWarning(path.Root("statement"), summary, b.String())
}

// blastRadius says which targets a change of the policy's access reaches.
// The policy's ModifyPlan sees only its own configuration, so bindings that
// the same plan adds or removes are not counted; iotda-policy counts them
// from the saved plan.
func blastRadius(count iotda.TargetCount) string {
	if count.Total() == 0 {
		return "No device, product or resource space is bound to the policy now, so the change reaches no device until one is."
	}
	return fmt.Sprintf("The change reaches the targets bound to the policy now: %s (bindings that this plan adds or removes are not counted here; iotda-policy review counts them from the saved plan).", describeTargets(count))
}

// listChanges writes up to limit changes as list items, then how many more.
func listChanges(b *strings.Builder, changes []policyeval.Change, side string, limit int) {
	for i, c := range changes {
		if i == limit {
			fmt.Fprintf(b, "  - and %d more\n", len(changes)-limit)
			break
		}
		verb := "publish to"
		if c.Action == iotda.ActionSubscribe {
			verb = "subscribe to"
		}
		fmt.Fprintf(b, "  - %s %q %s (statement[%d] of the %s policy, resource %q)\n", verb, c.Topic, forIdentity(c.Identity), c.Statement, side, c.Resource)
	}
}

// listUndecided writes the resources whose comparison was not decided,
// each with the reason.
func listUndecided(b *strings.Builder, us []policyeval.Undecided, side, what string) {
	for _, u := range us {
		fmt.Fprintf(b, "  - undecided: whether resource %q of statement[%d] of the %s policy %s for %s: %s; check it with provider::iotda::evaluate\n",
			u.Resource, u.Statement, side, what, u.Action, u.Reason)
	}
}

// forIdentity says which devices an example holds for.
func forIdentity(id policyeval.Identity) string {
	var parts []string
	for _, kv := range [][2]string{{"device_id", id.DeviceID}, {"product_id", id.ProductID}, {"client_id", id.ClientID}} {
		if kv[1] != "" {
			parts = append(parts, fmt.Sprintf("%s %q", kv[0], kv[1]))
		}
	}
	if len(parts) == 0 {
		return "for every device"
	}
	return "for a device with " + strings.Join(parts, ", ")
}

// warnTargetsLoseIt warns how many targets of each type lose the policy
// when it is destroyed or replaced: IoTDA unbinds every target of a deleted
// policy.
func (r *devicePolicyResource) warnTargetsLoseIt(ctx context.Context, state tfsdk.State, replace bool, diags *diag.Diagnostics) {
	var id, name types.String
	if state.GetAttribute(ctx, path.Root("id"), &id).HasError() || state.GetAttribute(ctx, path.Root("policy_name"), &name).HasError() {
		return
	}
	count, ok := r.countTargets(ctx, id.ValueString(), name.ValueString(), diags)
	if !ok || count.Total() == 0 {
		return
	}
	summary, verb := "Destroying Device Policy Unbinds Targets", "Destroying"
	if replace {
		summary, verb = "Replacing Device Policy Unbinds Targets", "Replacing"
	}
	lose := "lose"
	after := "They stay unbound, whatever bound them (an iotda_device_policy_binding, the console, another configuration)."
	if count.Total() == 1 {
		lose = "loses"
		after = "It stays unbound, whatever bound it (an iotda_device_policy_binding, the console, another configuration)."
	}
	if replace {
		after = "An iotda_device_policy_binding whose policy_id refers to this policy is replaced with it and binds its targets to the new policy (its own plan lists them); " +
			"targets bound any other way (the console, another configuration, a policy_id written as a literal id) stay unbound."
	}
	diags.AddWarning(summary, fmt.Sprintf("%s device policy %s (%q) deletes it, and IoTDA unbinds every target of a deleted policy: %s %s the access it grants. %s",
		verb, id.ValueString(), name.ValueString(), describeTargets(count), lose, after))
}

// countTargets counts the targets bound to the policy, whatever their
// number, with the few calls of iotda.Client.CountTargets. It reports false
// when there is nothing to count (no client, no id, the policy is gone) or
// the listing failed, which it turns into a warning: the plan goes on.
func (r *devicePolicyResource) countTargets(ctx context.Context, id, name string, diags *diag.Diagnostics) (iotda.TargetCount, bool) {
	if r.client == nil || id == "" {
		return iotda.TargetCount{}, false
	}
	count, err := r.client.CountTargets(ctx, id, shownTargets)
	if errors.Is(err, iotda.ErrNotFound) {
		return iotda.TargetCount{}, false
	}
	if err != nil {
		diags.AddWarning("Unable to Count Targets of Device Policy",
			fmt.Sprintf("Listing the targets of device policy %s (%q), to count the devices, products and resource spaces the change reaches, failed: %s. The plan goes on without the count.", id, name, err))
		return iotda.TargetCount{}, false
	}
	return count, true
}

// shownTargets is how many ids of each target type a warning names.
const shownTargets = 3

// describeTargets counts targets by type, naming the first few of each, as
// in `2 devices ("d1", "d2") and 1 product ("p1")`, in id order.
func describeTargets(count iotda.TargetCount) string {
	var parts []string
	for _, kind := range []struct{ targetType, one, many string }{
		{iotda.TargetTypeDevice, "device", "devices"},
		{iotda.TargetTypeProduct, "product", "products"},
		{iotda.TargetTypeApp, "resource space", "resource spaces"},
	} {
		n := count.ByType[kind.targetType]
		if n == 0 {
			continue
		}
		noun := kind.many
		if n == 1 {
			noun = kind.one
		}
		examples := count.Examples[kind.targetType]
		ids := make([]string, 0, shownTargets)
		for _, id := range examples[:min(len(examples), shownTargets)] {
			ids = append(ids, fmt.Sprintf("%q", id))
		}
		listed := strings.Join(ids, ", ")
		if n > int64(len(ids)) {
			listed += ", ..."
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", n, noun, listed))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
