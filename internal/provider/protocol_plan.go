package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
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
	u, ok := s.readUpdate(ctx, req.TypeName, req.PriorState, req.ProposedNewState, idString, req.Config, req.PriorIdentity, req.PriorPrivate)
	if !ok || u.next.model.ID != u.prior.model.ID || !sameBinding(u.config.model, u.prior.model) {
		return nil, false
	}
	client, prior, proposed, config, identity, private := u.client, u.prior, u.next, u.config, u.identity, u.private

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

// bindingUpdate is what the plan and the apply of a binding's update read
// from their request: the configured client, the prior state, the next
// one (proposed or planned), the configuration, the identity to give back
// and the private state.
type bindingUpdate struct {
	client              *iotda.Client
	prior, next, config priorState
	identity            []byte
	private             protocolPrivate
}

// readUpdate reads the request of a binding's update, for bindingPlan and
// bindingApply: ok only when the provider is configured, and the prior
// state, the next one (its id of the form given), a configuration with a
// null id, the identity (see echoedIdentity) and the private state (see
// bindingPrivateOf) all read, the next state of the prior's policy and
// target type.
func (s *protocolServer) readUpdate(ctx context.Context, typeName string, prior, next *tfprotov6.DynamicValue, nextID idForm,
	config *tfprotov6.DynamicValue, identity *tfprotov6.ResourceIdentityData, private []byte) (bindingUpdate, bool) {
	var u bindingUpdate
	if typeName != bindingTypeName || prior == nil || next == nil || config == nil {
		return u, false
	}
	if u.client = s.client(); u.client == nil {
		return u, false
	}
	var ok bool
	if u.prior, ok = decodeBindingState(prior.MsgPack); !ok {
		return u, false
	}
	if u.next, ok = decodeBinding(next.MsgPack, nextID); !ok || !sameBinding(u.next.model, u.prior.model) {
		return u, false
	}
	if u.config, ok = decodeBinding(config.MsgPack, idNull); !ok || !u.config.model.ID.IsNull() {
		return u, false
	}
	if u.identity, ok = echoedIdentity(identity, u.prior.model.PolicyID.ValueString(), u.prior.model.TargetType.ValueString()); !ok {
		return u, false
	}
	u.private, ok = bindingPrivateOf(ctx, private)
	return u, ok
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
