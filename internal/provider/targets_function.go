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
		Parameters: []function.Parameter{
			function.ListParameter{
				Name:                "ids",
				ElementType:         types.StringType,
				MarkdownDescription: "The target ids: a list, or a set (a set converts to a list), e.g. a variable, a data source's ids, or a `for` expression.",
			},
		},
		Return: function.MapReturn{ElementType: types.StringType},
	}
}

func (f *targetsFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var ids []types.String
	resp.Error = req.Arguments.Get(ctx, &ids)
	if resp.Error != nil {
		return
	}
	out, err := targetsMap(ids)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	resp.Error = resp.Result.Set(ctx, out)
}

// targetsMap keys the ids, refusing nulls and duplicates by their index.
func targetsMap(ids []types.String) (types.Map, error) {
	elems := make(map[string]attr.Value, len(ids))
	first := make(map[string]int, len(ids))
	for i, id := range ids {
		if id.IsNull() {
			return types.Map{}, fmt.Errorf("ids[%d] is null: every target id must be a string", i)
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
