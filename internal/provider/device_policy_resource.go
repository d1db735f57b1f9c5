package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
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
	_ resource.Resource                   = (*devicePolicyResource)(nil)
	_ resource.ResourceWithConfigure      = (*devicePolicyResource)(nil)
	_ resource.ResourceWithImportState    = (*devicePolicyResource)(nil)
	_ resource.ResourceWithValidateConfig = (*devicePolicyResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*devicePolicyResource)(nil)
	_ resource.ResourceWithIdentity       = (*devicePolicyResource)(nil)
)

// NewDevicePolicyResource returns the iotda_device_policy resource.
func NewDevicePolicyResource() resource.Resource {
	return &devicePolicyResource{}
}

type devicePolicyResource struct {
	client *iotda.Client
}

type devicePolicyModel struct {
	ID         types.String     `tfsdk:"id"`
	PolicyName types.String     `tfsdk:"policy_name"`
	AppID      types.String     `tfsdk:"app_id"`
	Statement  []statementModel `tfsdk:"statement"`
	CreateTime types.String     `tfsdk:"create_time"`
	UpdateTime types.String     `tfsdk:"update_time"`
}

type statementModel struct {
	Effect    types.String `tfsdk:"effect"`
	Actions   types.Set    `tfsdk:"actions"`
	Resources types.Set    `tfsdk:"resources"`
}

func (r *devicePolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_policy"
}

func (r *devicePolicyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A device policy: ALLOW and DENY rules on the MQTT topics devices may publish and subscribe to. " +
			"A policy acts only once it is bound to devices, products or a resource space (see `iotda_device_policy_binding`). " +
			fmt.Sprintf("An instance holds at most %d policies.", iotda.MaxPoliciesPerInstance),
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The policy id " + policyIDForm + ".",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"policy_name": schema.StringAttribute{
				MarkdownDescription: "The policy name: " + policyNameRule + ". Changing it updates the policy in place.",
				Required:            true,
				Validators:          policyNameValidators(),
			},
			"app_id": schema.StringAttribute{
				MarkdownDescription: "The resource space (application) id: " + appIDRule + ". " +
					"Omitted, the policy belongs to the instance's default resource space, whose id is shown after apply. Changing it replaces the policy; " +
					"removing it from the configuration later keeps the policy where it is.",
				Optional: true,
				Computed: true,
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplace(),
				},
				Validators: appIDValidators(),
			},
			"create_time": schema.StringAttribute{
				MarkdownDescription: createTimeDescription,
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"update_time": schema.StringAttribute{
				MarkdownDescription: updateTimeDescription,
				Computed:            true,
			},
		},
		Blocks: map[string]schema.Block{
			// statement is a block, not a nested attribute: configurations
			// write `statement { ... }` as they do for the huaweicloud
			// provider's huaweicloud_iotda_device_policy (whose state moves
			// here, see device_policy_move_state.go), and `dynamic` blocks
			// can build statements from data. Blocks have no Required flag:
			// statementsRequired and SizeBetween enforce 1 to MaxStatements, and
			// scripts/docs.sh gives the block min_items 1 so that the docs
			// list it as required. Re-check both at every framework upgrade.
			"statement": schema.ListNestedBlock{
				MarkdownDescription: fmt.Sprintf("The rules of the policy, 1 to %d. When ALLOW and DENY statements match the same action and topic, DENY wins.", iotda.MaxStatements),
				Validators: []validator.List{
					statementsRequired{},
					listvalidator.SizeBetween(1, iotda.MaxStatements),
				},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"effect": schema.StringAttribute{
							MarkdownDescription: "`ALLOW` or `DENY`.",
							Required:            true,
							Validators:          []validator.String{stringvalidator.OneOf(iotda.EffectAllow, iotda.EffectDeny)},
						},
						"actions": schema.SetAttribute{
							MarkdownDescription: "The MQTT actions governed: `iotda:devices:publish` and/or `iotda:devices:subscribe`.",
							ElementType:         types.StringType,
							Required:            true,
							Validators: []validator.Set{
								setvalidator.SizeAtLeast(1),
								setvalidator.ValueStringsAre(stringvalidator.OneOf(iotda.ActionPublish, iotda.ActionSubscribe)),
							},
						},
						"resources": schema.SetAttribute{
							MarkdownDescription: fmt.Sprintf("1 to %d topics, each `topic:` followed by a topic pattern of at most %d bytes made of letters, digits and `/{}$=+#?*:._-`. ", iotda.MaxResources, iotda.MaxTopicBytes) +
								patternRules + " " +
								"The variables `${devices.deviceId}`, `${devices.productId}` and `${devices.clientId}` stand for the connecting device's own values; in HCL write them as `$${devices.deviceId}`.",
							ElementType: types.StringType,
							Required:    true,
							Validators: []validator.Set{
								setvalidator.SizeBetween(1, iotda.MaxResources),
								setvalidator.ValueStringsAre(topicResourceValidator{}),
							},
						},
					},
				},
			},
		},
	}
}

// IdentitySchema makes the policy id the identity: it alone names a policy
// in the instance the provider is configured for. The project and instance
// are not part of it (see the resource docs).
func (r *devicePolicyResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"policy_id": identityschema.StringAttribute{
				Description:       "The policy id " + policyIDForm + ".",
				RequiredForImport: true,
			},
		},
	}
}

// ValidateConfig checks what the schema cannot, once the statements are
// known: the API's limit on the size of a policy, iotda.MaxPolicyBytes.
func (r *devicePolicyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var statements []statementModel
	if diags := req.Config.GetAttribute(ctx, path.Root("statement"), &statements); diags.HasError() {
		return // unknown values: checked again once known
	}
	expanded, ok := expandStatements(ctx, statements)
	if !ok {
		return
	}
	if encoded, err := json.Marshal(expanded); err == nil && len(encoded) > iotda.MaxPolicyBytes {
		resp.Diagnostics.AddAttributeError(path.Root("statement"), "Device Policy Too Large",
			fmt.Sprintf("The statements of this policy take %d bytes; IoTDA allows at most %d bytes (%d KB) per policy. Split it into several policies.", len(encoded), iotda.MaxPolicyBytes, iotda.MaxPolicyBytes/1024))
	}
}

func (r *devicePolicyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *devicePolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if !requireClient(r.client, "create", &resp.Diagnostics) {
		return
	}
	var plan devicePolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	statements, ok := plannedStatements(ctx, plan, &resp.Diagnostics)
	if !ok {
		return
	}
	policy, outcome, err := r.client.CreatePolicyResolved(ctx, iotda.CreatePolicyRequest{
		PolicyName: plan.PolicyName.ValueString(),
		AppID:      plan.AppID.ValueString(),
		Statement:  statements,
	})
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create Device Policy", createFailure(err, plan))
		return
	}
	if outcome.Found {
		resp.Diagnostics.AddWarning("Device Policy Found After a Lost Answer",
			fmt.Sprintf("The answer to the create of device policy %q was lost, so the API may have acted. A listing found exactly one policy of that name%s, created since the call started, with the planned statements: %s. "+
				"It is recorded in the state as this resource.", plan.PolicyName.ValueString(), inSpace(plan.AppID.ValueString()), policy.PolicyID))
	}
	tflog.Info(ctx, "created device policy", map[string]any{"policy_id": policy.PolicyID})
	policy.Statement = orderLike(statements, policy.Statement)
	resp.Diagnostics.Append(resp.State.Set(ctx, flattenPolicy(policy))...)
	setPolicyIdentity(ctx, resp.Identity, policy.PolicyID, &resp.Diagnostics)
	if resp.Private != nil { // the framework always sets it; a response built by hand may not
		resp.Diagnostics.Append(setWrittenAt(ctx, resp.Private, time.Now())...)
	}
}

func (r *devicePolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state devicePolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// The identity is known before the call: a state written by a CLI
	// without identity support (before Terraform 1.12) has none, and the
	// framework wants one even from a Read that removes the resource.
	setPolicyIdentity(ctx, resp.Identity, state.ID.ValueString(), &resp.Diagnostics)
	if r.client == nil {
		// Refresh while the provider configuration is unknown at plan keeps
		// the prior state; the apply refreshes with the known configuration.
		tflog.Info(ctx, "provider configuration not known; device policy not refreshed")
		return
	}
	if !checkMovedRegion(ctx, req.Private, r.client.Region(), state.ID, &resp.Diagnostics) {
		return
	}
	// Straight after this provider's own write the API may still show the
	// policy as it was before (see iotda.ReadAfterWrite): wait, within
	// bounds, for what was written rather than drop or undo it.
	written, diags := getWrittenAt(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	prior, priorKnown := expandStatements(ctx, state.Statement)
	policy, err := iotda.ReadAfterWrite(ctx, r.client, written, func(ctx context.Context) (*iotda.Policy, error) {
		return r.client.GetPolicy(ctx, state.ID.ValueString())
	}, func(p *iotda.Policy) bool {
		return p.PolicyName == state.PolicyName.ValueString() && priorKnown && sameStatements(prior, p.Statement)
	})
	resp.Diagnostics.Append(setWrittenAt(ctx, resp.Private, time.Time{})...)
	if errors.Is(err, iotda.ErrNotFound) {
		tflog.Warn(ctx, "device policy no longer exists; removing it from state", map[string]any{"policy_id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Device Policy",
			fmt.Sprintf("Reading device policy %s failed: %s", state.ID.ValueString(), err))
		return
	}
	if priorKnown {
		policy.Statement = orderLike(prior, policy.Statement)
	}
	// The policy was found where the provider looks: a moved one passed
	// the region guard for good.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, movedFromRegionKey, nil)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, flattenPolicy(policy))...)
	setPolicyIdentity(ctx, resp.Identity, policy.PolicyID, &resp.Diagnostics)
}

func (r *devicePolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if !requireClient(r.client, "update", &resp.Diagnostics) {
		return
	}
	var plan, state devicePolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	statements, ok := plannedStatements(ctx, plan, &resp.Diagnostics)
	if !ok {
		return
	}
	policy, err := r.client.UpdatePolicy(ctx, state.ID.ValueString(), iotda.UpdatePolicyRequest{
		PolicyName: plan.PolicyName.ValueString(),
		Statement:  statements,
	})
	if err != nil {
		resp.Diagnostics.AddError("Unable to Update Device Policy",
			fmt.Sprintf("Updating device policy %s (%q) failed: %s", state.ID.ValueString(), plan.PolicyName.ValueString(), err))
		return
	}
	policy.Statement = orderLike(statements, policy.Statement)
	resp.Diagnostics.Append(resp.State.Set(ctx, flattenPolicy(policy))...)
	setPolicyIdentity(ctx, resp.Identity, policy.PolicyID, &resp.Diagnostics)
	resp.Diagnostics.Append(setWrittenAt(ctx, resp.Private, time.Now())...)
}

func (r *devicePolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if !requireClient(r.client, "delete", &resp.Diagnostics) {
		return
	}
	var state devicePolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.client.DeletePolicy(ctx, state.ID.ValueString())
	if err != nil && !errors.Is(err, iotda.ErrNotFound) {
		resp.Diagnostics.AddError("Unable to Delete Device Policy",
			fmt.Sprintf("Deleting device policy %s failed: %s", state.ID.ValueString(), err))
	}
}

// ImportState takes the policy id from `terraform import`, an import
// block's id, or an import block's identity.
func (r *devicePolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := req.ID
	byIdentity := id == "" && req.Identity != nil
	if byIdentity {
		var policyID types.String
		resp.Diagnostics.Append(req.Identity.GetAttribute(ctx, path.Root("policy_id"), &policyID)...)
		if resp.Diagnostics.HasError() {
			return
		}
		id = policyID.ValueString()
	}
	if !iotda.PolicyIDPattern.MatchString(id) {
		problem := notPolicyID(id)
		if byIdentity {
			resp.Diagnostics.AddAttributeError(path.Root("policy_id"), "Invalid Import Identity", "policy_id "+problem)
		} else {
			resp.Diagnostics.AddError("Invalid Import ID", problem)
		}
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	setPolicyIdentity(ctx, resp.Identity, id, &resp.Diagnostics)
}

// setPolicyIdentity records the identity of a policy. Identity is nil when
// the CLI does not support resource identity (before Terraform 1.12).
func setPolicyIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, policyID string, diags *diag.Diagnostics) {
	if identity != nil {
		diags.Append(identity.SetAttribute(ctx, path.Root("policy_id"), policyID)...)
	}
}

// plannedStatements converts the planned statements for the API. Terraform
// only applies known values, so an unknown one is a bug worth an error.
func plannedStatements(ctx context.Context, plan devicePolicyModel, diags *diag.Diagnostics) ([]iotda.Statement, bool) {
	statements, ok := expandStatements(ctx, plan.Statement)
	if !ok {
		diags.AddError("Invalid Device Policy Statements", "The planned statements have unknown values at apply time. This is a bug in the provider; please report it.")
	}
	return statements, ok
}

// expandStatements converts statements to the API model. It reports false
// when a value is not known yet.
func expandStatements(ctx context.Context, in []statementModel) ([]iotda.Statement, bool) {
	out := make([]iotda.Statement, 0, len(in))
	for _, s := range in {
		if s.Effect.IsUnknown() || s.Actions.IsUnknown() || s.Resources.IsUnknown() {
			return nil, false
		}
		var actions, resources []string
		var diags diag.Diagnostics
		diags.Append(s.Actions.ElementsAs(ctx, &actions, false)...)
		diags.Append(s.Resources.ElementsAs(ctx, &resources, false)...)
		if diags.HasError() {
			return nil, false
		}
		slices.Sort(actions)
		slices.Sort(resources)
		out = append(out, iotda.Statement{Effect: s.Effect.ValueString(), Actions: actions, Resources: resources})
	}
	return out, true
}

// sameStatements reports whether a and b hold the same statements in any
// order, each with its actions and resources in any order.
func sameStatements(a, b []iotda.Statement) bool {
	keys := func(stmts []iotda.Statement) []string {
		out := make([]string, len(stmts))
		for i, s := range stmts {
			out[i] = iotda.StatementKey(s)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(keys(a), keys(b))
}

// orderLike returns the API's statements in the order of prior when both
// hold the same statements: the order of statements means nothing to IoTDA
// (DENY wins wherever it stands), so an API that returns them reordered
// must not show as a change. Anything else is returned as the API sent it.
func orderLike(prior, api []iotda.Statement) []iotda.Statement {
	if len(prior) != len(api) {
		return api
	}
	byKey := map[string][]iotda.Statement{}
	for _, s := range api {
		k := iotda.StatementKey(s)
		byKey[k] = append(byKey[k], s)
	}
	out := make([]iotda.Statement, 0, len(api))
	for _, s := range prior {
		k := iotda.StatementKey(s)
		if len(byKey[k]) == 0 {
			return api
		}
		out = append(out, byKey[k][0])
		byKey[k] = byKey[k][1:]
	}
	return out
}

func flattenPolicy(p *iotda.Policy) devicePolicyModel {
	statements := make([]statementModel, 0, len(p.Statement))
	for _, s := range p.Statement {
		statements = append(statements, statementModel{
			Effect:    types.StringValue(s.Effect),
			Actions:   stringSet(s.Actions),
			Resources: stringSet(s.Resources),
		})
	}
	return devicePolicyModel{
		ID:         types.StringValue(p.PolicyID),
		PolicyName: types.StringValue(p.PolicyName),
		AppID:      types.StringValue(p.AppID),
		Statement:  statements,
		CreateTime: types.StringValue(p.CreateTime),
		UpdateTime: types.StringValue(p.UpdateTime),
	}
}

func stringSet(values []string) types.Set {
	elems := make([]attr.Value, 0, len(values))
	for _, v := range values {
		elems = append(elems, types.StringValue(v))
	}
	return types.SetValueMust(types.StringType, elems)
}

// privateWrittenAt is the private state key of the time this provider last
// wrote the object (RFC 3339), set by Create and Update and cleared by the
// Read after them: that Read waits, at most the client's read after write window after
// the write, for the API to show what was written.
const privateWrittenAt = "written_at"

// setWrittenAt records the time of a write; a zero time clears it.
func setWrittenAt(ctx context.Context, p privateState, at time.Time) diag.Diagnostics {
	if at.IsZero() {
		return clearPrivate(ctx, p, privateWrittenAt)
	}
	data, _ := json.Marshal(at.UTC().Format(time.RFC3339Nano))
	return p.SetKey(ctx, privateWrittenAt, data)
}

// getWrittenAt is the time of the last write; zero when none is recorded.
func getWrittenAt(ctx context.Context, p privateState) (time.Time, diag.Diagnostics) {
	var text string
	diags := getPrivate(ctx, p, privateWrittenAt, &text)
	at, err := time.Parse(time.RFC3339Nano, text)
	if text == "" || err != nil {
		return time.Time{}, diags
	}
	return at, diags
}
