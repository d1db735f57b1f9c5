package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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
	_ datasource.DataSource              = (*devicePolicyTargetsDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*devicePolicyTargetsDataSource)(nil)
)

// NewDevicePolicyTargetsDataSource returns the iotda_device_policy_targets
// data source.
func NewDevicePolicyTargetsDataSource() datasource.DataSource {
	return &devicePolicyTargetsDataSource{}
}

type devicePolicyTargetsDataSource struct {
	client *iotda.Client
}

type devicePolicyTargetsDataSourceModel struct {
	PolicyID   types.String  `tfsdk:"policy_id"`
	TargetType types.String  `tfsdk:"target_type"`
	Targets    []targetModel `tfsdk:"targets"`
	TargetIDs  types.List    `tfsdk:"target_ids"`
}

type targetModel struct {
	TargetType types.String `tfsdk:"target_type"`
	TargetID   types.String `tfsdk:"target_id"`
}

func (d *devicePolicyTargetsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy_targets"
}

func (d *devicePolicyTargetsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The targets (devices, products and resource spaces) a device policy is bound to, whoever bound them. " +
			fmt.Sprintf("Each read costs one `ShowTargetsInDevicePolicy` call per %d targets listed (at least one).", iotda.MaxPageSize),
		Attributes: map[string]schema.Attribute{
			"policy_id": schema.StringAttribute{
				MarkdownDescription: "The id of the device policy " + policyIDForm + ".",
				Required:            true,
				Validators: []validator.String{
					validPolicyID,
				},
			},
			"target_type": schema.StringAttribute{
				MarkdownDescription: "Only the targets of this type: `device`, `product` or `app` (a resource space). All types when omitted.",
				Optional:            true,
				Validators: []validator.String{
					stringvalidator.OneOf(iotda.TargetTypes()...),
				},
			},
			"targets": schema.ListNestedAttribute{
				MarkdownDescription: "The targets, most recently bound first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"target_type": schema.StringAttribute{
							MarkdownDescription: "`device`, `product` or `app`.",
							Computed:            true,
						},
						"target_id": schema.StringAttribute{
							MarkdownDescription: "The id of the device, product or resource space.",
							Computed:            true,
						},
					},
				},
			},
			"target_ids": schema.ListAttribute{
				MarkdownDescription: "The ids of `targets`, sorted, each once: without `target_type`, an id bound as two types (say a device and a product of the same id) appears once. " +
					"Pass it to `provider::iotda::targets()` for a binding's `targets`, or through `toset()` to `for_each`. A list rather than a set: the plugin framework compares a set read from the API " +
					"element by element with every other, a cost that grows as the square of its size (seconds at 5,000 targets).",
				ElementType: types.StringType,
				Computed:    true,
			},
		},
	}
}

func (d *devicePolicyTargetsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *devicePolicyTargetsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	if !requireClient(d.client, "data source", &resp.Diagnostics) {
		return
	}
	var config devicePolicyTargetsDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := config.PolicyID.ValueString(), config.TargetType.ValueString()
	targets, err := d.client.ListTargets(ctx, policyID, targetType)
	if errors.Is(err, iotda.ErrNotFound) {
		addPolicyNotFound(&resp.Diagnostics, path.Root("policy_id"), policyID, err)
		return
	}
	if err != nil {
		what := "targets"
		if targetType != "" {
			what = targetType + " targets"
		}
		resp.Diagnostics.AddError("Unable to List Device Policy Targets",
			fmt.Sprintf("Listing the %s of device policy %s failed: %s", what, policyID, err))
		return
	}
	tflog.Debug(ctx, "listed device policy targets", map[string]any{"policy_id": policyID, "target_type": targetType, "targets": len(targets)})

	config.Targets = make([]targetModel, 0, len(targets))
	ids := make([]string, 0, len(targets))
	for _, t := range targets {
		config.Targets = append(config.Targets, targetModel{
			TargetType: types.StringValue(t.TargetType),
			TargetID:   types.StringValue(t.TargetID),
		})
		ids = append(ids, t.TargetID)
	}
	slices.Sort(ids)
	var diags diag.Diagnostics
	config.TargetIDs, diags = types.ListValueFrom(ctx, types.StringType, slices.Compact(ids))
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, config)...)
}
