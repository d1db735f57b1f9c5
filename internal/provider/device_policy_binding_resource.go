package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
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
	_ resource.ResourceWithModifyPlan   = (*devicePolicyBindingResource)(nil)
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
	Exclusive  types.Bool   `tfsdk:"exclusive"`
	Targets    types.Map    `tfsdk:"targets"`
}

// exclusive reports whether the binding owns every target of its type
// bound to its policy. A state without the attribute (imported, or written
// before it existed) is exclusive, as every binding was then.
func (m devicePolicyBindingModel) exclusive() bool {
	return m.Exclusive.IsNull() || m.Exclusive.IsUnknown() || m.Exclusive.ValueBool()
}

func (r *devicePolicyBindingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy_binding"
}

func (r *devicePolicyBindingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version: 1,
		MarkdownDescription: "Targets of one type (devices, products or resource spaces) bound to one device policy. " +
			"By default the binding is exclusive: it is the complete set, and targets of that type bound to the policy outside it appear as drift and are unbound on the next apply. " +
			"With `exclusive = false` it manages only the targets it lists, so several bindings (of several teams or configurations) can share one policy. " +
			fmt.Sprintf("Changes are sent as the difference only, in calls of at most %d targets.", iotda.MaxTargetsPerCall),
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
			"exclusive": schema.BoolAttribute{
				MarkdownDescription: "Whether this binding owns every `target_type` target bound to the policy (`true`, the default) or only the targets it lists (`false`). " +
					"Exclusive: targets bound outside this binding are drift and are unbound on the next apply, and creating the binding unbinds those it does not list (the plan warns, naming them). " +
					"Use it when one binding is the single source of truth of who holds the policy. " +
					"Non-exclusive: the binding binds its targets, unbinds only those removed from its own list (or all of its own on destroy), reports drift only on its own targets, and leaves every other target alone. " +
					"Use it when several bindings, configurations or teams bind their own targets to one shared policy; list each target in one binding only. " +
					"Changing it updates the binding in place; switching to `true` unbinds the targets it does not list (the plan warns).",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"targets": schema.MapAttribute{
				MarkdownDescription: "The targets of `target_type` bound to the policy (all of them when exclusive, those this binding manages otherwise), keyed by target id (" + targetIDRule + "), " +
					"each with the value `\"\"`. Build it from a list of ids with `provider::iotda::targets(ids)` or `{ for id in ids : id => \"\" }`; " +
					"both fail on an id listed twice. With `exclusive = true`, an empty map means no target of this type is bound; with `exclusive = false`, that this binding binds none. " +
					"A device or product can have at most 5 policies bound.",
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
				Description:       "The id of the device policy " + policyIDForm + ".",
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

// ModifyPlan makes visible at plan time what the plan alone would hide:
// an exclusive binding that is created (or switched to exclusive) unbinds
// the targets bound outside it, and a binding whose policy does not exist
// cannot be created. Creating costs one listing of the policy's targets
// (or, when not exclusive, one read of the policy); the check is skipped
// while policy_id is unknown, that is while the policy is still to be
// created or replaced. A create also records in the planned private state
// which targets it binds, so that when it is the second half of a
// replacement the destroy half keeps them bound (see Delete).
func (r *devicePolicyBindingResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan devicePolicyBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.PolicyID.IsUnknown() || plan.TargetType.IsUnknown() {
		return
	}
	policyID, targetType := plan.PolicyID.ValueString(), plan.TargetType.ValueString()
	if req.State.Raw.IsNull() {
		if !plan.Targets.IsUnknown() {
			resp.Diagnostics.Append(setReplacement(ctx, resp.Private, replacement{PolicyID: policyID, TargetType: targetType, Targets: targetKeys(plan.Targets)})...)
		}
		if r.client == nil || plan.Exclusive.IsUnknown() {
			return
		}
		if plan.exclusive() {
			r.warnTakeover(ctx, policyID, targetType, plan.Targets, true, &resp.Diagnostics)
			return
		}
		if _, err := r.client.GetPolicy(ctx, policyID); errors.Is(err, iotda.ErrNotFound) {
			resp.Diagnostics.AddAttributeWarning(path.Root("policy_id"), policyNotFoundSummary, policyNotFoundDetail(policyID))
		}
		return
	}
	var state devicePolicyBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.planUnsure(ctx, plan, req.Private, resp)
	if r.client != nil && !state.exclusive() && !plan.Exclusive.IsUnknown() && plan.exclusive() {
		r.warnTakeover(ctx, policyID, targetType, plan.Targets, false, &resp.Diagnostics)
	}
}

// planUnsure plans the unbinding of targets a failed bind call may have
// bound (see bindingOutcome.unsure) that the configuration no longer
// lists. A refresh settles them and clears the list, so they are left only
// in a plan without refresh (-refresh=false, or a plan saved so): the state
// does not hold them, and without this nothing would unbind them. The
// plan shows an update (the id is recomputed) and says why.
func (r *devicePolicyBindingResource) planUnsure(ctx context.Context, plan devicePolicyBindingModel, private privateState, resp *resource.ModifyPlanResponse) {
	if plan.Targets.IsUnknown() {
		return
	}
	unsure, diags := getUnsure(ctx, private)
	resp.Diagnostics.Append(diags...)
	listed := plan.Targets.Elements() // a copy: take it once
	leaving := slices.DeleteFunc(unsure, func(id string) bool { return listed[id] != nil })
	if len(leaving) == 0 {
		return
	}
	resp.Diagnostics.AddAttributeWarning(path.Root("targets"), "Targets Possibly Bound Will Be Unbound",
		fmt.Sprintf("An earlier apply may have bound %d %s target(s) that the state does not record (a bind call and the listing after it failed): %s. "+
			"The configuration no longer lists them, so this apply unbinds them (unbinding a target that is not bound changes nothing). "+
			"A plan with refresh would have listed what is really bound.", len(leaving), plan.TargetType.ValueString(), firstFew(leaving)))
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), types.StringUnknown())...)
}

const policyNotFoundSummary = "Device Policy Not Found"

func policyNotFoundDetail(policyID string) string {
	return fmt.Sprintf("Device policy %s does not exist (any more), so this binding cannot be created: the apply will fail. "+
		"A policy deleted or destroyed elsewhere (for example by another configuration) takes all of its bindings with it. "+
		"Create the policy again first (apply the configuration that manages it), point policy_id at an existing policy, or remove this binding.", policyID)
}

// warnTakeover warns, naming the first few, about the targets bound to the
// policy that an exclusive binding, being created or switched to
// exclusive, does not list and will unbind. The listing of a create is
// kept for the Create that follows (see recentListings).
func (r *devicePolicyBindingResource) warnTakeover(ctx context.Context, policyID, targetType string, targets types.Map, create bool, diags *diag.Diagnostics) {
	action := "Switching this binding to exclusive"
	if create {
		action = "Creating this binding"
	}
	bound, err := r.listBound(ctx, policyID, targetType)
	if err == nil && create {
		recentListings.put(r.client, policyID, targetType, bound)
	}
	if errors.Is(err, iotda.ErrNotFound) {
		diags.AddAttributeWarning(path.Root("policy_id"), policyNotFoundSummary, policyNotFoundDetail(policyID))
		return
	}
	if err != nil {
		diags.AddWarning("Unable to Check the Targets Bound to Device Policy",
			fmt.Sprintf("The plan cannot tell which %s targets of device policy %s this exclusive binding would unbind: listing them failed: %s", targetType, policyID, err))
		return
	}
	others := bound
	if !targets.IsUnknown() {
		listed := targets.Elements() // a copy: take it once
		others = slices.DeleteFunc(bound, func(id string) bool { return listed[id] != nil })
	}
	if len(others) == 0 {
		return
	}
	var b strings.Builder
	if targets.IsUnknown() {
		fmt.Fprintf(&b, "Device policy %s has %d %s target(s) bound now (%s). %s unbinds every one of them that targets (known only after apply) does not list; those targets lose the policy.",
			policyID, len(others), targetType, firstFew(others), action)
	} else {
		fmt.Fprintf(&b, "Device policy %s has %d %s target(s) bound that this binding does not list: %s. %s unbinds them; they lose the policy.",
			policyID, len(others), targetType, firstFew(others), action)
	}
	b.WriteString(" The binding is exclusive (exclusive = true): it owns every target of its type bound to the policy. " +
		"To keep them bound, list them in targets, or set exclusive = false so that this binding manages only the targets it lists.")
	diags.AddAttributeWarning(path.Root("targets"), "Exclusive Binding Unbinds Targets Bound Outside It", b.String())
}

// firstFew names up to five ids and says how many more there are.
func firstFew(ids []string) string {
	const n = 5
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}

func (r *devicePolicyBindingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan devicePolicyBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := plan.PolicyID.ValueString(), plan.TargetType.ValueString()
	want := targetKeys(plan.Targets)
	var current []string
	if plan.exclusive() {
		// Authoritative from the start: targets already bound are part of
		// the difference, and unbound if the configuration leaves them out.
		// This also makes the create that replaces a tainted binding bind
		// only what is missing.
		var (
			err error
			ok  bool
		)
		current, ok = recentListings.take(r.client, policyID, targetType)
		if !ok {
			current, err = r.listBound(ctx, policyID, targetType)
		}
		if errors.Is(err, iotda.ErrNotFound) {
			resp.Diagnostics.AddError("Unable to Bind Device Policy", policyGoneDetail(policyID, err))
			return
		}
		if err != nil {
			resp.Diagnostics.AddError("Unable to Bind Device Policy",
				fmt.Sprintf("Listing the %s targets of device policy %s failed: %s", targetType, policyID, err))
			return
		}
	}
	// A non-exclusive create binds every target it lists: binding a target
	// that is bound already changes nothing, and listing a shared policy's
	// targets could cost more calls than it saves.
	out := r.reconcile(ctx, policyID, targetType, plan.exclusive(), current, want)
	if out.policyGone {
		resp.Diagnostics.AddError(bindingErrorSummary(current, want), policyGoneDetail(policyID, out.err))
		return
	}
	if out.diags.HasError() && len(out.bound) == 0 && len(out.unsure) == 0 {
		resp.Diagnostics.Append(out.diags...)
		return // a create that bound nothing leaves nothing behind
	}
	if out.diags.HasError() {
		out.appendDetail(partialCreateNote)
	}
	resp.Diagnostics.Append(out.diags...)
	plan.ID = types.StringValue(bindingID(policyID, targetType))
	plan.Targets = targetsValue(out.bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setBindingIdentity(ctx, resp.Identity, policyID, targetType, &resp.Diagnostics)
	resp.Diagnostics.Append(setUnsure(ctx, resp.Private, out.unsure)...)
}

// recentListings keeps, for a few seconds, the listing that planning a
// create made, for the Create that follows. Terraform plans every resource
// again just before it applies it, in the same provider process, so
// without it an apply would list the targets twice in a row: once to warn,
// once to know what to take over. Each listing is used once.
var recentListings = listingCache{entries: map[listingKey]listing{}}

// recentListingAge is how old a kept listing may be when Create uses it:
// long enough for the step from planning a resource to applying it, short
// enough that it never stands for a listing made before a user approved a
// plan.
const recentListingAge = 5 * time.Second

type listingKey struct {
	client               *iotda.Client
	policyID, targetType string
}

type listing struct {
	ids []string
	at  time.Time
}

type listingCache struct {
	mu      sync.Mutex
	entries map[listingKey]listing
}

func (c *listingCache) put(client *iotda.Client, policyID, targetType string, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, l := range c.entries {
		if now.Sub(l.at) > recentListingAge {
			delete(c.entries, k)
		}
	}
	c.entries[listingKey{client, policyID, targetType}] = listing{ids: slices.Clone(ids), at: now}
}

// take returns the kept listing and forgets it; false when there is none
// recent enough.
func (c *listingCache) take(client *iotda.Client, policyID, targetType string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := listingKey{client, policyID, targetType}
	l, ok := c.entries[k]
	delete(c.entries, k)
	if !ok || time.Since(l.at) > recentListingAge {
		return nil, false
	}
	return l.ids, true
}

// partialCreateNote tells what happens to a binding whose create partly
// failed. Terraform marks any create that fails as tainted, and plans to
// replace a tainted object: a destroy, then a create. The plan of that
// create records the targets it binds (ModifyPlan), the destroy keeps those
// bound, and the create binds only the missing ones, so no target loses the
// policy on the way.
const partialCreateNote = "Terraform marks a binding whose create failed as tainted and plans to replace it. " +
	"The replacement keeps the targets that stay in the configuration bound and binds only the missing ones: " +
	"no target loses the policy in between."

func (r *devicePolicyBindingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state devicePolicyBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	unsure, diags := getUnsure(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
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
	if !state.exclusive() {
		// Only its own targets, and those it may have bound when the
		// listing after a failure failed too.
		bound = ownTargets(bound, mergeIDs(targetKeys(state.Targets), unsure))
	}
	state.ID = types.StringValue(bindingID(policyID, targetType))
	state.Exclusive = types.BoolValue(state.exclusive())
	state.Targets = targetsValue(bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(setUnsure(ctx, resp.Private, nil)...) // the listing settled them
}

func (r *devicePolicyBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state devicePolicyBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	unsure, diags := getUnsure(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := plan.PolicyID.ValueString(), plan.TargetType.ValueString()
	want := targetKeys(plan.Targets)
	// Targets possibly bound by an earlier failed call count as bound when
	// they are to go (unbinding a target that is not bound is harmless),
	// and as missing when they are to stay (so they are bound for sure).
	listed := plan.Targets.Elements() // a copy: take it once
	leaving := slices.DeleteFunc(unsure, func(id string) bool { return listed[id] != nil })
	current := mergeIDs(targetKeys(state.Targets), leaving)
	if plan.exclusive() && !state.exclusive() {
		// Becoming exclusive: every target bound now is part of the difference.
		listed, err := r.listBound(ctx, policyID, targetType)
		if err != nil && !errors.Is(err, iotda.ErrNotFound) {
			resp.Diagnostics.AddError("Unable to Update Device Policy Binding",
				fmt.Sprintf("Listing the %s targets of device policy %s failed: %s", targetType, policyID, err))
			return
		}
		current = mergeIDs(current, listed)
	}
	out := r.reconcile(ctx, policyID, targetType, plan.exclusive(), current, want)
	resp.Diagnostics.Append(out.diags...)
	if out.policyGone {
		// Nothing is bound to a policy that does not exist; the next
		// refresh removes the binding from state.
		resp.Diagnostics.AddError(bindingErrorSummary(current, want), policyGoneDetail(policyID, out.err))
	}
	plan.ID = types.StringValue(bindingID(policyID, targetType))
	plan.Targets = targetsValue(out.bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	setBindingIdentity(ctx, resp.Identity, policyID, targetType, &resp.Diagnostics)
	resp.Diagnostics.Append(setUnsure(ctx, resp.Private, out.unsure)...)
	resp.Diagnostics.Append(setReplacement(ctx, resp.Private, replacement{})...)
}

// Delete unbinds the binding's targets. When the binding is being replaced
// by one of the same policy and target type (it was tainted, or replaced on
// request), the create that follows binds the targets its plan lists; those
// stay bound instead of being unbound and bound again, which would lift the
// policy (and its DENY statements) from them in between.
func (r *devicePolicyBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state devicePolicyBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	unsure, diags := getUnsure(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	next, diags := getReplacement(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	policyID, targetType := state.PolicyID.ValueString(), state.TargetType.ValueString()
	current := mergeIDs(targetKeys(state.Targets), unsure)
	var keep []string
	if next.PolicyID == policyID && next.TargetType == targetType {
		keep = ownTargets(current, next.Targets)
	}
	out := r.reconcile(ctx, policyID, targetType, state.exclusive(), current, keep)
	tflog.Debug(ctx, "destroyed device policy binding", map[string]any{"policy_id": policyID, "target_type": targetType, "kept_for_replacement": len(keep)})
	if out.policyGone || !out.diags.HasError() {
		return // nothing of it is bound any more: the binding leaves state
	}
	resp.Diagnostics.Append(out.diags...)
	// Keep in state what is still bound, so the next destroy finishes it.
	state.Targets = targetsValue(out.bound)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	resp.Diagnostics.Append(setUnsure(ctx, resp.Private, out.unsure)...)
	resp.Diagnostics.Append(setReplacement(ctx, resp.Private, replacement{})...)
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
		if !iotda.PolicyIDPattern.MatchString(policyID) {
			resp.Diagnostics.AddAttributeError(path.Root("policy_id"), "Invalid Import Identity",
				"policy_id "+notPolicyID(policyID))
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
		if !ok || !iotda.PolicyIDPattern.MatchString(policyID) || !validTargetType(targetType) {
			resp.Diagnostics.AddError("Invalid Import ID",
				fmt.Sprintf("%q is not <policy_id>/<target_type>: expected a policy id %s, a slash, and device, product or app, e.g. %s/device.", req.ID, policyIDForm, iotda.ExamplePolicyID))
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, devicePolicyBindingModel{
		ID:         types.StringValue(bindingID(policyID, targetType)),
		PolicyID:   types.StringValue(policyID),
		TargetType: types.StringValue(targetType),
		Exclusive:  types.BoolValue(true),
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
		Exclusive:  types.BoolValue(true),
		Targets:    targets,
	})...)
}

// bindingOutcome is what a reconciliation did; Create, Update and Delete
// each decide from it what to record.
type bindingOutcome struct {
	// bound is what is bound afterwards (of a non-exclusive binding: what
	// it owns). After any failure it comes from a listing, not from the
	// answers; it is empty when the policy is gone. When that listing
	// failed too, it holds the targets bound for certain and those whose
	// unbinding may have failed.
	bound []string
	// unsure are the targets of bind calls that failed as a whole when the
	// listing that would tell failed too: the API may or may not have bound
	// them. They are not in bound, so the next plan binds them again, and
	// they are kept in private state, so that they are unbound if they
	// leave the configuration and a refresh looks for them.
	unsure []string
	// policyGone is true when the policy turned out not to exist: nothing
	// is bound to it.
	policyGone bool
	// err is the error of the calls that failed as a whole.
	err error
	// diags reports the targets the API refused and the calls that failed,
	// except for the policy being gone, which the caller judges.
	diags diag.Diagnostics
}

// appendDetail adds a paragraph to the detail of the outcome's error.
func (o *bindingOutcome) appendDetail(text string) {
	for i, d := range o.diags {
		if d.Severity() == diag.SeverityError {
			o.diags[i] = diag.NewErrorDiagnostic(d.Summary(), d.Detail()+"\n\n"+text)
			return
		}
	}
}

// reconcile moves the targets bound to a policy from current to want. A
// non-exclusive binding owns only current and want: other targets the
// listing after a failure finds are not its own.
func (r *devicePolicyBindingResource) reconcile(ctx context.Context, policyID, targetType string, exclusive bool, current, want []string) bindingOutcome {
	res := r.client.ReconcileTargets(ctx, policyID, targetType, current, want)
	tflog.Debug(ctx, "reconciled device policy targets", map[string]any{
		"policy_id": policyID, "target_type": targetType, "exclusive": exclusive, "bind_calls": res.BindCalls, "unbind_calls": res.UnbindCalls,
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
	// answers suggest.
	listed, listErr := r.listBound(ctx, policyID, targetType)
	if listErr == nil {
		out.bound = listed
		if !exclusive {
			out.bound = ownTargets(listed, mergeIDs(current, want))
		}
	} else {
		// Record only what is bound for certain (and what may still be
		// bound after a failed unbind, so that it is unbound again).
		out.unsure = res.Unsure
		out.bound = slices.DeleteFunc(slices.Clone(res.Bound), func(id string) bool { _, found := slices.BinarySearch(res.Unsure, id); return found })
	}
	out.diags.AddError(bindingErrorSummary(current, want), bindingErrorDetail(policyID, targetType, res, out, listErr))
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
	slices.Sort(ids)
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

func bindingErrorDetail(policyID, targetType string, res iotda.ReconcileResult, out bindingOutcome, listErr error) string {
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
	if listErr == nil {
		fmt.Fprintf(&b, "\nThe state records the %d %s target(s) bound now; the next plan shows what is still to be done.", len(out.bound), targetType)
		return b.String()
	}
	fmt.Fprintf(&b, "\nListing the targets to learn what the API did failed too (%s), so %d %s target(s) are bound or possibly bound. ", listErr, len(out.bound)+len(out.unsure), targetType)
	fmt.Fprintf(&b, "The state records the %d bound for certain or whose unbinding may have failed", len(out.bound))
	if len(out.unsure) > 0 {
		fmt.Fprintf(&b, "; %d more (%s) may or may not be bound: the next plan binds them again to be sure, with or without a refresh", len(out.unsure), firstFew(out.unsure))
	}
	b.WriteString(". The next refresh lists what is really bound.")
	return b.String()
}

// policyGoneDetail is the error detail of a binding whose policy does not
// exist (any more).
func policyGoneDetail(policyID string, err error) string {
	return fmt.Sprintf("Device policy %s does not exist (any more): %s\n\n"+
		"Deleting a policy unbinds everything bound to it, so nothing is bound. If the policy was destroyed or deleted elsewhere "+
		"(for example by another configuration), create it again there and apply that configuration first, then apply this one; "+
		"otherwise point policy_id at an existing policy, or remove this binding from the configuration.", policyID, err)
}

// ownTargets returns the ids of listed that are in own (both sorted).
func ownTargets(listed, own []string) []string {
	var ids []string
	for _, id := range listed {
		if _, found := slices.BinarySearch(own, id); found {
			ids = append(ids, id)
		}
	}
	return ids
}

// mergeIDs returns the sorted union of a and b.
func mergeIDs(a, b []string) []string {
	ids := slices.Concat(a, b)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Private state keys. unsure lists the targets a failed bind call may have
// bound that no listing could confirm; replacement is set only in the plan
// of a create and says what the create binds (see Delete).
const (
	privateUnsure      = "unsure_targets"
	privateReplacement = "replacement"
)

// privateState is the part of the framework's private state the binding
// uses.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// replacement is what a planned create binds.
type replacement struct {
	PolicyID   string   `json:"policy_id"`
	TargetType string   `json:"target_type"`
	Targets    []string `json:"targets"`
}

func getUnsure(ctx context.Context, p privateState) ([]string, diag.Diagnostics) {
	var ids []string
	diags := getPrivate(ctx, p, privateUnsure, &ids)
	slices.Sort(ids)
	return ids, diags
}

func setUnsure(ctx context.Context, p privateState, ids []string) diag.Diagnostics {
	if len(ids) == 0 {
		return clearPrivate(ctx, p, privateUnsure)
	}
	data, _ := json.Marshal(ids)
	return p.SetKey(ctx, privateUnsure, data)
}

func getReplacement(ctx context.Context, p privateState) (replacement, diag.Diagnostics) {
	var next replacement
	diags := getPrivate(ctx, p, privateReplacement, &next)
	slices.Sort(next.Targets)
	return next, diags
}

func setReplacement(ctx context.Context, p privateState, next replacement) diag.Diagnostics {
	if next.PolicyID == "" {
		return clearPrivate(ctx, p, privateReplacement)
	}
	data, _ := json.Marshal(next)
	return p.SetKey(ctx, privateReplacement, data)
}

// clearPrivate removes a key if it is set.
func clearPrivate(ctx context.Context, p privateState, key string) diag.Diagnostics {
	if data, diags := p.GetKey(ctx, key); diags.HasError() || len(data) == 0 {
		return diags
	}
	return p.SetKey(ctx, key, nil)
}

func getPrivate(ctx context.Context, p privateState, key string, v any) diag.Diagnostics {
	if p == nil {
		return nil
	}
	data, diags := p.GetKey(ctx, key)
	if diags.HasError() || len(data) == 0 {
		return diags
	}
	if err := json.Unmarshal(data, v); err != nil {
		diags.AddError("Invalid Private State", fmt.Sprintf("The private state %q of the binding is not what this provider writes: %s. This is a bug in the provider; please report it.", key, err))
	}
	return diags
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
