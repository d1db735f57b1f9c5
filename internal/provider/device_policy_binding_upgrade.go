package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// UpgradeState turns the target_ids set of schema version 0 into the
// targets map of version 1.
func (r *devicePolicyBindingResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		0: {
			PriorSchema: &schema.Schema{
				Attributes: map[string]schema.Attribute{
					"id":          schema.StringAttribute{Computed: true},
					"policy_id":   schema.StringAttribute{Required: true},
					"target_type": schema.StringAttribute{Required: true},
					"target_ids":  schema.SetAttribute{ElementType: types.StringType, Required: true},
				},
			},
			StateUpgrader: upgradeBindingStateV0,
		},
	}
}

// upgradeBindingStateV0 reads the prior state from its raw value: going
// through the framework's types.Set would check every element against
// every other for duplicates, seconds at 5,000 ids, while a state cannot
// hold duplicates anyway.
func upgradeBindingStateV0(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
	var attrs map[string]tftypes.Value
	if err := req.State.Raw.As(&attrs); err != nil {
		resp.Diagnostics.AddError("Unable to Upgrade Device Policy Binding State", "The schema version 0 state is not an object: "+err.Error())
		return
	}
	text := func(name string) types.String {
		var s *string
		if err := attrs[name].As(&s); err != nil || s == nil {
			return types.StringNull()
		}
		return types.StringValue(*s)
	}
	targets := types.MapNull(types.StringType)
	if v := attrs["target_ids"]; !v.IsNull() {
		var elems []tftypes.Value
		if err := v.As(&elems); err != nil {
			resp.Diagnostics.AddError("Unable to Upgrade Device Policy Binding State", "target_ids is not a set: "+err.Error())
			return
		}
		ids := make([]string, 0, len(elems))
		for _, e := range elems {
			var id string
			if err := e.As(&id); err != nil {
				resp.Diagnostics.AddError("Unable to Upgrade Device Policy Binding State", "target_ids holds a value that is not a string: "+err.Error())
				return
			}
			ids = append(ids, id)
		}
		targets = targetsValue(ids)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, devicePolicyBindingModel{
		ID:         text("id"),
		PolicyID:   text("policy_id"),
		TargetType: text("target_type"),
		Exclusive:  types.BoolValue(true),
		Targets:    targets,
	})...)
}
