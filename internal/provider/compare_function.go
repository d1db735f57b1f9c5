package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

var _ function.Function = (*compareFunction)(nil)

// NewCompareFunction returns the provider::iotda::compare function.
func NewCompareFunction() function.Function {
	return &compareFunction{}
}

type compareFunction struct{}

var changeObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"action":    types.StringType,
	"topic":     types.StringType,
	"identity":  types.MapType{ElemType: types.StringType},
	"statement": types.Int64Type,
	"resource":  types.StringType,
}}

var undecidedObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"direction": types.StringType,
	"action":    types.StringType,
	"statement": types.Int64Type,
	"resource":  types.StringType,
	"reason":    types.StringType,
}}

var compareResultAttrTypes = map[string]attr.Type{
	"widened":        types.ListType{ElemType: changeObjectType},
	"narrowed":       types.ListType{ElemType: changeObjectType},
	"undecided":      types.ListType{ElemType: undecidedObjectType},
	"no_new_access":  types.BoolType,
	"no_lost_access": types.BoolType,
	"equivalent":     types.BoolType,
}

func (f *compareFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "compare"
}

func (f *compareFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Compare what two versions of device policy statements allow",
		MarkdownDescription: "Compares, offline, what two sets of device policy statements let devices do, with the rules of `provider::iotda::evaluate`: " +
			"for each action, the topics the new statements allow that the old did not (`widened`) and those the old allowed that the new do not (`narrowed`), " +
			"each with an example topic and the device identity it holds for.\n\n" +
			"Every example is confirmed by evaluating both sets of statements on it. Without IoTDA variables in the patterns the answer is exact: " +
			"an empty `widened` proves that no device gains any topic. With variables, \"nothing widened\" is only reported when it is proven for every device; " +
			"when neither a proof nor a confirmed example is found, the resource is listed in `undecided` instead of guessed. " +
			fmt.Sprintf("The work is bounded, so that no policy can stall a plan: at most %d search steps in all, %d for one resource, and %s; ", policyeval.MaxWork, policyeval.MaxSearchWork, policyeval.MaxDuration) +
			"a resource whose check reaches a limit is listed in `undecided` with that reason. Statements and resources both sides share are settled without a search, " +
			"and real policies stay far below the limits. " +
			"Topics starting with `$`, which policies do not govern, never differ.\n\n" +
			"Returns an object with:\n\n" +
			"- `widened`: a list of objects with `action` (`iotda:devices:publish` or `iotda:devices:subscribe`), `topic` (an example MQTT topic), " +
			"`identity` (a map with the `device_id`, `product_id` or `client_id` values the example needs; empty when it holds for every device), " +
			"`statement` (the 0-based index, in the new statements, of the ALLOW statement that grants it) and `resource` (that statement's resource); " +
			"at most one example per action and ALLOW resource.\n" +
			"- `narrowed`: the same for access taken away; `statement` indexes the old statements.\n" +
			"- `undecided`: objects with `direction` (`widened` or `narrowed`), `action`, `statement`, `resource` and `reason` (why it could not be decided: it depends on device identities, or a work limit was reached) for the ALLOW resources that could not be decided.\n" +
			"- `no_new_access`: `true` only when it is proven that no device gains access (`widened` and the widened `undecided` entries are empty).\n" +
			"- `no_lost_access`: the same for access taken away.\n" +
			"- `equivalent`: both.",
		Parameters: []function.Parameter{
			function.ListParameter{
				Name:                "old_statements",
				ElementType:         statementObjectType,
				MarkdownDescription: "The statements before the change: a policy's `statement` value (several pooled with `concat()`), or objects with `effect`, `actions` and `resources`. " + statementsArgRule,
			},
			function.ListParameter{
				Name:                "new_statements",
				ElementType:         statementObjectType,
				MarkdownDescription: "The statements after the change, in the same form.",
			},
		},
		Return: function.ObjectReturn{AttributeTypes: compareResultAttrTypes},
	}
}

func (f *compareFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var oldModels, newModels []statementModel
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &oldModels, &newModels))
	if resp.Error != nil {
		return
	}
	oldStmts, ok := expandStatements(ctx, oldModels)
	if !ok {
		resp.Error = function.NewArgumentFuncError(0, "old_statements must be fully known")
		return
	}
	newStmts, ok := expandStatements(ctx, newModels)
	if !ok {
		resp.Error = function.NewArgumentFuncError(1, "new_statements must be fully known")
		return
	}
	if err := checkStatementsArg("old statement", oldStmts); err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	if err := checkStatementsArg("new statement", newStmts); err != nil {
		resp.Error = function.NewArgumentFuncError(1, err.Error())
		return
	}
	diff, err := policyeval.Compare(toEvalStatements(oldStmts), toEvalStatements(newStmts))
	if err != nil {
		resp.Error = function.NewFuncError(err.Error())
		return
	}
	undecided := make([]attr.Value, 0, len(diff.UndecidedWidened)+len(diff.UndecidedNarrowed))
	for _, u := range diff.UndecidedWidened {
		undecided = append(undecided, undecidedValue("widened", u))
	}
	for _, u := range diff.UndecidedNarrowed {
		undecided = append(undecided, undecidedValue("narrowed", u))
	}
	out, diags := types.ObjectValue(compareResultAttrTypes, map[string]attr.Value{
		"widened":        changesValue(diff.Widened),
		"narrowed":       changesValue(diff.Narrowed),
		"undecided":      types.ListValueMust(undecidedObjectType, undecided),
		"no_new_access":  types.BoolValue(diff.NoNewAccess()),
		"no_lost_access": types.BoolValue(diff.NoLostAccess()),
		"equivalent":     types.BoolValue(diff.NoNewAccess() && diff.NoLostAccess()),
	})
	if diags.HasError() {
		resp.Error = function.FuncErrorFromDiags(ctx, diags)
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, out))
}

func changesValue(changes []policyeval.Change) types.List {
	elems := make([]attr.Value, 0, len(changes))
	for _, c := range changes {
		identity := map[string]attr.Value{}
		for key, value := range identityMap(c.Identity) {
			identity[key] = types.StringValue(value)
		}
		elems = append(elems, types.ObjectValueMust(changeObjectType.AttrTypes, map[string]attr.Value{
			"action":    types.StringValue(c.Action),
			"topic":     types.StringValue(c.Topic),
			"identity":  types.MapValueMust(types.StringType, identity),
			"statement": types.Int64Value(int64(c.Statement)),
			"resource":  types.StringValue(c.Resource),
		}))
	}
	return types.ListValueMust(changeObjectType, elems)
}

func undecidedValue(direction string, u policyeval.Undecided) attr.Value {
	return types.ObjectValueMust(undecidedObjectType.AttrTypes, map[string]attr.Value{
		"direction": types.StringValue(direction),
		"action":    types.StringValue(u.Action),
		"statement": types.Int64Value(int64(u.Statement)),
		"resource":  types.StringValue(u.Resource),
		"reason":    types.StringValue(u.Reason),
	})
}

// identityMap returns the identity's given values keyed as the identity
// argument of provider::iotda::evaluate.
func identityMap(id policyeval.Identity) map[string]string {
	out := map[string]string{}
	for key, value := range map[string]string{"device_id": id.DeviceID, "product_id": id.ProductID, "client_id": id.ClientID} {
		if value != "" {
			out[key] = value
		}
	}
	return out
}
