package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

func (s *protocolServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	if resp, ok := s.bindingApply(ctx, req); ok {
		return resp, nil
	}
	return s.frameworkServer.ApplyResourceChange(ctx, req)
}

// bindingApply applies the create or the update of a binding as the
// framework does (fwserver.(*Server).CreateResource and UpdateResource
// of terraform-plugin-framework v1.19.0), with the same code as its Create
// and Update (devicePolicyBindingResource.create and update), from the
// request's bytes. A create's new state is null unless create sets one, its private
// state starts empty (the framework does not give Create the planned one)
// and its identity is the planned one, null, unless create sets it. An
// update's new state is the prior one unless update sets one, the private
// state the planned one as update leaves it, the identity the planned one
// unless update sets it (the framework then finds no changed identity: the
// planned one is null or the same). It applies only what it can read for
// sure (see readChange): in a create a planned id unknown, in an update
// unknown or known. Anything else (a destroy, ...) goes to the framework;
// the decision is made before any API call, so a create is never sent to
// the framework after calls were made.
func (s *protocolServer) bindingApply(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, bool) {
	u, ok := s.readChange(ctx, changeRequest{
		typeName: req.TypeName, prior: req.PriorState, next: req.PlannedState, config: req.Config,
		identity: req.PlannedIdentity, private: req.PlannedPrivate, updateID: idUnknown, createID: idUnknown,
	})
	if !ok {
		return nil, false
	}
	client, prior, planned, identity, private := u.client, u.prior, u.next, u.identity, u.private

	var (
		diags diag.Diagnostics
		state = req.PriorState.MsgPack
	)
	setState := func(m devicePolicyBindingModel, ids []string) {
		state = encodeBindingState(m, ids, planned)
	}
	setIdentity := func(policyID, targetType string) { identity = encodeBindingIdentity(policyID, targetType) }
	r := &devicePolicyBindingResource{client: client}
	if u.create {
		private = protocolPrivate{}
		r.create(ctx, createIO{plan: planned.model, targets: planned.ids, out: private, setState: setState, setIdentity: setIdentity}, &diags)
	} else {
		r.update(ctx, updateIO{
			plan: planned.model, targets: planned.ids, state: prior.model, stateTargets: prior.ids, in: private, out: private,
			setState: setState, setIdentity: setIdentity,
		}, &diags)
	}
	return &tfprotov6.ApplyResourceChangeResponse{
		NewState:    &tfprotov6.DynamicValue{MsgPack: state},
		Private:     private.bytes(),
		NewIdentity: &tfprotov6.ResourceIdentityData{IdentityData: &tfprotov6.DynamicValue{MsgPack: identity}},
		Diagnostics: protocolDiagnostics(diags),
	}, true
}
