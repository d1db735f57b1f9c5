package provider

import (
	"bytes"
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// bindingPlan plans the create or the update of a binding as the framework
// does, with the same code for ModifyPlan
// (devicePolicyBindingResource.plan), from the request's bytes. For such a
// plan the framework's steps come to this
// (fwserver.(*Server).PlanResourceChange and the schema of
// terraform-plugin-framework v1.19.0): the proposed state, with exclusive
// true where the configuration leaves it null (its default); id unknown in
// a create (computed and null in the configuration, it is made unknown, and
// UseStateForUnknown has no state to take it from), the prior one in an
// update that keeps the policy id and target type (made unknown as the plan
// differs from the state, then taken from the state again); no
// RequiresReplace (a create replaces nothing; in such an update policy_id
// and target_type are unchanged); the prior private state and identity;
// then ModifyPlan, which may add warnings, make id unknown and, in a
// create, record the replacement key; it does nothing while the policy id
// or target type is unknown, as in the plan of a create whose policy is
// created in the same apply. It plans only when that holds for sure: see
// readChange, and in an update a proposed id the prior one and a
// configuration of the prior's policy and type. Everything else (a destroy,
// a replacement, unknown targets or exclusive, ...) goes to the framework;
// the decision is made before any API call.
func (s *protocolServer) bindingPlan(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, bool) {
	// A client that allows deferral is served too (Terraform 1.16 allows it
	// in the plan it makes again at apply): the framework defers a plan
	// only when the provider's configuration was deferred (then s.client
	// is nil), and ModifyPlan never does.
	u, ok := s.readChange(ctx, changeRequest{
		typeName: req.TypeName, prior: req.PriorState, next: req.ProposedNewState, config: req.Config,
		identity: req.PriorIdentity, private: req.PriorPrivate, updateID: idString, createID: idNull, unknownKeys: true,
	})
	if !ok {
		return nil, false
	}
	client, prior, proposed, config, identity, private := u.client, u.prior, u.next, u.config, u.identity, u.private

	planned := proposed.model
	io := planIO{targets: proposed.ids, known: true, private: private,
		setIDUnknown: func() { planned.ID = types.StringUnknown() }}
	if u.create {
		planned.ID = types.StringUnknown()
	} else {
		if proposed.model.ID != prior.model.ID || !sameBinding(config.model, prior.model) {
			return nil, false
		}
		io.prior = func(*diag.Diagnostics) (devicePolicyBindingModel, []string) {
			return prior.model, prior.ids
		}
	}
	if config.model.Exclusive.IsNull() {
		planned.Exclusive = types.BoolValue(true)
	}
	io.plan = planned
	var diags diag.Diagnostics
	r := &devicePolicyBindingResource{client: client}
	r.plan(ctx, io, &diags)
	return &tfprotov6.PlanResourceChangeResponse{
		PlannedState:    &tfprotov6.DynamicValue{MsgPack: encodeBindingState(planned, proposed.ids, proposed)},
		PlannedPrivate:  private.bytes(),
		PlannedIdentity: &tfprotov6.ResourceIdentityData{IdentityData: &tfprotov6.DynamicValue{MsgPack: identity}},
		Diagnostics:     protocolDiagnostics(diags),
	}, true
}

// changeRequest is what the plan and the apply of a binding's create or
// update hold: the type, the prior state (null for a create), the next one
// (proposed or planned), the configuration, the identity (prior or
// planned) and the private state (prior or planned); the form the next
// state's id has in an update, and in a create (exactly that form); and
// whether a create's policy id and target type may be unknown (in its
// plan, while the policy is still to be created).
type changeRequest struct {
	typeName            string
	prior, next, config *tfprotov6.DynamicValue
	identity            *tfprotov6.ResourceIdentityData
	private             []byte
	updateID, createID  idForm
	unknownKeys         bool
}

// bindingChange is what the plan and the apply of a binding's create or
// update read from their request: the configured client, whether it is a
// create, the prior state (the zero one in a create), the next one, the
// configuration, the identity to give back and the private state.
type bindingChange struct {
	client              *iotda.Client
	create              bool
	prior, next, config priorState
	identity            []byte
	private             protocolPrivate
}

// readChange reads the request of a binding's create or update, for
// bindingPlan and bindingApply: ok only when the provider is configured,
// the prior state is null (a create) or reads, the next state reads (its
// id of the form given; in an update, of the prior's policy and target
// type), a configuration with a null id reads, the identity is null in a
// create and otherwise echoed (see echoedIdentity), and the private state
// reads (see bindingPrivateOf). Every value but the next state's id, and
// a create's policy id and target type when req.unknownKeys, is known.
func (s *protocolServer) readChange(ctx context.Context, req changeRequest) (bindingChange, bool) {
	var u bindingChange
	if req.typeName != bindingTypeName || req.prior == nil || req.next == nil || req.config == nil {
		return u, false
	}
	if u.client = s.client(); u.client == nil {
		return u, false
	}
	var ok bool
	// Terraform sends a create's prior state as a null value, which is
	// MessagePack's nil.
	u.create = bytes.Equal(req.prior.MsgPack, []byte{msgpcode.Nil})
	if u.create {
		if u.next, ok = decodeBinding(req.next.MsgPack, req.createID, req.unknownKeys); !ok || !idIs(u.next.model.ID, req.createID) {
			return u, false
		}
		if _, _, kind, ok := decodeBindingIdentity(req.identity); !ok || kind != identityNull {
			return u, false
		}
		u.identity = []byte{msgpcode.Nil}
	} else {
		if u.prior, ok = decodeBindingState(req.prior.MsgPack); !ok {
			return u, false
		}
		if u.next, ok = decodeBinding(req.next.MsgPack, req.updateID, false); !ok || !sameBinding(u.next.model, u.prior.model) {
			return u, false
		}
		if u.identity, ok = echoedIdentity(req.identity, u.prior.model.PolicyID.ValueString(), u.prior.model.TargetType.ValueString()); !ok {
			return u, false
		}
	}
	if u.config, ok = decodeBinding(req.config.MsgPack, idNull, u.create && req.unknownKeys); !ok || !u.config.model.ID.IsNull() {
		return u, false
	}
	u.private, ok = bindingPrivateOf(ctx, req.private)
	return u, ok
}

// idIs reports whether id is exactly of the form: known, null or unknown.
func idIs(id types.String, form idForm) bool {
	switch form {
	case idNull:
		return id.IsNull()
	case idUnknown:
		return id.IsUnknown()
	}
	return !id.IsNull() && !id.IsUnknown()
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
