package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

var (
	_ datasource.DataSource              = (*devicePoliciesDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*devicePoliciesDataSource)(nil)
)

// NewDevicePoliciesDataSource returns the iotda_device_policies data source.
func NewDevicePoliciesDataSource() datasource.DataSource {
	return &devicePoliciesDataSource{}
}

type devicePoliciesDataSource struct {
	client *iotda.Client
}

type devicePoliciesDataSourceModel struct {
	AppID      types.String         `tfsdk:"app_id"`
	PolicyName types.String         `tfsdk:"policy_name"`
	Policies   []policySummaryModel `tfsdk:"policies"`
	IDs        types.List           `tfsdk:"ids"`
}

type policySummaryModel struct {
	PolicyID   types.String `tfsdk:"policy_id"`
	PolicyName types.String `tfsdk:"policy_name"`
	AppID      types.String `tfsdk:"app_id"`
	CreateTime types.String `tfsdk:"create_time"`
	UpdateTime types.String `tfsdk:"update_time"`
}

func (d *devicePoliciesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policies"
}

func (d *devicePoliciesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The device policies of the instance, newest first, optionally only those of one resource space or of one exact name. " +
			"The API lists policies without their statements, and so does this data source: read a policy's statements with `iotda_device_policy`.\n\n" +
			fmt.Sprintf("Each read costs one `ListDevicePolicies` call per %d policies listed (an instance holds at most %d, so one call).", iotda.MaxPageSize, iotda.MaxPoliciesPerInstance),
		Attributes: map[string]schema.Attribute{
			"app_id":      appIDAttribute("Only the policies of this resource space."),
			"policy_name": policyNameAttribute("Only the policies with exactly this name (case-sensitive; several resource spaces may each have one)."),
			"policies": schema.ListNestedAttribute{
				MarkdownDescription: "The policies, newest first. They carry no statements: the API's listing does not return them.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"policy_id": schema.StringAttribute{
							MarkdownDescription: "The policy id " + policyIDForm + ".",
							Computed:            true,
						},
						"policy_name": schema.StringAttribute{
							MarkdownDescription: "The policy name.",
							Computed:            true,
						},
						"app_id": schema.StringAttribute{
							MarkdownDescription: "The resource space of the policy.",
							Computed:            true,
						},
						"create_time": createTimeAttribute(),
						"update_time": updateTimeAttribute(),
					},
				},
			},
			"ids": schema.ListAttribute{
				MarkdownDescription: "The ids of `policies`, in the same order.",
				ElementType:         types.StringType,
				Computed:            true,
			},
		},
	}
}

func (d *devicePoliciesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *devicePoliciesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !requireClient(d.client, "data source", &resp.Diagnostics) {
		return
	}
	var config devicePoliciesDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	appID, name := config.AppID.ValueString(), config.PolicyName.ValueString()
	listed, err := d.client.ListPolicies(ctx, iotda.ListPoliciesFilter{AppID: appID, PolicyName: name})
	if err != nil {
		resp.Diagnostics.AddError("Unable to List Device Policies", fmt.Sprintf("Listing the device policies failed: %s", err))
		return
	}
	// The API's name filter may match substrings: keep exact matches only.
	policies := filterPolicies(listed, appID, name)
	tflog.Debug(ctx, "listed device policies", map[string]any{"app_id": appID, "policy_name": name, "listed": len(listed), "kept": len(policies)})

	config.Policies = make([]policySummaryModel, 0, len(policies))
	ids := make([]string, 0, len(policies))
	for _, p := range policies {
		config.Policies = append(config.Policies, policySummaryModel{
			PolicyID:   types.StringValue(p.PolicyID),
			PolicyName: types.StringValue(p.PolicyName),
			AppID:      types.StringValue(p.AppID),
			CreateTime: types.StringValue(p.CreateTime),
			UpdateTime: types.StringValue(p.UpdateTime),
		})
		ids = append(ids, p.PolicyID)
	}
	list, diags := types.ListValueFrom(ctx, types.StringType, ids)
	resp.Diagnostics.Append(diags...)
	config.IDs = list
	resp.Diagnostics.Append(resp.State.Set(ctx, config)...)
}
