package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// largeStringSetType is a set of strings that stays fast with thousands of
// elements. The framework's own set compares every element with every other
// to find duplicates and to decide semantic equality; with 5,000 target ids
// that is tens of millions of comparisons per plan. This type does both with
// a hash set, and behaves like types.Set of types.String otherwise.
type largeStringSetType struct {
	basetypes.SetType
}

var (
	_ basetypes.SetTypable                    = largeStringSetType{}
	_ basetypes.SetValuableWithSemanticEquals = largeStringSetValue{}
)

func newLargeStringSetType() largeStringSetType {
	return largeStringSetType{SetType: basetypes.SetType{ElemType: types.StringType}}
}

func (t largeStringSetType) Equal(o attr.Type) bool {
	other, ok := o.(largeStringSetType)
	return ok && t.SetType.Equal(other.SetType)
}

func (t largeStringSetType) String() string {
	return "largeStringSetType"
}

func (t largeStringSetType) ValueFromSet(_ context.Context, in basetypes.SetValue) (basetypes.SetValuable, diag.Diagnostics) {
	return largeStringSetValue{SetValue: in}, nil
}

func (t largeStringSetType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.SetType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	set, ok := v.(basetypes.SetValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return largeStringSetValue{SetValue: set}, nil
}

func (t largeStringSetType) ValueType(context.Context) attr.Value {
	return largeStringSetValue{}
}

// Validate rejects duplicate elements, as the framework's set does, in
// linear time. It overrides basetypes.SetType.Validate, the framework's
// xattr.TypeWithValidate hook, which is deprecated (in favour of
// xattr.ValidateableAttribute on values) but is still the hook the
// framework's own set uses for its quadratic duplicate check: without this
// override the embedded SetType would run that check on every plan. At
// every framework upgrade, check that the set type still validates through
// this hook; if it moves to the value, override it there instead.
func (t largeStringSetType) Validate(_ context.Context, in tftypes.Value, p path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	if in.Type() == nil || !in.IsKnown() || in.IsNull() {
		return diags
	}
	var elems []tftypes.Value
	if err := in.As(&elems); err != nil {
		diags.AddAttributeError(p, "Set Type Validation Error", "The value is not a set of strings: "+err.Error())
		return diags
	}
	seen := make(map[string]bool, len(elems))
	for _, e := range elems {
		if !e.IsFullyKnown() || e.IsNull() {
			continue
		}
		var s string
		if err := e.As(&s); err != nil {
			diags.AddAttributeError(p, "Set Type Validation Error", "The value is not a set of strings: "+err.Error())
			return diags
		}
		if seen[s] {
			diags.AddAttributeError(p.AtSetValue(types.StringValue(s)), "Duplicate Set Element",
				fmt.Sprintf("This set contains %q more than once.", s))
			return diags
		}
		seen[s] = true
	}
	return diags
}

// largeStringSetValue is a value of largeStringSetType.
type largeStringSetValue struct {
	basetypes.SetValue
}

func (v largeStringSetValue) Type(context.Context) attr.Type {
	return newLargeStringSetType()
}

// Equal compares known sets with a hash set; the embedded SetValue.Equal
// compares every element with every other.
func (v largeStringSetValue) Equal(o attr.Value) bool {
	other, ok := o.(largeStringSetValue)
	if !ok {
		return false
	}
	if v.IsNull() || v.IsUnknown() || other.IsNull() || other.IsUnknown() {
		return v.SetValue.Equal(other.SetValue)
	}
	return sameStrings(v.Elements(), other.Elements())
}

// SetSemanticEquals reports whether both sets hold the same strings.
func (v largeStringSetValue) SetSemanticEquals(_ context.Context, prior basetypes.SetValuable) (bool, diag.Diagnostics) {
	other, ok := prior.(largeStringSetValue)
	return ok && sameStrings(v.Elements(), other.Elements()), nil
}

// sameStrings reports whether two sets of known strings are equal.
func sameStrings(a, b []attr.Value) bool {
	if len(a) != len(b) {
		return false
	}
	have := make(map[string]bool, len(a))
	for _, e := range a {
		s, ok := e.(basetypes.StringValue)
		if !ok || s.IsUnknown() || s.IsNull() {
			return false
		}
		have[s.ValueString()] = true
	}
	for _, e := range b {
		s, ok := e.(basetypes.StringValue)
		if !ok || s.IsUnknown() || s.IsNull() || !have[s.ValueString()] {
			return false
		}
	}
	return true
}
