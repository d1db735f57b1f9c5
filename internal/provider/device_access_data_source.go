package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/access"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

var (
	_ datasource.DataSource              = (*deviceAccessDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*deviceAccessDataSource)(nil)
)

// NewDeviceAccessDataSource returns the iotda_device_access data source.
func NewDeviceAccessDataSource() datasource.DataSource {
	return &deviceAccessDataSource{}
}

type deviceAccessDataSource struct {
	client *iotda.Client
}

type deviceAccessDataSourceModel struct {
	DeviceID  types.String          `tfsdk:"device_id"`
	ProductID types.String          `tfsdk:"product_id"`
	AppID     types.String          `tfsdk:"app_id"`
	ClientID  types.String          `tfsdk:"client_id"`
	Action    types.String          `tfsdk:"action"`
	Topic     types.String          `tfsdk:"topic"`
	Policies  []reachingPolicyModel `tfsdk:"policies"`
	Allowed   types.Bool            `tfsdk:"allowed"`
	Decision  types.String          `tfsdk:"decision"`
	Matched   []matchedModel        `tfsdk:"matched"`
}

type reachingPolicyModel struct {
	PolicyID   types.String `tfsdk:"policy_id"`
	PolicyName types.String `tfsdk:"policy_name"`
	BoundVia   types.String `tfsdk:"bound_via"`
}

type matchedModel struct {
	PolicyID       types.String `tfsdk:"policy_id"`
	StatementIndex types.Int64  `tfsdk:"statement_index"`
}

func (d *deviceAccessDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_access"
}

// accessCostDescription tells the API calls and round trips of a read, from
// the API's limits and the default batch_parallelism. Its example is an
// instance with as many policies as it can hold, three of which reach the
// device.
func accessCostDescription() string {
	page, policies, k := iotda.MaxPageSize, iotda.MaxPoliciesPerInstance, iotda.DefaultBatchParallelism
	const reaching = 3
	rounds := func(n int) int { return (n + k - 1) / k }
	return "**API calls per read.** Terraform reads a data source at every plan (and at apply instead when an argument is unknown at plan time). Each read makes:\n\n" +
		fmt.Sprintf("1. one `ListDevicePolicies` listing of all policies of the instance, in pages of %d: one call, since an instance holds at most %d policies;\n", page, policies) +
		fmt.Sprintf("2. one `ShowTargetsInDevicePolicy` listing of all targets per policy, in pages of %d targets: one call for each policy with at most %d targets, one more per further %d;\n", page, page, page) +
		"3. one `ShowDevicePolicy` call per policy that reaches the device, for its statements.\n\n" +
		fmt.Sprintf("With P policies of at most %d targets each, R of which reach the device, that is 1 + P + R calls, at most %d.\n\n", page, 1+2*policies) +
		fmt.Sprintf("**Round trips.** The target listings run `batch_parallelism` (k, default %d) at a time, then the reads of the reaching policies, k at a time: ", k) +
		fmt.Sprintf("1 + ⌈P/k⌉ + ⌈R/k⌉ sequential round trips, for example 1 + %d + %d = %d for %d policies of which %d reach the device, instead of %d one after another. ",
			rounds(policies), rounds(reaching), 1+rounds(policies)+rounds(reaching), policies, reaching, 1+policies+reaching) +
		fmt.Sprintf("A policy with more than %d targets lengthens its own listing by one round trip per further %d.\n\n", page, page)
}

func (d *deviceAccessDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Decides whether the device policies bound on the live platform let a device publish or subscribe to a topic. " +
			"It finds every policy that reaches the device (bound to the device, to its product when `product_id` is given, or to its resource space when `app_id` is given), " +
			"pools their statements and judges them the way IoTDA does, with the same rules as the `provider::iotda::evaluate` function: " +
			"variables are replaced by the device's values; " + patternRules + " DENY beats ALLOW across policies, nothing matching is `NO_MATCH` (not allowed), " +
			"and " + ungovernedRule + " are `NOT_GOVERNED` (allowed: policies do not control them).\n\n" +
			accessCostDescription() +
			"A policy deleted while the read is under way is left out.",
		Attributes: map[string]schema.Attribute{
			"device_id": schema.StringAttribute{
				MarkdownDescription: "The device id, e.g. `64a7ba7ef9cb063d27e16b97_sensor-1`. Also the value of `${devices.deviceId}`.",
				Required:            true,
				Validators: []validator.String{
					validTargetID,
				},
			},
			"product_id": schema.StringAttribute{
				MarkdownDescription: "The device's product. Policies bound to this product count, and it is the value of `${devices.productId}`. " +
					"Omitted, no product binding counts and patterns using `${devices.productId}` never match.",
				Optional: true,
				Validators: []validator.String{
					validTargetID,
				},
			},
			"app_id": appIDAttribute("The device's resource space. Policies bound to this resource space (target type `app`) count. " +
				"Omitted, no resource-space binding counts: the provider cannot look up which resource space a device belongs to."),
			"client_id": schema.StringAttribute{
				MarkdownDescription: "The MQTT client id the device connects with, the value of `${devices.clientId}`. Omitted, patterns using it never match.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"action": schema.StringAttribute{
				MarkdownDescription: "`publish` or `subscribe`, or the full names `iotda:devices:publish` and `iotda:devices:subscribe`, in any letter case.",
				Required:            true,
				Validators:          []validator.String{actionValidator{}},
			},
			"topic": schema.StringAttribute{
				MarkdownDescription: "The MQTT topic, e.g. `/v1/devices/sensor-1/telemetry`, without the `topic:` prefix of policy resources: a topic that starts with `topic:` is an error at plan time that says to drop the prefix, never a silent `NO_MATCH`.",
				Required:            true,
				Validators:          []validator.String{topicValidator{}},
			},
			"policies": schema.ListNestedAttribute{
				MarkdownDescription: "The policies that reach the device, newest first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"policy_id": schema.StringAttribute{
							MarkdownDescription: "The policy id.",
							Computed:            true,
						},
						"policy_name": schema.StringAttribute{
							MarkdownDescription: "The policy name.",
							Computed:            true,
						},
						"bound_via": schema.StringAttribute{
							MarkdownDescription: "How the policy reaches the device: `device`, `product` or `app`. A policy bound in several ways shows the first of these.",
							Computed:            true,
						},
					},
				},
			},
			"allowed": schema.BoolAttribute{
				MarkdownDescription: "Whether the device may perform the action on the topic.",
				Computed:            true,
			},
			"decision": schema.StringAttribute{
				MarkdownDescription: "`ALLOW` (an ALLOW statement matched and no DENY did), `DENY` (a DENY statement matched), " +
					"`NO_MATCH` (no statement matched: not allowed) or `NOT_GOVERNED` (a system topic, starting with `$`: allowed).",
				Computed: true,
			},
			"matched": schema.ListNestedAttribute{
				MarkdownDescription: "The statements whose actions contain the action and one of whose resources matches the topic, ALLOW and DENY alike, in the order of `policies`.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"policy_id": schema.StringAttribute{
							MarkdownDescription: "The policy of the statement.",
							Computed:            true,
						},
						"statement_index": schema.Int64Attribute{
							MarkdownDescription: "The 0-based index of the statement in the policy's `statement` list.",
							Computed:            true,
						},
					},
				},
			},
		},
	}
}

func (d *deviceAccessDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *deviceAccessDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !requireClient(d.client, "data source", &resp.Diagnostics) {
		return
	}
	var config deviceAccessDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	q := access.Query{
		DeviceID:  config.DeviceID.ValueString(),
		ProductID: config.ProductID.ValueString(),
		AppID:     config.AppID.ValueString(),
		ClientID:  config.ClientID.ValueString(),
		Action:    config.Action.ValueString(),
		Topic:     config.Topic.ValueString(),
	}
	result, err := access.Evaluate(ctx, d.client, q)
	if err != nil {
		addAccessError(&resp.Diagnostics, q, err)
		return
	}
	tflog.Debug(ctx, "evaluated device access", map[string]any{
		"device_id": q.DeviceID, "policies": result.Listed, "reaching": len(result.Policies), "decision": string(result.Decision),
	})

	config.Policies = make([]reachingPolicyModel, 0, len(result.Policies))
	for _, p := range result.Policies {
		config.Policies = append(config.Policies, reachingPolicyModel{
			PolicyID:   types.StringValue(p.PolicyID),
			PolicyName: types.StringValue(p.PolicyName),
			BoundVia:   types.StringValue(p.BoundVia),
		})
	}
	config.Allowed = types.BoolValue(result.Allowed)
	config.Decision = types.StringValue(string(result.Decision))
	config.Matched = make([]matchedModel, 0, len(result.Matched))
	for _, m := range result.Matched {
		config.Matched = append(config.Matched, matchedModel{PolicyID: types.StringValue(m.PolicyID), StatementIndex: types.Int64Value(int64(m.StatementIndex))})
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, config)...)
}

// addAccessError turns a failed step of access.Evaluate into a diagnostic.
func addAccessError(diags *diag.Diagnostics, q access.Query, err error) {
	var accessErr *access.Error
	if !errors.As(err, &accessErr) {
		diags.AddError("Unable to Evaluate Device Access", fmt.Sprintf("Judging the access of device %s failed: %s", q.DeviceID, err))
		return
	}
	switch accessErr.Step {
	case access.StepListPolicies:
		diags.AddError("Unable to List Device Policies",
			fmt.Sprintf("Listing the device policies to find those reaching device %s failed: %s", q.DeviceID, accessErr.Err))
	case access.StepListTargets:
		diags.AddError("Unable to List Device Policy Targets",
			fmt.Sprintf("Listing the targets of device policy %s (%q) to see whether it reaches device %s failed: %s", accessErr.PolicyID, accessErr.PolicyName, q.DeviceID, accessErr.Err))
	case access.StepReadPolicy:
		diags.AddError("Unable to Read Device Policy",
			fmt.Sprintf("Reading device policy %s, which reaches device %s, failed: %s", accessErr.PolicyID, q.DeviceID, accessErr.Err))
	default:
		diags.AddError("Unable to Evaluate Device Policies",
			fmt.Sprintf("Judging %s on topic %q for device %s failed: %s", q.Action, q.Topic, q.DeviceID, accessErr.Err))
	}
}

// actionValidator accepts the actions policyeval.NormalizeAction accepts.
type actionValidator struct{}

var _ validator.String = actionValidator{}

func (actionValidator) Description(context.Context) string {
	return fmt.Sprintf("must be publish, subscribe, %s or %s, in any letter case", iotda.ActionPublish, iotda.ActionSubscribe)
}

func (v actionValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (actionValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := policyeval.NormalizeAction(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Action", fmt.Sprintf("The action cannot be judged: %s.", err))
	}
}
