package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestLargeStringSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ab, ba, abc := largeStringSet([]string{"a", "b"}), largeStringSet([]string{"b", "a"}), largeStringSet([]string{"a", "b", "c"})
	ac := largeStringSet([]string{"a", "c"})
	null := largeStringSetValue{SetValue: types.SetNull(types.StringType)}
	for name, tc := range map[string]struct {
		a, b largeStringSetValue
		want bool
	}{
		"same order":      {ab, ab, true},
		"other order":     {ab, ba, true},
		"other size":      {ab, abc, false},
		"other element":   {ab, ac, false},
		"null and known":  {null, ab, false},
		"null and null":   {null, null, true},
		"empty and empty": {largeStringSet(nil), largeStringSet([]string{}), true},
	} {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("%s: Equal = %v, want %v", name, got, tc.want)
		}
		if tc.a.IsNull() || tc.b.IsNull() {
			continue
		}
		if got, _ := tc.a.SetSemanticEquals(ctx, tc.b); got != tc.want {
			t.Errorf("%s: SetSemanticEquals = %v, want %v", name, got, tc.want)
		}
	}

	typ := newLargeStringSetType()
	setOf := func(values ...string) tftypes.Value {
		elems := make([]tftypes.Value, len(values))
		for i, v := range values {
			elems[i] = tftypes.NewValue(tftypes.String, v)
		}
		return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, elems)
	}
	if d := typ.Validate(ctx, setOf("a", "b", "c"), path.Root("target_ids")); d.HasError() {
		t.Errorf("distinct elements rejected: %v", d)
	}
	d := typ.Validate(ctx, setOf("a", "b", "a"), path.Root("target_ids"))
	if !d.HasError() || d[0].Summary() != "Duplicate Set Element" {
		t.Errorf("a duplicate was not rejected: %v", d)
	}
	v, err := typ.ValueFromTerraform(ctx, setOf("x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := v.(largeStringSetValue); !ok || !got.Equal(largeStringSet([]string{"y", "x"})) {
		t.Errorf("ValueFromTerraform = %#v", v)
	}
}

// largeStringSet builds a known largeStringSetValue.
func largeStringSet(values []string) largeStringSetValue {
	return largeStringSetValue{SetValue: stringSet(values)}
}
