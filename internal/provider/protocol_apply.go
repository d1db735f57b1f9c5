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

// bindingApply applies the update of a binding as the framework does
// (UpdateResource in server_updateresource.go of terraform-plugin-framework
// v1.19.0), with the same code as its Update (devicePolicyBindingResource.
// update), from the request's bytes: the new state is the prior one unless
// update sets one, the private state the planned one as update leaves it,
// the identity the planned one unless update sets it (the framework then
// finds no changed identity: the planned one is null or the same). It
// applies only an update it can read for sure: a configured client that
// is not deferred, prior and planned states of known values of the same
// policy and target type (the planned id may be unknown), a configuration
// of known values, a planned private state of only the binding's keys as
// update reads them, and a planned identity null or the state's. Anything
// else (a create, a destroy, ...) goes to the framework; the decision is
// made before any API call.
func (s *protocolServer) bindingApply(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, bool) {
	u, ok := s.readUpdate(ctx, req.TypeName, req.PriorState, req.PlannedState, idUnknown, req.Config, req.PlannedIdentity, req.PlannedPrivate)
	if !ok {
		return nil, false
	}
	client, prior, planned, identity, private := u.client, u.prior, u.next, u.identity, u.private

	var (
		diags diag.Diagnostics
		state = req.PriorState.MsgPack
	)
	r := &devicePolicyBindingResource{client: client}
	r.update(ctx, updateIO{
		plan: planned.model, targets: planned.ids, state: prior.model, stateTargets: prior.ids, in: private, out: private,
		setState: func(m devicePolicyBindingModel, ids []string) {
			state = encodeBindingState(m, ids, planned)
		},
		setIdentity: func(policyID, targetType string) { identity = encodeBindingIdentity(policyID, targetType) },
	}, &diags)
	return &tfprotov6.ApplyResourceChangeResponse{
		NewState:    &tfprotov6.DynamicValue{MsgPack: state},
		Private:     private.bytes(),
		NewIdentity: &tfprotov6.ResourceIdentityData{IdentityData: &tfprotov6.DynamicValue{MsgPack: identity}},
		Diagnostics: protocolDiagnostics(diags),
	}, true
}
