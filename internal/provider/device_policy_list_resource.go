package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

var (
	_ list.ListResource              = (*devicePolicyListResource)(nil)
	_ list.ListResourceWithConfigure = (*devicePolicyListResource)(nil)
)

// NewDevicePolicyListResource returns the iotda_device_policy list
// resource, which `terraform query` uses to find the policies of an
// instance.
func NewDevicePolicyListResource() list.ListResource {
	return &devicePolicyListResource{}
}

type devicePolicyListResource struct {
	client *iotda.Client
}

type devicePolicyListConfig struct {
	AppID      types.String `tfsdk:"app_id"`
	PolicyName types.String `tfsdk:"policy_name"`
}

func (r *devicePolicyListResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy"
}

func (r *devicePolicyListResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listschema.Schema{
		MarkdownDescription: "Lists the device policies of the instance, every page of them. " +
			fmt.Sprintf("Costs one `ListDevicePolicies` call per %d policies, and with `include_resource = true` one `ShowDevicePolicy` call per policy found.", iotda.MaxPageSize),
		Attributes: map[string]listschema.Attribute{
			"app_id": listschema.StringAttribute{
				MarkdownDescription: "Only the policies of this resource space.",
				Optional:            true,
				Validators:          appIDValidators(),
			},
			"policy_name": listschema.StringAttribute{
				MarkdownDescription: "Only the policies of this exact name.",
				Optional:            true,
				Validators:          policyNameValidators(),
			},
		},
	}
}

func (r *devicePolicyListResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// List streams one result per policy, newest first as the API returns
// them. With include_resource, each result carries the whole policy with
// its statements in the API's order, as an import would read it.
func (r *devicePolicyListResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var unconfigured diag.Diagnostics
	if !requireClient(r.client, "list resource", &unconfigured) {
		stream.Results = list.ListResultsStreamDiagnostics(unconfigured)
		return
	}
	var config devicePolicyListConfig
	if diags := req.Config.Get(ctx, &config); diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	policies, err := r.client.ListPolicies(ctx, iotda.ListPoliciesFilter{
		AppID: config.AppID.ValueString(), PolicyName: config.PolicyName.ValueString(),
	})
	if err != nil {
		stream.Results = listError("Unable to List Device Policies", fmt.Sprintf("Listing the device policies failed: %s", err))
		return
	}
	stream.Results = func(push func(list.ListResult) bool) {
		var pushed int64
		for _, summary := range policies {
			if req.Limit > 0 && pushed >= req.Limit {
				return
			}
			result := req.NewListResult(ctx)
			result.DisplayName = policyDisplayName(summary.PolicyName, summary.AppID)
			result.Diagnostics.Append(result.Identity.SetAttribute(ctx, path.Root("policy_id"), summary.PolicyID)...)
			if req.IncludeResource && !result.Diagnostics.HasError() {
				policy, err := r.client.GetPolicy(ctx, summary.PolicyID)
				if err != nil {
					// A policy deleted since the listing is no result; any
					// other failure is reported on its own result.
					if errors.Is(err, iotda.ErrNotFound) {
						continue
					}
					result.Diagnostics.AddError("Unable to Read Device Policy",
						fmt.Sprintf("Reading device policy %s (%q) failed: %s", summary.PolicyID, summary.PolicyName, err))
				} else {
					result.Diagnostics.Append(result.Resource.Set(ctx, flattenPolicy(policy))...)
				}
			}
			pushed++
			if !push(result) {
				return
			}
		}
	}
}

func policyDisplayName(name, appID string) string {
	return fmt.Sprintf("%s (resource space %s)", name, appID)
}

// listError is a stream holding one error.
func listError(summary, detail string) func(func(list.ListResult) bool) {
	var diags diag.Diagnostics
	diags.AddError(summary, detail)
	return list.ListResultsStreamDiagnostics(diags)
}
