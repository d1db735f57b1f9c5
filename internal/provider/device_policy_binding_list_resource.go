package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

var (
	_ list.ListResource              = (*devicePolicyBindingListResource)(nil)
	_ list.ListResourceWithConfigure = (*devicePolicyBindingListResource)(nil)
)

// NewDevicePolicyBindingListResource returns the iotda_device_policy_binding
// list resource, which `terraform query` uses to find the bindings of an
// instance.
func NewDevicePolicyBindingListResource() list.ListResource {
	return &devicePolicyBindingListResource{}
}

type devicePolicyBindingListResource struct {
	client *iotda.Client
}

type devicePolicyBindingListConfig struct {
	PolicyID   types.String `tfsdk:"policy_id"`
	TargetType types.String `tfsdk:"target_type"`
}

func (r *devicePolicyBindingListResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy_binding"
}

func (r *devicePolicyBindingListResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listschema.Schema{
		MarkdownDescription: "Lists the bindings of the instance: one result per policy and target type that has at least one target bound, with every target. " +
			fmt.Sprintf("The API lists targets only policy by policy, so this costs one `ListDevicePolicies` call per %d policies and one `ShowTargetsInDevicePolicy` call "+
				"per policy per %d targets bound to it (all target types in the same listing); the targets come with the listing, so `include_resource` costs nothing more.", iotda.MaxPageSize, iotda.MaxPageSize),
		Attributes: map[string]listschema.Attribute{
			"policy_id": listschema.StringAttribute{
				MarkdownDescription: fmt.Sprintf("Only the bindings of this policy: one `ShowDevicePolicy` call instead of the policy listing, then one `ShowTargetsInDevicePolicy` call per %d of its targets. A policy that does not exist has no results.", iotda.MaxPageSize),
				Optional:            true,
				Validators:          []validator.String{validPolicyID},
			},
			"target_type": listschema.StringAttribute{
				MarkdownDescription: "Only the bindings of this target type: `device`, `product` or `app`.",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.OneOf(iotda.TargetTypes()...)},
			},
		},
	}
}

func (r *devicePolicyBindingListResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

// List streams, policy by policy (as the API lists them), one result per
// target type with targets, in the order device, product, app. Each
// policy's targets are listed when its turn comes, so a query that stops
// early (a limit) lists no more than it shows.
func (r *devicePolicyBindingListResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var unconfigured diag.Diagnostics
	if !requireClient(r.client, "list resource", &unconfigured) {
		stream.Results = list.ListResultsStreamDiagnostics(unconfigured)
		return
	}
	var config devicePolicyBindingListConfig
	if diags := req.Config.Get(ctx, &config); diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	onlyPolicy, onlyType := config.PolicyID.ValueString(), config.TargetType.ValueString()
	policies, err := r.policies(ctx, onlyPolicy)
	if err != nil {
		detail := fmt.Sprintf("Listing the device policies failed: %s", err)
		if onlyPolicy != "" {
			detail = fmt.Sprintf("Reading device policy %s failed: %s", onlyPolicy, err)
		}
		stream.Results = listError("Unable to List Device Policy Bindings", detail)
		return
	}
	stream.Results = func(push func(list.ListResult) bool) {
		var pushed int64
		for _, policy := range policies {
			targets, err := r.client.ListTargets(ctx, policy.PolicyID, onlyType)
			if errors.Is(err, iotda.ErrNotFound) {
				continue // deleted since the listing: nothing is bound to it
			}
			if err != nil {
				result := req.NewListResult(ctx)
				result.Diagnostics.AddError("Unable to List Device Policy Targets",
					fmt.Sprintf("Listing the targets of device policy %s (%q) failed: %s", policy.PolicyID, policy.PolicyName, err))
				push(result)
				return
			}
			byType := map[string][]string{}
			for _, t := range targets {
				byType[t.TargetType] = append(byType[t.TargetType], t.TargetID)
			}
			for _, targetType := range iotda.TargetTypes() { // the order of a policy's results
				ids := byType[targetType]
				if len(ids) == 0 {
					continue
				}
				if req.Limit > 0 && pushed >= req.Limit {
					return
				}
				result := req.NewListResult(ctx)
				result.DisplayName = fmt.Sprintf("%s: %d %s target(s)", policyDisplayName(policy.PolicyName, policy.AppID), len(ids), targetType)
				result.Diagnostics.Append(result.Identity.SetAttribute(ctx, path.Root("policy_id"), policy.PolicyID)...)
				result.Diagnostics.Append(result.Identity.SetAttribute(ctx, path.Root("target_type"), targetType)...)
				if req.IncludeResource {
					result.Diagnostics.Append(result.Resource.Set(ctx, bindingValue(policy.PolicyID, targetType, ids))...)
				}
				pushed++
				if !push(result) {
					return
				}
			}
		}
	}
}

// policies are the policies whose bindings the query lists: every policy
// of the instance, or the one with policyID (one read: none when it does
// not exist).
func (r *devicePolicyBindingListResource) policies(ctx context.Context, policyID string) ([]iotda.PolicySummary, error) {
	if policyID == "" {
		return r.client.ListPolicies(ctx, iotda.ListPoliciesFilter{})
	}
	policy, err := r.client.GetPolicy(ctx, policyID)
	if errors.Is(err, iotda.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []iotda.PolicySummary{{AppID: policy.AppID, PolicyID: policy.PolicyID, PolicyName: policy.PolicyName}}, nil
}

// bindingValue is the state of the exclusive binding of the given targets,
// every target of its type bound to the policy.
func bindingValue(policyID, targetType string, ids []string) devicePolicyBindingModel {
	return devicePolicyBindingModel{
		ID:         types.StringValue(bindingID(policyID, targetType)),
		PolicyID:   types.StringValue(policyID),
		TargetType: types.StringValue(targetType),
		Exclusive:  types.BoolValue(true),
		Targets:    targetsValue(ids),
	}
}
