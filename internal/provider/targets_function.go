package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ function.Function = (*targetsFunction)(nil)

// NewTargetsFunction returns the provider::iotda::targets function.
func NewTargetsFunction() function.Function {
	return &targetsFunction{}
}

type targetsFunction struct{}

func (f *targetsFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "targets"
}

func (f *targetsFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Turn a list of target ids into the targets map of a binding",
		MarkdownDescription: "Returns a map with one key per id of the list and an empty string as every value: the form the `targets` attribute of " +
			"`iotda_device_policy_binding` takes. An id that appears twice is an error naming it, so a duplicate never passes unnoticed. " +
			"It is the same as `{ for id in ids : id => \"\" }`, which also fails on a duplicate.",
		// Dynamic rather than a list of strings: the CLI converts a tuple
		// argument (what `[for ...]` and literal lists are) to a list by
		// sorting its element types, which at 10,000 ids costs it seconds
		// per evaluation. The function checks the type itself.
		Parameters: []function.Parameter{
			function.DynamicParameter{
				Name:                "ids",
				MarkdownDescription: "The target ids: a list, set or tuple of strings, e.g. a variable, a data source's ids, a literal list or a `for` expression.",
			},
		},
		Return: function.MapReturn{ElementType: types.StringType},
	}
}

func (f *targetsFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var arg types.Dynamic
	resp.Error = req.Arguments.Get(ctx, &arg)
	if resp.Error != nil {
		return
	}
	var elems []attr.Value
	switch v := arg.UnderlyingValue().(type) {
	case types.List:
		elems = v.Elements()
	case types.Set:
		elems = v.Elements()
	case types.Tuple:
		elems = v.Elements()
	default:
		resp.Error = function.NewArgumentFuncError(0, fmt.Sprintf("ids must be a list, set or tuple of strings, not %s", kindOf(arg.UnderlyingValue())))
		return
	}
	out, err := targetsMap(elems)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	// The map is of the declared return type already: Result.Set would
	// convert it to Terraform's types and back, per id.
	resp.Result = function.NewResultData(out)
}

// targetsMap keys the ids, refusing anything but strings, and duplicates,
// by their index.
func targetsMap(ids []attr.Value) (types.Map, error) {
	elems := make(map[string]attr.Value, len(ids))
	first := make(map[string]int, len(ids))
	for i, v := range ids {
		id, ok := v.(types.String)
		if !ok || id.IsNull() {
			return types.Map{}, fmt.Errorf("ids[%d] is %s: every target id must be a string", i, kindOf(v))
		}
		s := id.ValueString()
		if j, dup := first[s]; dup {
			return types.Map{}, fmt.Errorf("ids[%d] %q repeats ids[%d]: each target can be bound once; remove the duplicate (distinct() removes them all)", i, s, j)
		}
		first[s] = i
		elems[s] = types.StringValue("")
	}
	return types.MapValueMust(types.StringType, elems), nil
}

// kindOf names the kind of a value for an error message.
func kindOf(v attr.Value) string {
	if v == nil || v.IsNull() {
		return "null"
	}
	switch v.(type) {
	case types.String:
		return "a string"
	case types.Number, types.Int64, types.Float64:
		return "a number"
	case types.Bool:
		return "a bool"
	case types.Map, types.Object:
		return "a map or object"
	}
	return "a collection"
}
