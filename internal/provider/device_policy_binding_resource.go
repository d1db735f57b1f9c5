package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
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
	_ resource.Resource                 = (*devicePolicyBindingResource)(nil)
	_ resource.ResourceWithConfigure    = (*devicePolicyBindingResource)(nil)
	_ resource.ResourceWithImportState  = (*devicePolicyBindingResource)(nil)
	_ resource.ResourceWithUpgradeState = (*devicePolicyBindingResource)(nil)
	_ resource.ResourceWithIdentity     = (*devicePolicyBindingResource)(nil)
)

// NewDevicePolicyBindingResource returns the iotda_device_policy_binding
// resource.
func NewDevicePolicyBindingResource() resource.Resource {
	return &devicePolicyBindingResource{}
}

type devicePolicyBindingResource struct {
	client *iotda.Client
}

// devicePolicyBindingModel is schema version 1. The targets are a map keyed
// by target id, not a set: Terraform and OpenTofu correlate the elements of
// a planned and an applied set pairwise, which takes minutes at 5,000
// targets, while map elements are matched by key. The values carry nothing
// and are empty strings.
type devicePolicyBindingModel struct {
	ID         types.String `tfsdk:"id"`
	PolicyID   types.String `tfsdk:"policy_id"`
	TargetType types.String `tfsdk:"target_type"`
	Targets    types.Map    `tfsdk:"targets"`
}

func (r *devicePolicyBindingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy_binding"
}

func (r *devicePolicyBindingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version: 1,
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
				MarkdownDescription: "What the keys of `targets` name: `device`, `product` (every device of the product) or `app` (every device of the resource space). Changing it replaces the binding.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.OneOf(iotda.TargetTypeDevice, iotda.TargetTypeProduct, iotda.TargetTypeApp),
				},
			},
			"targets": schema.MapAttribute{
				MarkdownDescription: "Every target of `target_type` the policy is bound to, keyed by target id (1 to 128 letters, digits, `_` or `-`), " +
					"each with the value `\"\"`. Build it from a list of ids with `provider::iotda::targets(ids)` or `{ for id in ids : id => \"\" }`; " +
					"both fail on an id listed twice. An empty map means no target of this type is bound. A device or product can have at most 5 policies bound.",
				ElementType: types.StringType,
				Required:    true,
				Validators: []validator.Map{
					mapvalidator.KeysAre(validTargetID),
					mapvalidator.NoNullValues(),
					emptyTargetValues{},
				},
			},
		},
	}
}

// IdentitySchema makes the policy id and the target type the identity: a
// binding is all the targets of one type bound to one policy. As for
// iotda_device_policy, the project and instance are the provider block's.
func (r *devicePolicyBindingResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"policy_id": identityschema.StringAttribute{
				Description:       "The id of the device policy (24 hexadecimal characters).",
				RequiredForImport: true,
			},
			"target_type": identityschema.StringAttribute{
				Description:       "The target type: `device`, `product` or `app`.",
				RequiredForImport: true,
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
	// Authoritative from the start: targets already bound are part of the
	// difference, and unbound if the configuration leaves them out.
	current, err := r.listBound(ctx, policyID, targetType)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Bind Device Policy",
			fmt.Sprintf("Listing the %s targets of device policy %s failed: %s", targetType, policyID, err))
		return
	}
	want := targetKeys(plan.Targets)
	out := r.reconcile(ctx, policyID, targetType, current, want)
	resp.Diagnostics.Append(out.diags...)
	if out.policyGone {
		resp.Diagnostics.Append(policyGoneError(current, want, policyID, out.err))
		return
	}
	if out.diags.HasError() && len(out.bound) == 0 {
		return // a create that bound nothing leaves nothing behind
	}
	plan.ID = types.StringValue(bindingID(policyID, targetType))
	plan.Targets = targetsValue(out.bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setBindingIdentity(ctx, resp.Identity, policyID, targetType, &resp.Diagnostics)
}

func (r *devicePolicyBindingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state devicePolicyBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := state.PolicyID.ValueString(), state.TargetType.ValueString()
	// Before the call: the framework wants an identity even from a Read
	// that removes the binding, and older CLIs kept none in state.
	setBindingIdentity(ctx, resp.Identity, policyID, targetType, &resp.Diagnostics)
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
	state.Targets = targetsValue(bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *devicePolicyBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state devicePolicyBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := plan.PolicyID.ValueString(), plan.TargetType.ValueString()
	current, want := targetKeys(state.Targets), targetKeys(plan.Targets)
	out := r.reconcile(ctx, policyID, targetType, current, want)
	resp.Diagnostics.Append(out.diags...)
	if out.policyGone {
		// Nothing is bound to a policy that does not exist; the next
		// refresh removes the binding from state.
		resp.Diagnostics.Append(policyGoneError(current, want, policyID, out.err))
	}
	plan.Targets = targetsValue(out.bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setBindingIdentity(ctx, resp.Identity, policyID, targetType, &resp.Diagnostics)
}

func (r *devicePolicyBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state devicePolicyBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	out := r.reconcile(ctx, state.PolicyID.ValueString(), state.TargetType.ValueString(), targetKeys(state.Targets), nil)
	if out.policyGone || !out.diags.HasError() {
		return // nothing is bound any more: the binding leaves state
	}
	resp.Diagnostics.Append(out.diags...)
	// Keep in state what is still bound, so the next destroy finishes it.
	state.Targets = targetsValue(out.bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// ImportState takes `<policy_id>/<target_type>` from `terraform import` or
// an import block's id, or the policy id and target type from an import
// block's identity.
func (r *devicePolicyBindingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var policyID, targetType string
	if req.ID == "" && req.Identity != nil {
		var identity struct {
			PolicyID   types.String `tfsdk:"policy_id"`
			TargetType types.String `tfsdk:"target_type"`
		}
		resp.Diagnostics.Append(req.Identity.Get(ctx, &identity)...)
		if resp.Diagnostics.HasError() {
			return
		}
		policyID, targetType = identity.PolicyID.ValueString(), identity.TargetType.ValueString()
		if !policyIDPattern.MatchString(policyID) {
			resp.Diagnostics.AddAttributeError(path.Root("policy_id"), "Invalid Import Identity",
				fmt.Sprintf("policy_id %q is not a device policy id: expected 24 lower-case hexadecimal characters, e.g. 5c90fa7d3c4e4405e8525079.", policyID))
		}
		if !validTargetType(targetType) {
			resp.Diagnostics.AddAttributeError(path.Root("target_type"), "Invalid Import Identity",
				fmt.Sprintf("target_type %q is not device, product or app.", targetType))
		}
		if resp.Diagnostics.HasError() {
			return
		}
	} else {
		var ok bool
		policyID, targetType, ok = strings.Cut(req.ID, "/")
		if !ok || !policyIDPattern.MatchString(policyID) || !validTargetType(targetType) {
			resp.Diagnostics.AddError("Invalid Import ID",
				fmt.Sprintf("%q is not <policy_id>/<target_type>: expected a 24-character hexadecimal policy id, a slash, and device, product or app, e.g. 5c90fa7d3c4e4405e8525079/device.", req.ID))
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, devicePolicyBindingModel{
		ID:         types.StringValue(bindingID(policyID, targetType)),
		PolicyID:   types.StringValue(policyID),
		TargetType: types.StringValue(targetType),
		Targets:    types.MapNull(types.StringType),
	})...)
	setBindingIdentity(ctx, resp.Identity, policyID, targetType, &resp.Diagnostics)
}

func validTargetType(t string) bool {
	return t == iotda.TargetTypeDevice || t == iotda.TargetTypeProduct || t == iotda.TargetTypeApp
}

// setBindingIdentity records the identity of a binding; identity is nil
// when the CLI does not support resource identity.
func setBindingIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, policyID, targetType string, diags *diag.Diagnostics) {
	if identity != nil {
		diags.Append(identity.SetAttribute(ctx, path.Root("policy_id"), policyID)...)
		diags.Append(identity.SetAttribute(ctx, path.Root("target_type"), targetType)...)
	}
}

// UpgradeState turns the target_ids set of schema version 0 into the
// targets map of version 1.
func (r *devicePolicyBindingResource) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		0: {
			PriorSchema: &schema.Schema{
				Attributes: map[string]schema.Attribute{
					"id":          schema.StringAttribute{Computed: true},
					"policy_id":   schema.StringAttribute{Required: true},
					"target_type": schema.StringAttribute{Required: true},
					"target_ids": schema.SetAttribute{
						ElementType: types.StringType,
						CustomType:  newLargeStringSetType(),
						Required:    true,
					},
				},
			},
			StateUpgrader: upgradeBindingStateV0,
		},
	}
}

type devicePolicyBindingModelV0 struct {
	ID         types.String        `tfsdk:"id"`
	PolicyID   types.String        `tfsdk:"policy_id"`
	TargetType types.String        `tfsdk:"target_type"`
	TargetIDs  largeStringSetValue `tfsdk:"target_ids"`
}

func upgradeBindingStateV0(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
	var prior devicePolicyBindingModelV0
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	targets := types.MapNull(types.StringType)
	if !prior.TargetIDs.IsNull() {
		var ids []string
		resp.Diagnostics.Append(prior.TargetIDs.ElementsAs(ctx, &ids, false)...)
		if resp.Diagnostics.HasError() {
			return
		}
		targets = targetsValue(ids)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, devicePolicyBindingModel{
		ID:         prior.ID,
		PolicyID:   prior.PolicyID,
		TargetType: prior.TargetType,
		Targets:    targets,
	})...)
}

// bindingOutcome is what a reconciliation did; Create, Update and Delete
// each decide from it what to record.
type bindingOutcome struct {
	// bound is what is bound afterwards. After any failure it comes from a
	// listing, not from the answers; it is empty when the policy is gone.
	bound []string
	// policyGone is true when the policy turned out not to exist: nothing
	// is bound to it.
	policyGone bool
	// err is the error of the calls that failed as a whole.
	err error
	// diags reports the targets the API refused and the calls that failed,
	// except for the policy being gone, which the caller judges.
	diags diag.Diagnostics
}

// reconcile moves the targets bound to a policy from current to want.
func (r *devicePolicyBindingResource) reconcile(ctx context.Context, policyID, targetType string, current, want []string) bindingOutcome {
	res := r.client.ReconcileTargets(ctx, policyID, targetType, current, want)
	tflog.Debug(ctx, "reconciled device policy targets", map[string]any{
		"policy_id": policyID, "target_type": targetType, "bind_calls": res.BindCalls, "unbind_calls": res.UnbindCalls,
		"bound": len(res.Bound), "failures": len(res.Failures),
	})
	out := bindingOutcome{bound: res.Bound, err: res.Err}
	if errors.Is(res.Err, iotda.ErrNotFound) {
		out.policyGone, out.bound = true, nil
		return out
	}
	if res.Err == nil && len(res.Failures) == 0 {
		return out
	}
	// Something failed: record what the API says is bound, not what the
	// answers suggest. If even the listing fails, res.Bound counts every
	// target a failed call may have bound as bound: no binding is forgotten.
	if listed, err := r.listBound(ctx, policyID, targetType); err == nil {
		out.bound = listed
	}
	out.diags.AddError(bindingErrorSummary(current, want), bindingErrorDetail(policyID, targetType, res, out.bound))
	return out
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

func bindingErrorDetail(policyID, targetType string, res iotda.ReconcileResult, bound []string) string {
	var b strings.Builder
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

// policyGoneError is the error of a create or update whose policy does not
// exist (any more).
func policyGoneError(current, want []string, policyID string, err error) diag.Diagnostic {
	return diag.NewErrorDiagnostic(bindingErrorSummary(current, want),
		fmt.Sprintf("Device policy %s does not exist (any more): %s\n", policyID, err))
}

func bindingID(policyID, targetType string) string {
	return policyID + "/" + targetType
}

// targetsValue is the targets map of the given ids.
func targetsValue(ids []string) types.Map {
	elems := make(map[string]attr.Value, len(ids))
	for _, id := range ids {
		elems[id] = types.StringValue("")
	}
	return types.MapValueMust(types.StringType, elems)
}

// targetKeys returns the target ids of a targets map, sorted; none when it
// is null or unknown.
func targetKeys(m types.Map) []string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	return slices.Sorted(maps.Keys(m.Elements()))
}

// emptyTargetValues requires every value of the targets map to be "": the
// keys are the targets, and a value that meant something would be a trap.
type emptyTargetValues struct{}

func (emptyTargetValues) Description(context.Context) string {
	return `every value must be ""`
}

func (v emptyTargetValues) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (emptyTargetValues) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	// Report the first offending id in order; Elements copies the map, so
	// take it once.
	first, value, found := "", "", false
	for id, v := range req.ConfigValue.Elements() {
		if s, ok := v.(types.String); ok && !s.IsUnknown() && s.ValueString() != "" && (!found || id < first) {
			first, value, found = id, s.ValueString(), true
		}
	}
	if found {
		resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(first), "Invalid Target Value",
			fmt.Sprintf(`targets[%q] is %q; every value of targets must be "": the keys are the target ids and the values carry nothing. `+
				`Build the map with provider::iotda::targets(ids) or { for id in ids : id => "" }.`, first, value))
	}
}
