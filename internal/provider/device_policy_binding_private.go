package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/binding"
)

// Private state keys of a binding. unsure lists the targets a failed bind
// call may have bound that no listing could confirm; outside, the targets
// of an exclusive binding that a refresh found bound outside it (see
// binding.Binding); replacement is set only in the plan of a create and is
// the binding the create makes (see Delete).
const (
	privateUnsure      = "unsure_targets"
	privateOutside     = "outside_targets"
	privateReplacement = "replacement"
)

// privateState is the part of the framework's private state the binding
// uses.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// bindingPrivate is what a binding keeps in private state.
type bindingPrivate struct {
	unsure, outside []string
	replacement     *binding.Binding
}

// replacement is the stored form of a planned create.
type replacement struct {
	PolicyID   string   `json:"policy_id"`
	TargetType string   `json:"target_type"`
	Targets    []string `json:"targets"`
}

// priorBinding reads what a state records (see readBinding), the
// binding's private state, and the binding they describe together. The
// binding is the zero one when diags holds an error.
func priorBinding(ctx context.Context, state tfsdk.State, p privateState, diags *diag.Diagnostics) (devicePolicyBindingModel, rawTargets, bindingPrivate, binding.Binding) {
	m, targets, d := readBinding(ctx, state.Raw)
	diags.Append(d...)
	priv, d := getBindingPrivate(ctx, p)
	diags.Append(d...)
	if diags.HasError() {
		return m, targets, priv, binding.Binding{}
	}
	return m, targets, priv, m.binding(targets.ids, priv.unsure, priv.outside)
}

func getBindingPrivate(ctx context.Context, p privateState) (bindingPrivate, diag.Diagnostics) {
	var (
		out   bindingPrivate
		next  replacement
		diags diag.Diagnostics
	)
	diags.Append(getPrivate(ctx, p, privateUnsure, &out.unsure)...)
	diags.Append(getPrivate(ctx, p, privateOutside, &out.outside)...)
	diags.Append(getPrivate(ctx, p, privateReplacement, &next)...)
	if next.PolicyID != "" {
		out.replacement = &binding.Binding{PolicyID: next.PolicyID, TargetType: next.TargetType, Targets: next.Targets}
	}
	return out, diags
}

// setBindingPrivate records the unsure and outside targets, clearing the
// keys that have none.
func setBindingPrivate(ctx context.Context, p privateState, unsure, outside []string) diag.Diagnostics {
	diags := setPrivateIDs(ctx, p, privateUnsure, unsure)
	diags.Append(setPrivateIDs(ctx, p, privateOutside, outside)...)
	return diags
}

// setReplacement records what a planned create binds; nil clears it.
func setReplacement(ctx context.Context, p privateState, next *binding.Binding) diag.Diagnostics {
	if next == nil {
		return clearPrivate(ctx, p, privateReplacement)
	}
	data, _ := json.Marshal(replacement{PolicyID: next.PolicyID, TargetType: next.TargetType, Targets: next.Targets})
	return p.SetKey(ctx, privateReplacement, data)
}

func setPrivateIDs(ctx context.Context, p privateState, key string, ids []string) diag.Diagnostics {
	if len(ids) == 0 {
		return clearPrivate(ctx, p, key)
	}
	data, _ := json.Marshal(ids)
	return p.SetKey(ctx, key, data)
}

// clearPrivate removes a key if it is set.
func clearPrivate(ctx context.Context, p privateState, key string) diag.Diagnostics {
	if data, diags := p.GetKey(ctx, key); diags.HasError() || len(data) == 0 {
		return diags
	}
	return p.SetKey(ctx, key, nil)
}

func getPrivate(ctx context.Context, p privateState, key string, v any) diag.Diagnostics {
	if p == nil {
		return nil
	}
	data, diags := p.GetKey(ctx, key)
	if diags.HasError() || len(data) == 0 {
		return diags
	}
	if err := json.Unmarshal(data, v); err != nil {
		diags.AddError("Invalid Private State", fmt.Sprintf("The private state %q of the binding is not what this provider writes: %s. This is a bug in the provider; please report it.", key, err))
	}
	return diags
}
