package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

var (
	_ resource.Resource                = (*devicePolicyBindingResource)(nil)
	_ resource.ResourceWithConfigure   = (*devicePolicyBindingResource)(nil)
	_ resource.ResourceWithImportState = (*devicePolicyBindingResource)(nil)
)

// NewDevicePolicyBindingResource returns the iotda_device_policy_binding
// resource.
func NewDevicePolicyBindingResource() resource.Resource {
	return &devicePolicyBindingResource{}
}

type devicePolicyBindingResource struct {
	client *iotda.Client
}

type devicePolicyBindingModel struct {
	ID         types.String        `tfsdk:"id"`
	PolicyID   types.String        `tfsdk:"policy_id"`
	TargetType types.String        `tfsdk:"target_type"`
	TargetIDs  largeStringSetValue `tfsdk:"target_ids"`
}

func (r *devicePolicyBindingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy_binding"
}

func (r *devicePolicyBindingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The complete set of targets of one type (devices, products or resource spaces) bound to one device policy. " +
			"It is authoritative: targets of that type bound to the policy outside Terraform appear as drift and are unbound on the next apply. " +
			"Changes are sent as the difference only, in calls of at most 20 targets.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<policy_id>/<target_type>`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"policy_id": schema.StringAttribute{
				MarkdownDescription: "The id of the device policy, usually `iotda_device_policy.<name>.id`. Changing it replaces the binding.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					validPolicyID,
				},
			},
			"target_type": schema.StringAttribute{
				MarkdownDescription: "What `target_ids` name: `device`, `product` (every device of the product) or `app` (every device of the resource space). Changing it replaces the binding.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.OneOf(iotda.TargetTypeDevice, iotda.TargetTypeProduct, iotda.TargetTypeApp),
				},
			},
			"target_ids": schema.SetAttribute{
				MarkdownDescription: "The ids of every target of `target_type` the policy is bound to: 1 to 128 letters, digits, `_` or `-` each. " +
					"An empty set means no target of this type is bound. A device or product can have at most 5 policies bound.",
				ElementType: types.StringType,
				CustomType:  newLargeStringSetType(),
				Required:    true,
				Validators: []validator.Set{
					setvalidator.ValueStringsAre(validTargetID),
				},
			},
		},
	}
}

func (r *devicePolicyBindingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *devicePolicyBindingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan devicePolicyBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := plan.PolicyID.ValueString(), plan.TargetType.ValueString()
	plan.ID = types.StringValue(bindingID(policyID, targetType))
	// Authoritative from the start: targets already bound are part of the
	// difference, and unbound if the configuration leaves them out.
	current, err := r.listBound(ctx, policyID, targetType)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Bind Device Policy",
			fmt.Sprintf("Listing the %s targets of device policy %s failed: %s", targetType, policyID, err))
		return
	}
	r.reconcile(ctx, plan, current, false, &resp.State, &resp.Diagnostics)
}

func (r *devicePolicyBindingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state devicePolicyBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := state.PolicyID.ValueString(), state.TargetType.ValueString()
	bound, err := r.listBound(ctx, policyID, targetType)
	if errors.Is(err, iotda.ErrNotFound) {
		tflog.Warn(ctx, "device policy no longer exists; removing its binding from state", map[string]any{"policy_id": policyID})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Device Policy Binding",
			fmt.Sprintf("Listing the %s targets of device policy %s failed: %s", targetType, policyID, err))
		return
	}
	state.ID = types.StringValue(bindingID(policyID, targetType))
	state.TargetIDs = largeStringSet(bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *devicePolicyBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state devicePolicyBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	current, diags := setStrings(ctx, state.TargetIDs)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.reconcile(ctx, plan, current, false, &resp.State, &resp.Diagnostics)
}

func (r *devicePolicyBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state devicePolicyBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	current, diags := setStrings(ctx, state.TargetIDs)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	desired := state
	desired.TargetIDs = largeStringSet(nil)
	r.reconcile(ctx, desired, current, true, &resp.State, &resp.Diagnostics)
}

func (r *devicePolicyBindingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	policyID, targetType, ok := strings.Cut(req.ID, "/")
	if !ok || !policyIDPattern.MatchString(policyID) ||
		(targetType != iotda.TargetTypeDevice && targetType != iotda.TargetTypeProduct && targetType != iotda.TargetTypeApp) {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("%q is not <policy_id>/<target_type>: expected a 24-character hexadecimal policy id, a slash, and device, product or app, e.g. 5c90fa7d3c4e4405e8525079/device.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, devicePolicyBindingModel{
		ID:         types.StringValue(req.ID),
		PolicyID:   types.StringValue(policyID),
		TargetType: types.StringValue(targetType),
		TargetIDs:  largeStringSetValue{SetValue: types.SetNull(types.StringType)},
	})...)
}

// reconcile moves the bound targets from current to desired.TargetIDs and
// records in state exactly what is bound afterwards, whatever failed. When
// deleting, a policy that no longer exists is success: nothing is bound to
// it.
func (r *devicePolicyBindingResource) reconcile(ctx context.Context, desired devicePolicyBindingModel, current []string, deleting bool, state *tfsdk.State, diags *diag.Diagnostics) {
	want, d := setStrings(ctx, desired.TargetIDs)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	policyID, targetType := desired.PolicyID.ValueString(), desired.TargetType.ValueString()
	res := r.client.ReconcileTargets(ctx, policyID, targetType, current, want)
	tflog.Debug(ctx, "reconciled device policy targets", map[string]any{
		"policy_id": policyID, "target_type": targetType, "bind_calls": res.BindCalls, "unbind_calls": res.UnbindCalls,
		"bound": len(res.Bound), "failures": len(res.Failures),
	})

	bound := res.Bound
	policyGone := errors.Is(res.Err, iotda.ErrNotFound)
	if (res.Uncertain || len(res.Failures) > 0) && !policyGone {
		// Something failed: record what the API says is bound, not what
		// the answers suggest.
		if listed, err := r.listBound(ctx, policyID, targetType); err == nil {
			bound = listed
		}
	}
	if policyGone {
		if deleting {
			state.RemoveResource(ctx)
			return
		}
		bound = nil
	}

	if res.Err != nil || len(res.Failures) > 0 {
		diags.AddError(bindingErrorSummary(current, want), bindingErrorDetail(policyID, targetType, res, bound, policyGone))
		if state.Raw.IsNull() && len(bound) == 0 {
			return // a create that bound nothing leaves nothing behind
		}
	}
	desired.TargetIDs = largeStringSet(bound)
	diags.Append(state.Set(ctx, desired)...)
}

// listBound lists the ids of the targets of one type bound to a policy.
func (r *devicePolicyBindingResource) listBound(ctx context.Context, policyID, targetType string) ([]string, error) {
	targets, err := r.client.ListTargets(ctx, policyID, targetType)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(targets))
	for _, t := range targets {
		ids = append(ids, t.TargetID)
	}
	return ids, nil
}

func bindingErrorSummary(current, want []string) string {
	add, remove := iotda.Diff(current, want)
	switch {
	case len(add) > 0 && len(remove) > 0:
		return "Unable to Update Device Policy Binding"
	case len(remove) > 0:
		return "Unable to Unbind Device Policy"
	}
	return "Unable to Bind Device Policy"
}

func bindingErrorDetail(policyID, targetType string, res iotda.ReconcileResult, bound []string, policyGone bool) string {
	var b strings.Builder
	if policyGone {
		fmt.Fprintf(&b, "Device policy %s does not exist (any more): %s\n", policyID, res.Err)
		return b.String()
	}
	if len(res.Failures) > 0 {
		fmt.Fprintf(&b, "The API refused %d %s target(s) of device policy %s:\n", len(res.Failures), targetType, policyID)
		for _, f := range res.Failures {
			fmt.Fprintf(&b, "  - %s: %s %s", f.TargetID, f.ErrorCode, f.ErrorMsg)
			if f.ErrorCode == iotda.CodeTargetPolicyLimit {
				fmt.Fprintf(&b, " (the target already has %d device policies bound, the most IoTDA allows: unbind another policy from it first)", iotda.MaxPoliciesPerTarget)
			}
			b.WriteByte('\n')
		}
	}
	if res.Err != nil {
		fmt.Fprintf(&b, "Calls failed: %s\n", res.Err)
	}
	fmt.Fprintf(&b, "\nThe state records the %d %s target(s) bound now; the next plan shows what is still to be done.", len(bound), targetType)
	return b.String()
}

func bindingID(policyID, targetType string) string {
	return policyID + "/" + targetType
}

func setStrings(ctx context.Context, set largeStringSetValue) ([]string, diag.Diagnostics) {
	if set.IsNull() || set.IsUnknown() {
		return nil, nil
	}
	var out []string
	diags := set.ElementsAs(ctx, &out, false)
	return out, diags
}
