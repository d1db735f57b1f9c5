package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// bindingPlan plans the update of a binding as the framework does, with
// the same code for ModifyPlan (devicePolicyBindingResource.plan), from the
// request's bytes. For an update that keeps the policy id and target type,
// the framework's steps come to this (server_planresourcechange.go and the
// schema of terraform-plugin-framework v1.19.0): the proposed state, with
// exclusive true where the configuration leaves it null (its default); id
// the prior one (computed, it is made unknown when the plan differs from
// the state, and UseStateForUnknown takes the state's again); no
// RequiresReplace (policy_id and target_type are unchanged); the prior
// private state and identity; then ModifyPlan, which may add warnings and
// make id unknown. It plans only when that holds for sure: a configured
// client that is not deferred, a client that does not allow deferral, a
// prior and a proposed state of known values of the same policy and type,
// a configuration with a null id and a known or null exclusive, a private
// state of only the binding's keys as ModifyPlan reads them, and an
// identity null or the state's. Everything else (a create, a destroy, a
// replacement, unknown values, ...) goes to the framework; the decision is
// made before any API call.
func (s *protocolServer) bindingPlan(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, bool) {
	// A client that allows deferral is served too (Terraform 1.16 allows it
	// in the plan it makes again at apply): the framework defers a plan
	// only when the provider's configuration was deferred (then s.client
	// is nil), and ModifyPlan never does.
	if req.TypeName != bindingTypeName || req.PriorState == nil || req.ProposedNewState == nil || req.Config == nil {
		return nil, false
	}
	client := s.client()
	if client == nil {
		return nil, false
	}
	prior, ok := decodeBindingState(req.PriorState.MsgPack)
	if !ok {
		return nil, false
	}
	proposed, ok := decodeBindingState(req.ProposedNewState.MsgPack)
	if !ok || !sameBinding(proposed.model, prior.model) || proposed.model.ID != prior.model.ID {
		return nil, false
	}
	config, ok := decodeBinding(req.Config.MsgPack, idNull)
	if !ok || !config.model.ID.IsNull() || !sameBinding(config.model, prior.model) {
		return nil, false
	}
	identity, ok := echoedIdentity(req.PriorIdentity, prior.model.PolicyID.ValueString(), prior.model.TargetType.ValueString())
	if !ok {
		return nil, false
	}
	private, ok := bindingPrivateOf(ctx, req.PriorPrivate)
	if !ok {
		return nil, false
	}

	planned := proposed.model
	if config.model.Exclusive.IsNull() {
		planned.Exclusive = types.BoolValue(true)
	}
	var diags diag.Diagnostics
	r := &devicePolicyBindingResource{client: client}
	r.plan(ctx, planIO{
		plan: planned, targets: proposed.ids, known: true, private: private,
		prior: func(*diag.Diagnostics) (devicePolicyBindingModel, []string) {
			return prior.model, prior.ids
		},
		setIDUnknown: func() { planned.ID = types.StringUnknown() },
	}, &diags)
	return &tfprotov6.PlanResourceChangeResponse{
		PlannedState:    &tfprotov6.DynamicValue{MsgPack: encodeBindingState(planned, proposed.ids, proposed)},
		PlannedPrivate:  private.bytes(),
		PlannedIdentity: &tfprotov6.ResourceIdentityData{IdentityData: &tfprotov6.DynamicValue{MsgPack: identity}},
		Diagnostics:     protocolDiagnostics(diags),
	}, true
}

// sameBinding reports whether a and b are of the same policy and target
// type.
func sameBinding(a, b devicePolicyBindingModel) bool {
	return a.PolicyID.Equal(b.PolicyID) && a.TargetType.Equal(b.TargetType)
}

// echoedIdentity is the MessagePack of a binding's identity that the
// framework gives back unchanged: a null one for none or a null one, and
// the binding's own when it is that of policyID and targetType. ok is
// false for any other.
func echoedIdentity(id *tfprotov6.ResourceIdentityData, policyID, targetType string) ([]byte, bool) {
	p, t, kind, ok := decodeBindingIdentity(id)
	switch {
	case !ok:
		return nil, false
	case kind == identityNull:
		return []byte{msgpcode.Nil}, true
	case kind == identitySet && p == policyID && t == targetType:
		return encodeBindingIdentity(policyID, targetType), true
	}
	return nil, false
}
