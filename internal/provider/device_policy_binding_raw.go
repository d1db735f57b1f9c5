package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The binding reads its plan and state, and writes its state, through the
// raw values the framework holds (tftypes) rather than its model's
// types.Map: turning a targets map of 100,000 ids into framework values
// and back allocates a value per target each way, and every new map value
// sorts its keys again, while the binding needs only the sorted keys in
// and, most often, the very map it read back out (a refresh that found no
// change, an apply that did what its plan said). The CPU and heap profiles
// of `make bench` at 100,000 targets showed these conversions above the
// calls to the API.

// rawTargets is the targets map of a plan or state: its raw value and its
// keys, sorted.
type rawTargets struct {
	value tftypes.Value
	ids   []string
}

// known reports whether the targets are known: not unknown, and not null.
func (t rawTargets) known() bool {
	return t.value.IsKnown() && !t.value.IsNull()
}

// readBinding reads a plan or state of the binding: its scalar attributes
// into a model (whose Targets it leaves unset) and its targets map.
func readBinding(ctx context.Context, raw tftypes.Value) (devicePolicyBindingModel, rawTargets, diag.Diagnostics) {
	var (
		m     devicePolicyBindingModel
		t     rawTargets
		diags diag.Diagnostics
		attrs map[string]tftypes.Value
	)
	fail := func(err error) (devicePolicyBindingModel, rawTargets, diag.Diagnostics) {
		diags.AddError("Unable to Read Device Policy Binding Data",
			"The plan or state of the binding is not what its schema says: "+err.Error()+". This is a bug in the provider; please report it.")
		return m, t, diags
	}
	if err := raw.As(&attrs); err != nil {
		return fail(err)
	}
	str := func(name string) (types.String, error) {
		v, err := types.StringType.ValueFromTerraform(ctx, attrs[name])
		if err != nil {
			return types.String{}, err
		}
		s, ok := v.(types.String)
		if !ok {
			return types.String{}, fmt.Errorf("%s is not a string", name)
		}
		return s, nil
	}
	var err error
	if m.ID, err = str("id"); err != nil {
		return fail(err)
	}
	if m.PolicyID, err = str("policy_id"); err != nil {
		return fail(err)
	}
	if m.TargetType, err = str("target_type"); err != nil {
		return fail(err)
	}
	exclusive, err := types.BoolType.ValueFromTerraform(ctx, attrs["exclusive"])
	if err != nil {
		return fail(err)
	}
	var ok bool
	if m.Exclusive, ok = exclusive.(types.Bool); !ok {
		return fail(fmt.Errorf("exclusive is not a bool"))
	}
	t.value = attrs["targets"]
	if t.known() {
		var elems map[string]tftypes.Value
		if err := t.value.As(&elems); err != nil {
			return fail(err)
		}
		t.ids = slices.Sorted(maps.Keys(elems))
	}
	return m, t, diags
}

// bindingState is the raw state of model m with the targets ids: the
// targets map of prev when it holds exactly those ids (it is then not
// built again), else a new one.
func bindingState(ctx context.Context, typ tftypes.Type, m devicePolicyBindingModel, ids []string, prev rawTargets) (tftypes.Value, error) {
	targets := prev.value
	if !prev.known() || !sameIDs(ids, prev.ids) {
		elems := make(map[string]tftypes.Value, len(ids))
		empty := tftypes.NewValue(tftypes.String, "")
		for _, id := range ids {
			elems[id] = empty
		}
		targets = tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, elems)
	}
	attrs := map[string]tftypes.Value{"targets": targets}
	for name, v := range map[string]attr.Value{"id": m.ID, "policy_id": m.PolicyID, "target_type": m.TargetType, "exclusive": m.Exclusive} {
		tv, err := v.ToTerraformValue(ctx)
		if err != nil {
			return tftypes.Value{}, err
		}
		attrs[name] = tv
	}
	if err := tftypes.ValidateValue(typ, attrs); err != nil {
		return tftypes.Value{}, err
	}
	return tftypes.NewValue(typ, attrs), nil
}

// setBindingState writes into state the state of model m with the
// targets ids, reusing prev's map when it holds the same ids.
func setBindingState(ctx context.Context, state *tfsdk.State, m devicePolicyBindingModel, ids []string, prev rawTargets) diag.Diagnostics {
	var diags diag.Diagnostics
	raw, err := bindingState(ctx, state.Schema.Type().TerraformType(ctx), m, ids, prev)
	if err != nil {
		diags.AddError("Unable to Write Device Policy Binding State", "Building the state failed: "+err.Error()+". This is a bug in the provider; please report it.")
		return diags
	}
	state.Raw = raw
	return diags
}

// sameIDs reports whether ids (in any order, without duplicates) are
// exactly the sorted ids of have.
func sameIDs(ids, have []string) bool {
	if len(ids) != len(have) {
		return false
	}
	if slices.IsSorted(ids) {
		return slices.Equal(ids, have)
	}
	return slices.Equal(slices.Sorted(slices.Values(ids)), have)
}

// frameworkWriters are the setState and setIdentity of createIO and
// updateIO for the framework's Create and Update: they write the
// response's state (targets are the plan's, see setBindingState) and
// identity, adding their errors to diags.
func frameworkWriters(ctx context.Context, state *tfsdk.State, identity *tfsdk.ResourceIdentity, targets rawTargets,
	diags *diag.Diagnostics) (setState func(devicePolicyBindingModel, []string), setIdentity func(policyID, targetType string)) {
	setState = func(m devicePolicyBindingModel, ids []string) {
		diags.Append(setBindingState(ctx, state, m, ids, targets)...)
	}
	setIdentity = func(policyID, targetType string) {
		setBindingIdentity(ctx, identity, policyID, targetType, diags)
	}
	return setState, setIdentity
}
