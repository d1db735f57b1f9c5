package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
// or take away access compared with its current statements, with examples;
// nothing when access is unchanged (a reordering, a rename).
func accessChangeWarning(state devicePolicyModel, prior, planned []iotda.Statement, diags *diag.Diagnostics) {
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
	b.WriteString("\nprovider::iotda::compare(old_statements, new_statements) gives the whole comparison, for a check block or a terraform test.")
	diags.AddAttributeWarning(path.Root("statement"), summary, b.String())
}

// listChanges writes up to limit changes as list items, then how many more.
func listChanges(b *strings.Builder, changes []policyeval.Change, side string, limit int) {
	for i, c := range changes {
		if i == limit {
			fmt.Fprintf(b, "  - and %d more\n", len(changes)-limit)
			break
		}
		verb := "publish to"
		if c.Action == policyeval.ActionSubscribe {
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

// warnTargetsLoseIt warns, with one listing of the policy's targets, how
// many targets of each type lose the policy when it is destroyed or
// replaced: IoTDA unbinds every target of a deleted policy.
func (r *devicePolicyResource) warnTargetsLoseIt(ctx context.Context, state tfsdk.State, replace bool, diags *diag.Diagnostics) {
	var id, name types.String
	if r.client == nil || state.GetAttribute(ctx, path.Root("id"), &id).HasError() || state.GetAttribute(ctx, path.Root("policy_name"), &name).HasError() ||
		id.ValueString() == "" {
		return
	}
	targets, err := r.client.ListTargets(ctx, id.ValueString(), "")
	if errors.Is(err, iotda.ErrNotFound) {
		return
	}
	if err != nil {
		diags.AddWarning("Unable to Count Targets of Device Policy",
			fmt.Sprintf("Listing the targets of device policy %s (%q), to show which of them lose it, failed: %s. The plan goes on without the count.", id.ValueString(), name.ValueString(), err))
		return
	}
	if len(targets) == 0 {
		return
	}
	summary, verb := "Destroying Device Policy Unbinds Targets", "Destroying"
	if replace {
		summary, verb = "Replacing Device Policy Unbinds Targets", "Replacing"
	}
	lose := "lose"
	if len(targets) == 1 {
		lose = "loses"
	}
	after := "They stay unbound, whatever bound them (an iotda_device_policy_binding, the console, another configuration)."
	if len(targets) == 1 {
		after = "It stays unbound, whatever bound it (an iotda_device_policy_binding, the console, another configuration)."
	}
	if replace {
		after = "An iotda_device_policy_binding whose policy_id refers to this policy is replaced with it and binds its targets to the new policy (its own plan lists them); " +
			"targets bound any other way (the console, another configuration, a policy_id written as a literal id) stay unbound."
	}
	diags.AddWarning(summary, fmt.Sprintf("%s device policy %s (%q) deletes it, and IoTDA unbinds every target of a deleted policy: %s %s the access it grants. %s",
		verb, id.ValueString(), name.ValueString(), describeTargets(targets), lose, after))
}

// describeTargets counts targets by type, naming the first few of each, as
// in `2 devices ("d1", "d2") and 1 product ("p1")`, in id order.
func describeTargets(targets []iotda.Target) string {
	const shown = 3
	var parts []string
	for _, kind := range []struct{ targetType, one, many string }{
		{iotda.TargetTypeDevice, "device", "devices"},
		{iotda.TargetTypeProduct, "product", "products"},
		{iotda.TargetTypeApp, "resource space", "resource spaces"},
	} {
		var ids []string
		for _, t := range targets {
			if t.TargetType == kind.targetType {
				ids = append(ids, fmt.Sprintf("%q", t.TargetID))
			}
		}
		if len(ids) == 0 {
			continue
		}
		slices.Sort(ids)
		noun := kind.many
		if len(ids) == 1 {
			noun = kind.one
		}
		listed := strings.Join(ids[:min(len(ids), shown)], ", ")
		if len(ids) > shown {
			listed += ", ..."
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", len(ids), noun, listed))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
