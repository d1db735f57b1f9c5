package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

var (
	_ datasource.DataSource                     = (*devicePolicyDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*devicePolicyDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*devicePolicyDataSource)(nil)
)

// NewDevicePolicyDataSource returns the iotda_device_policy data source.
func NewDevicePolicyDataSource() datasource.DataSource {
	return &devicePolicyDataSource{}
}

type devicePolicyDataSource struct {
	client *iotda.Client
}

type devicePolicyDataSourceModel struct {
	ID         types.String     `tfsdk:"id"`
	PolicyID   types.String     `tfsdk:"policy_id"`
	PolicyName types.String     `tfsdk:"policy_name"`
	AppID      types.String     `tfsdk:"app_id"`
	Statement  []statementModel `tfsdk:"statement"`
	CreateTime types.String     `tfsdk:"create_time"`
	UpdateTime types.String     `tfsdk:"update_time"`
}

func (d *devicePolicyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy"
}

func (d *devicePolicyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One device policy with its statements, found by `policy_id` or by `policy_name`. " +
			"Exactly one of the two must be set. A name is matched exactly (case-sensitive); names are unique within a resource space " +
			"but not across them, so when several resource spaces hold a policy of that name, set `app_id` too.\n\n" +
			"By id this costs one `ShowDevicePolicy` call; by name, one `ListDevicePolicies` call and one `ShowDevicePolicy` call.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The policy id, the same as `policy_id`.",
				Computed:            true,
			},
			"policy_id": schema.StringAttribute{
				MarkdownDescription: "The id of the policy to read " + policyIDForm + ". Conflicts with `policy_name`; computed when the policy is found by name.",
				Optional:            true,
				Computed:            true,
				Validators: []validator.String{
					validPolicyIDOrName,
				},
			},
			"policy_name": computedToo(policyNameAttribute("The exact name of the policy to read. Conflicts with `policy_id`; computed when the policy is found by id.")),
			"app_id": computedToo(appIDAttribute("With `policy_name`: the resource space to look in, needed when policies of that name exist in several resource spaces. " +
				"Cannot be set with `policy_id`. Always set to the policy's resource space after the read.")),
			"statement": schema.ListNestedAttribute{
				MarkdownDescription: "The rules of the policy, in the API's order. When ALLOW and DENY statements match the same action and topic, DENY wins.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"effect": schema.StringAttribute{
							MarkdownDescription: "`ALLOW` or `DENY`.",
							Computed:            true,
						},
						"actions": schema.SetAttribute{
							MarkdownDescription: "The MQTT actions governed: `iotda:devices:publish` and/or `iotda:devices:subscribe`.",
							ElementType:         types.StringType,
							Computed:            true,
						},
						"resources": schema.SetAttribute{
							MarkdownDescription: "The topics, each `topic:` followed by a topic pattern. Variables such as `${devices.deviceId}` appear as they are stored.",
							ElementType:         types.StringType,
							Computed:            true,
						},
					},
				},
			},
			"create_time": createTimeAttribute(),
			"update_time": updateTimeAttribute(),
		},
	}
}

func (d *devicePolicyDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("policy_id"), path.MatchRoot("policy_name")),
		datasourcevalidator.Conflicting(path.MatchRoot("policy_id"), path.MatchRoot("app_id")),
	}
}

func (d *devicePolicyDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *devicePolicyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !requireClient(d.client, "data source", &resp.Diagnostics) {
		return
	}
	var config devicePolicyDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, at := config.PolicyID.ValueString(), path.Root("policy_id")
	if config.PolicyID.IsNull() {
		policyID = d.findByName(ctx, config.PolicyName.ValueString(), config.AppID.ValueString(), &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		at = path.Root("policy_name")
	}
	policy, err := d.client.GetPolicy(ctx, policyID)
	if errors.Is(err, iotda.ErrNotFound) {
		addPolicyNotFound(&resp.Diagnostics, at, policyID, err)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Device Policy", fmt.Sprintf("Reading device policy %s failed: %s", policyID, err))
		return
	}
	flat := flattenPolicy(policy)
	resp.Diagnostics.Append(resp.State.Set(ctx, devicePolicyDataSourceModel{
		ID:         flat.ID,
		PolicyID:   flat.ID,
		PolicyName: flat.PolicyName,
		AppID:      flat.AppID,
		Statement:  flat.Statement,
		CreateTime: flat.CreateTime,
		UpdateTime: flat.UpdateTime,
	})...)
}

// findByName returns the id of the one policy called name (in resource
// space appID, when set). The API's name filter is not documented as exact,
// so the listing is filtered for the exact name here.
func (d *devicePolicyDataSource) findByName(ctx context.Context, name, appID string, diags *diag.Diagnostics) string {
	listed, err := d.client.ListPolicies(ctx, iotda.ListPoliciesFilter{AppID: appID, PolicyName: name})
	if err != nil {
		diags.AddError("Unable to List Device Policies",
			fmt.Sprintf("Listing the device policies named %q failed: %s", name, err))
		return ""
	}
	matches := filterPolicies(listed, appID, name)
	tflog.Debug(ctx, "looked up device policy by name", map[string]any{
		"policy_name": name, "app_id": appID, "listed": len(listed), "matches": len(matches),
	})
	where := ""
	if appID != "" {
		where = fmt.Sprintf(" in resource space %q", appID)
	}
	switch len(matches) {
	case 1:
		return matches[0].PolicyID
	case 0:
		detail := fmt.Sprintf("No device policy is named %q%s. Names are matched exactly, letter case included.", name, where)
		if len(listed) > 0 {
			detail += " Policies with similar names: " + describePolicies(listed) + "."
		}
		diags.AddAttributeError(path.Root("policy_name"), "Device Policy Not Found", detail)
	default:
		diags.AddAttributeError(path.Root("policy_name"), "Ambiguous Device Policy Name",
			fmt.Sprintf("%d device policies are named %q%s: %s. Set app_id to the resource space of the one you mean, or look it up by policy_id instead.",
				len(matches), name, where, describePolicies(matches)))
	}
	return ""
}

// filterPolicies keeps the policies in resource space appID named name; an
// empty filter value keeps all.
func filterPolicies(policies []iotda.PolicySummary, appID, name string) []iotda.PolicySummary {
	out := make([]iotda.PolicySummary, 0, len(policies))
	for _, p := range policies {
		if (appID == "" || p.AppID == appID) && (name == "" || p.PolicyName == name) {
			out = append(out, p)
		}
	}
	return out
}

// describePolicies names policies for a diagnostic: id, name and resource
// space of each.
func describePolicies(policies []iotda.PolicySummary) string {
	parts := make([]string, len(policies))
	for i, p := range policies {
		parts[i] = fmt.Sprintf("%s (%q, app_id %s)", p.PolicyID, p.PolicyName, p.AppID)
	}
	return strings.Join(parts, ", ")
}

// addPolicyNotFound reports a policy id the API does not know, on the
// attribute that chose the policy.
func addPolicyNotFound(diags *diag.Diagnostics, at path.Path, policyID string, err error) {
	diags.AddAttributeError(at, "Device Policy Not Found",
		fmt.Sprintf("Device policy %s does not exist in this instance (%s). Check the id, and the provider's project_id and instance_id.", policyID, err))
}
