package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

var _ function.Function = (*evaluateFunction)(nil)

// NewEvaluateFunction returns the provider::iotda::evaluate function.
func NewEvaluateFunction() function.Function {
	return &evaluateFunction{}
}

type evaluateFunction struct{}

// statementObjectType is the type of one element of a policy's statement.
var statementObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"effect":    types.StringType,
	"actions":   types.SetType{ElemType: types.StringType},
	"resources": types.SetType{ElemType: types.StringType},
}}

var evaluateResultAttrTypes = map[string]attr.Type{
	"allowed":            types.BoolType,
	"decision":           types.StringType,
	"matched_statements": types.ListType{ElemType: types.Int64Type},
}

// identityKeys are the keys the identity map accepts.
var identityKeys = []string{"device_id", "product_id", "client_id"}

func (f *evaluateFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "evaluate"
}

func (f *evaluateFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Decide whether device policies allow a device an MQTT action on a topic",
		MarkdownDescription: "Evaluates device policy statements offline, the way IoTDA judges a connected device: " +
			"IoTDA variables (`${devices.deviceId}`, `${devices.productId}`, `${devices.clientId}`) are replaced by the identity's values " +
			"(a variable whose value is not given never matches); " + patternRules + " A pattern must match the whole topic; DENY beats ALLOW; nothing matching is `NO_MATCH` " +
			"and not allowed. The " + ungovernedRule + " are `NOT_GOVERNED`: policies do not control them.\n\n" +
			"The manual is contradictory on whether `*` matches the empty string; this function follows its worked example and requires at least one character.\n\n" +
			"Returns an object with `allowed` (bool), `decision` (`ALLOW`, `DENY`, `NO_MATCH` or `NOT_GOVERNED`) and " +
			"`matched_statements` (the 0-based indexes of the statements whose action and a resource matched).",
		Parameters: []function.Parameter{
			function.ListParameter{
				Name:                "statements",
				ElementType:         statementObjectType,
				MarkdownDescription: "The statements to pool: the `statement` value of one or more `iotda_device_policy` resources, concatenated with `concat()`, or objects with `effect`, `actions` and `resources`. " + statementsArgRule,
			},
			function.StringParameter{
				Name:                "action",
				MarkdownDescription: "`publish` or `subscribe`, or the full names `iotda:devices:publish` and `iotda:devices:subscribe`.",
			},
			function.StringParameter{
				Name:                "topic",
				MarkdownDescription: "The MQTT topic, e.g. `/v1/devices/sensor-1/telemetry`, without the `topic:` prefix of policy resources: a topic that starts with `topic:` is an error that says to drop the prefix, never a silent `NO_MATCH`.",
			},
			function.MapParameter{
				Name:                "identity",
				ElementType:         types.StringType,
				MarkdownDescription: "The device: any of `device_id`, `product_id` and `client_id`, e.g. `{ device_id = \"sensor-1\" }`. Use `{}` for none.",
			},
		},
		Return: function.ObjectReturn{AttributeTypes: evaluateResultAttrTypes},
	}
}

func (f *evaluateFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var (
		statements []statementModel
		action     string
		topic      string
		identity   map[string]string
	)
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &statements, &action, &topic, &identity))
	if resp.Error != nil {
		return
	}
	stmts, ok := expandStatements(ctx, statements)
	if !ok {
		resp.Error = function.NewArgumentFuncError(0, "statements must be fully known")
		return
	}
	if err := checkStatementsArg("statement", stmts); err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	id, err := identityFrom(identity)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(3, err.Error())
		return
	}
	normalized, err := policyeval.NormalizeAction(action)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(1, err.Error())
		return
	}
	if err := policyeval.CheckTopic(topic); err != nil {
		resp.Error = function.NewArgumentFuncError(2, err.Error())
		return
	}
	result, err := policyeval.Evaluate(toEvalStatements(stmts), normalized, topic, id)
	if err != nil {
		resp.Error = function.NewFuncError(err.Error())
		return
	}
	matched := make([]attr.Value, 0, len(result.Matched))
	for _, i := range result.Matched {
		matched = append(matched, types.Int64Value(int64(i)))
	}
	out, diags := types.ObjectValue(evaluateResultAttrTypes, map[string]attr.Value{
		"allowed":            types.BoolValue(result.Allowed),
		"decision":           types.StringValue(string(result.Decision)),
		"matched_statements": types.ListValueMust(types.Int64Type, matched),
	})
	if diags.HasError() {
		resp.Error = function.FuncErrorFromDiags(ctx, diags)
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, out))
}

func identityFrom(m map[string]string) (policyeval.Identity, error) {
	for k := range m {
		if !slices.Contains(identityKeys, k) {
			return policyeval.Identity{}, fmt.Errorf("identity key %q is not one of %s", k, strings.Join(identityKeys, ", "))
		}
	}
	return policyeval.Identity{DeviceID: m["device_id"], ProductID: m["product_id"], ClientID: m["client_id"]}, nil
}
