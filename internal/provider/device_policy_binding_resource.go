package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

	"github.com/iotda-terraform/terraform-provider-iotda/internal/binding"
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
					stringvalidator.OneOf(iotda.TargetTypes()...),
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
					fmt.Sprintf("A device or product can have at most %d policies bound.", iotda.MaxPoliciesPerTarget),
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

// binding maps the model, with its targets (see readBinding) and the
// unsure and outside targets of its private state, to what
// internal/binding works on.
func (m devicePolicyBindingModel) binding(targets, unsure, outside []string) binding.Binding {
	return binding.Binding{
		PolicyID:   m.PolicyID.ValueString(),
		TargetType: m.TargetType.ValueString(),
		Exclusive:  m.exclusive(),
		Targets:    targets,
		Unsure:     unsure,
		Outside:    outside,
	}
}

func (r *devicePolicyBindingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !requireClient(r.client, "create", &resp.Diagnostics) {
		return
	}
	plan, targets, diags := readBinding(ctx, req.Plan.Raw)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	setState, setIdentity := frameworkWriters(ctx, &resp.State, resp.Identity, targets, &resp.Diagnostics)
	r.create(ctx, createIO{plan: plan, targets: targets.ids, out: resp.Private, setState: setState, setIdentity: setIdentity}, &resp.Diagnostics)
}

// createIO is what a create reads and writes: the planned attributes
// (Targets unset) and target ids, sorted; the private state written (the
// framework gives a create an empty one, not the planned one); and how the
// new state and the identity are set. The state stays null when it sets
// none. The framework's Create and the protocol's (see bindingApply) each
// give theirs.
type createIO struct {
	plan        devicePolicyBindingModel
	targets     []string
	out         privateState
	setState    func(m devicePolicyBindingModel, ids []string)
	setIdentity func(policyID, targetType string)
}

// create is the binding's Create with a client and a plan it could read.
func (r *devicePolicyBindingResource) create(ctx context.Context, io createIO, diags *diag.Diagnostics) {
	next := io.plan.binding(io.targets, nil, nil)
	res := binding.Create(ctx, r.client, next)
	logResult(ctx, "created device policy binding", next, res)
	switch {
	case res.PolicyGone:
		diags.AddError(bindingErrorSummary(res), policyGoneDetail(next.PolicyID, res.Err()))
		return
	case res.FirstListErr != nil:
		diags.AddError(bindingErrorSummary(res), listingFailedDetail(next, res.FirstListErr))
		return
	case res.Failed() && len(res.Targets) == 0 && len(res.Unsure) == 0:
		diags.AddError(bindingErrorSummary(res), bindingErrorDetail(next, res))
		return // a create that bound nothing leaves nothing behind
	case res.Failed():
		diags.AddError(bindingErrorSummary(res), bindingErrorDetail(next, res)+"\n\n"+partialCreateNote)
	}
	plan := io.plan
	plan.ID = types.StringValue(bindingID(next.PolicyID, next.TargetType))
	io.setState(plan, res.Targets)
	io.setIdentity(next.PolicyID, next.TargetType)
	diags.Append(setBindingPrivate(ctx, io.out, res.Unsure, res.Outside)...)
	diags.Append(setAppliedAt(ctx, io.out, res)...)
}

func (r *devicePolicyBindingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, targets, diags := readBinding(ctx, req.State.Raw)
	resp.Diagnostics.Append(diags...)
	r.refresh(ctx, refreshIO{
		state: state, targets: targets.ids, in: req.Private, out: resp.Private,
		setIdentity: func(policyID, targetType string) {
			setBindingIdentity(ctx, resp.Identity, policyID, targetType, &resp.Diagnostics)
		},
		setState: func(m devicePolicyBindingModel, ids []string) {
			resp.Diagnostics.Append(setBindingState(ctx, &resp.State, m, ids, targets)...)
		},
		remove: func() { resp.State.RemoveResource(ctx) },
	}, &resp.Diagnostics)
}

// refreshIO is what a refresh reads and writes: the prior state's
// attributes (Targets unset) and its target ids, sorted; the private state
// read and the one written (one and the same for the framework); and how
// the identity and the new state are set, or the state removed. The
// framework's Read and the protocol's (see bindingRead) each give theirs.
type refreshIO struct {
	state       devicePolicyBindingModel
	targets     []string
	in, out     privateState
	setIdentity func(policyID, targetType string)
	setState    func(m devicePolicyBindingModel, ids []string)
	remove      func()
}

// refresh is the binding's Read. diags may hold errors already (of reading
// the state); it then only adds those of the private state. The state is
// left as it was when it sets neither a new one nor removes it.
func (r *devicePolicyBindingResource) refresh(ctx context.Context, io refreshIO, diags *diag.Diagnostics) {
	priv, d := getBindingPrivate(ctx, io.in)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	prior := io.state.binding(io.targets, priv.unsure, priv.outside)
	// Before the call: the framework wants an identity even from a Read
	// that removes the binding, and older CLIs kept none in state.
	io.setIdentity(prior.PolicyID, prior.TargetType)
	if r.client == nil {
		// As for device policies: no refresh until the configuration is known.
		tflog.Info(ctx, "provider configuration not known; device policy binding not refreshed")
		return
	}
	// Straight after this binding's own apply, the listing may not show
	// its calls yet: binding.Read waits, within bounds, for them.
	written, d := getWrittenAt(ctx, io.in)
	diags.Append(d...)
	now, err := binding.Read(ctx, r.client, prior, written)
	diags.Append(setWrittenAt(ctx, io.out, time.Time{})...)
	if errors.Is(err, iotda.ErrNotFound) {
		tflog.Warn(ctx, "device policy no longer exists; removing its binding from state", map[string]any{"policy_id": prior.PolicyID})
		io.remove()
		return
	}
	if err != nil {
		diags.AddError("Unable to Read Device Policy Binding", listingFailedDetail(prior, err))
		return
	}
	state := io.state
	state.ID = types.StringValue(bindingID(prior.PolicyID, prior.TargetType))
	state.Exclusive = types.BoolValue(prior.Exclusive)
	io.setState(state, now.Targets)
	diags.Append(setBindingPrivate(ctx, io.out, now.Unsure, now.Outside)...)
}

func (r *devicePolicyBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !requireClient(r.client, "update", &resp.Diagnostics) {
		return
	}
	plan, targets, diags := readBinding(ctx, req.Plan.Raw)
	resp.Diagnostics.Append(diags...)
	state, stateTargets, diags := readBinding(ctx, req.State.Raw)
	resp.Diagnostics.Append(diags...)
	setState, setIdentity := frameworkWriters(ctx, &resp.State, resp.Identity, targets, &resp.Diagnostics)
	r.update(ctx, updateIO{
		plan: plan, targets: targets.ids, state: state, stateTargets: stateTargets.ids, in: req.Private, out: resp.Private,
		setState: setState, setIdentity: setIdentity,
	}, &resp.Diagnostics)
}

// updateIO is what an update reads and writes: the planned attributes
// (Targets unset) and target ids, sorted; the prior state's; the private
// state read and the one written (one and the same for the framework);
// and how the new state and the identity are set. The state is left as
// it was (the prior one) when it sets none. The framework's Update and
// the protocol's (see bindingApply) each give theirs.
type updateIO struct {
	plan         devicePolicyBindingModel
	targets      []string
	state        devicePolicyBindingModel
	stateTargets []string
	in, out      privateState
	setState     func(m devicePolicyBindingModel, ids []string)
	setIdentity  func(policyID, targetType string)
}

// update is the binding's Update with a client. diags may hold errors
// already (of reading the plan or state); it then only adds those of the
// private state.
func (r *devicePolicyBindingResource) update(ctx context.Context, io updateIO, diags *diag.Diagnostics) {
	priv, d := getBindingPrivate(ctx, io.in)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	prior := io.state.binding(io.stateTargets, priv.unsure, priv.outside)
	next := io.plan.binding(io.targets, nil, nil)
	res := binding.Update(ctx, r.client, prior, next)
	logResult(ctx, "updated device policy binding", next, res)
	switch {
	case res.PolicyGone:
		// Nothing is bound to a policy that does not exist; the next
		// refresh removes the binding from state.
		diags.AddError(bindingErrorSummary(res), policyGoneDetail(next.PolicyID, res.Err()))
	case res.FirstListErr != nil:
		diags.AddError("Unable to Update Device Policy Binding", listingFailedDetail(next, res.FirstListErr))
		return
	case res.Failed():
		diags.AddError(bindingErrorSummary(res), bindingErrorDetail(next, res))
	}
	plan := io.plan
	plan.ID = types.StringValue(bindingID(next.PolicyID, next.TargetType))
	io.setState(plan, res.Targets)
	io.setIdentity(next.PolicyID, next.TargetType)
	diags.Append(setBindingPrivate(ctx, io.out, res.Unsure, res.Outside)...)
	diags.Append(setReplacement(ctx, io.out, nil)...)
	diags.Append(setAppliedAt(ctx, io.out, res)...)
}

// setAppliedAt records, after an apply that succeeded, when it ended, for
// the refresh after it (see binding.Read), and clears it after a failure:
// the state then comes from a listing, which the next refresh does not
// wait for.
func setAppliedAt(ctx context.Context, p privateState, res binding.Result) diag.Diagnostics {
	if res.Failed() {
		return setWrittenAt(ctx, p, time.Time{})
	}
	return setWrittenAt(ctx, p, time.Now())
}

// Delete unbinds the binding's targets. When the binding is being replaced
// by one of the same policy and target type (it was tainted, or replaced on
// request), the create that follows binds the targets its plan lists (see
// ModifyPlan); binding.Delete keeps those bound.
func (r *devicePolicyBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !requireClient(r.client, "delete", &resp.Diagnostics) {
		return
	}
	state, targets, priv, prior := priorBinding(ctx, req.State, req.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	res := binding.Delete(ctx, r.client, prior, priv.replacement)
	logResult(ctx, "destroyed device policy binding", prior, res)
	if res.PolicyGone || !res.Failed() {
		return // nothing of it is bound any more: the binding leaves state
	}
	resp.Diagnostics.AddError(bindingErrorSummary(res), bindingErrorDetail(prior, res))
	// Keep in state what is still bound, so the next destroy finishes it.
	resp.Diagnostics.Append(setBindingState(ctx, &resp.State, state, res.Targets, targets)...)
	resp.Diagnostics.Append(setBindingPrivate(ctx, resp.Private, res.Unsure, res.Outside)...)
	resp.Diagnostics.Append(setReplacement(ctx, resp.Private, nil)...)
}

// logResult logs what an apply did, with its call counts.
func logResult(ctx context.Context, msg string, b binding.Binding, res binding.Result) {
	tflog.Debug(ctx, msg, map[string]any{
		"policy_id": b.PolicyID, "target_type": b.TargetType, "exclusive": b.Exclusive,
		"bind_calls": res.BindCalls, "unbind_calls": res.UnbindCalls,
		"bound": len(res.Targets), "failures": len(res.Failures), "policy_gone": res.PolicyGone,
	})
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
