package provider

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// NewProtocol6 returns the provider's protocol server: the framework's,
// except for requests that carry a binding's targets, answered here when
// the answer is sure to be the framework's:
//
//   - a plan of iotda_device_policy_binding that changes nothing, from the
//     request's bytes (unchangedBindingPlan);
//   - the validation of a binding's configuration that is valid
//     (validBindingConfig);
//   - a call of targets() with valid ids (callTargets);
//   - the upgrade of a binding's state at the current schema version,
//     which Terraform asks for before every plan and refresh, from the
//     stored JSON (currentBindingState, protocol_upgrade.go);
//   - the refresh of a binding, by the same code as the framework's Read
//     (devicePolicyBindingResource.refresh) on the request's MessagePack
//     and private state (bindingRead, protocol_read.go);
//   - the plan of a binding's create, or of its update in place, by the
//     same code as the framework's ModifyPlan
//     (devicePolicyBindingResource.plan) after the schema's default and
//     plan modifiers, as the framework applies them to such a plan
//     (bindingPlan, protocol_plan.go);
//   - the apply of that create or update, by the same code as the
//     framework's Create and Update (devicePolicyBindingResource.create
//     and update), failures included (bindingApply, protocol_apply.go).
//
// Anything else goes to the framework, which also gives every error.
//
// The framework converts a binding's configuration, states, a function's
// arguments and result into its own values one target at a time, and
// walks them once per attribute. The CPU and heap profiles of `make bench`
// at 100,000 targets showed the plan as the largest part of the provider's
// work in a plan with no changes (every plan of an unchanged
// configuration), and targets() as a fifth of its allocations, in every
// command. With those answered, the provider's CPU in the plan of an
// apply that changes a tenth of 100,000 targets (13.5 s) was still nearly
// all the framework's conversions of the targets map: PlanResourceChange
// 4.6 s, ReadResource 3.2 s (0.23 s of it the binding's own Read),
// UpgradeResourceState 0.9 s, and garbage collection 2.2 s; hence the
// upgrade and the refresh here (BenchmarkUpgradeBindingState,
// BenchmarkBindingRead), and the plan of an update (BenchmarkBindingPlan:
// Terraform plans it in the plan and again in the apply) and its apply
// (BenchmarkBindingApply). In the create of a binding of 100,000 targets
// the framework then still spent 4.4 s of CPU in the plan and 7 s in the
// apply (its plan again, and Create), hence the create's plan and apply
// too (BenchmarkBindingCreatePlan, BenchmarkBindingCreateApply), the
// plan also while the policy id is unknown (the policy is created in the
// same apply). A replacement, a destroy, or a plan with unknown targets
// or exclusive stays the framework's.
func NewProtocol6(p provider.Provider) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer {
		s := &protocolServer{}
		served := p
		if ip, ok := p.(*iotdaProvider); ok {
			served = configuredProvider{iotdaProvider: ip, server: s}
		}
		fw := providerserver.NewProtocol6(served)()
		if all, ok := fw.(frameworkServer); ok {
			s.frameworkServer = all
			return s
		}
		return fw
	}
}

// frameworkServer is what the framework's protocol server implements: the
// provider's calls and the optional sets that tf6server looks for (list
// resources, actions, state stores). The wrapper offers them all, or
// tf6server would answer `terraform query` as not implemented.
type frameworkServer interface {
	tfprotov6.ProviderServer
	tfprotov6.ListResourceServer
	tfprotov6.ActionServer
	tfprotov6.StateStoreServer
}

type protocolServer struct {
	frameworkServer
	// configured is what the provider's last Configure gave the
	// resources (see configuredProvider); nil before, or after an error.
	configured atomic.Pointer[providerConfiguration]
}

// client is the client the provider's last Configure gave the resources;
// nil before one, after a failed one, or when the configuration was not
// known (the framework then defers or skips what needs the API, and so
// the requests go to it).
func (s *protocolServer) client() *iotda.Client {
	cfg := s.configured.Load()
	if cfg == nil || cfg.deferred {
		return nil
	}
	return cfg.client
}

const bindingTypeName = "iotda_device_policy_binding"

func (s *protocolServer) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	if resp, ok := callTargets(req); ok {
		return resp, nil
	}
	return s.frameworkServer.CallFunction(ctx, req)
}

// callTargets answers provider::iotda::targets(ids) when ids is a known
// list, set or tuple of known strings without a duplicate: the map of
// them, each with the value "", as targetsFunction gives it. It reads the
// argument's MessagePack and writes the result's directly: decoding a
// tuple of 100,000 ids into values of its own, each typed, cost about
// as much as the framework's conversion. Anything else (an unknown or
// null argument or element, an element that is not a string, a
// duplicate, an encoding it does not expect) goes to the framework and
// targetsFunction, which give the errors and the unknown result.
func callTargets(req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, bool) {
	if req.Name != "targets" || len(req.Arguments) != 1 || req.Arguments[0] == nil || len(req.Arguments[0].MsgPack) == 0 {
		return nil, false
	}
	// A dynamic value is its type's JSON, then the value.
	r := bytes.NewReader(req.Arguments[0].MsgPack)
	dec := msgpack.NewDecoder(r)
	if n, err := dec.DecodeArrayLen(); err != nil || n != 2 {
		return nil, false
	}
	typ, err := dec.DecodeBytes()
	if err != nil {
		return nil, false
	}
	if code, err := dec.PeekCode(); err != nil || code == msgpcode.Nil {
		return nil, false
	}
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 0 || !stringsType(typ, n) {
		return nil, false
	}
	// Each id takes a byte at least: a length the data cannot back
	// allocates nothing for it.
	seen := make(map[string]struct{}, min(n, r.Len()))
	var out bytes.Buffer
	enc := msgpack.NewEncoder(&out)
	if err := enc.EncodeMapLen(n); err != nil {
		return nil, false
	}
	for range n {
		// Null is nil; an unknown value is an extension, not a string.
		if code, err := dec.PeekCode(); err != nil || code == msgpcode.Nil {
			return nil, false
		}
		id, err := dec.DecodeString()
		if err != nil {
			return nil, false
		}
		if _, dup := seen[id]; dup {
			return nil, false
		}
		seen[id] = struct{}{}
		if enc.EncodeString(id) != nil || enc.EncodeString("") != nil {
			return nil, false
		}
	}
	if r.Len() != 0 {
		return nil, false
	}
	return &tfprotov6.CallFunctionResponse{Result: &tfprotov6.DynamicValue{MsgPack: out.Bytes()}}, true
}

// stringsType reports whether typ, the JSON of a type as Terraform writes
// it, is a list or set of strings, or a tuple of n strings.
func stringsType(typ []byte, n int) bool {
	switch string(typ) {
	case `["list","string"]`, `["set","string"]`:
		return true
	}
	elems, prefixed := bytes.CutPrefix(typ, []byte(`["tuple",[`))
	elems, suffixed := bytes.CutSuffix(elems, []byte(`]]`))
	if !prefixed || !suffixed {
		return false
	}
	const elem = `"string",`
	return n == 0 && len(elems) == 0 ||
		n > 0 && len(elems) == n*len(elem)-1 && string(elems) == strings.Repeat(elem, n-1)+elem[:len(elem)-1]
}

func (s *protocolServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	if req.TypeName == bindingTypeName && req.Config != nil && validBindingConfig(req.Config.MsgPack) {
		return &tfprotov6.ValidateResourceConfigResponse{}, nil
	}
	return s.frameworkServer.ValidateResourceConfig(ctx, req)
}

// validBindingConfig reports whether the MessagePack of a binding's
// configuration is complete and valid by every rule of its schema (see
// devicePolicyBindingResource.Schema): no id, a policy id, a target type,
// exclusive a bool or null, and targets a known map of target ids to "".
// The policy id, target type and exclusive may also be unknown (as the
// policy id of a policy in the same configuration is while Terraform
// validates), which the schema's validators let pass. The framework finds
// no error and no warning in such a configuration; anything else, or
// anything unexpected, goes to it.
func validBindingConfig(data []byte) bool {
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	n, err := dec.DecodeMapLen()
	if err != nil || n != 5 {
		return false
	}
	// str reads a known string; nil, an unknown (an extension) or any
	// other kind is false.
	str := func() (string, bool) {
		code, err := dec.PeekCode()
		if err != nil || !msgpcode.IsString(code) {
			return "", false
		}
		s, err := dec.DecodeString()
		return s, err == nil
	}
	// unknown skips an unknown value: Terraform writes one as a
	// MessagePack extension, and nothing else as one.
	unknown := func(code byte) bool {
		return msgpcode.IsExt(code) && dec.Skip() == nil
	}
	seen := map[string]bool{}
	for range n {
		key, err := dec.DecodeString()
		if err != nil || seen[key] {
			return false
		}
		seen[key] = true
		code, err := dec.PeekCode()
		if err != nil {
			return false
		}
		switch key {
		case "id": // computed only
			if code != msgpcode.Nil || dec.DecodeNil() != nil {
				return false
			}
		case "policy_id":
			if unknown(code) {
				continue
			}
			if id, ok := str(); !ok || !iotda.PolicyIDPattern.MatchString(id) {
				return false
			}
		case "target_type":
			if unknown(code) {
				continue
			}
			if t, ok := str(); !ok || !validTargetType(t) {
				return false
			}
		case "exclusive":
			if code != msgpcode.Nil && code != msgpcode.True && code != msgpcode.False && !msgpcode.IsExt(code) {
				return false
			}
			if err := dec.Skip(); err != nil {
				return false
			}
		case "targets":
			if !msgpcode.IsFixedMap(code) && code != msgpcode.Map16 && code != msgpcode.Map32 {
				return false
			}
			m, err := dec.DecodeMapLen()
			if err != nil {
				return false
			}
			for range m {
				id, ok := str()
				if !ok || !iotda.TargetIDPattern.MatchString(id) {
					return false
				}
				if v, ok := str(); !ok || v != "" {
					return false
				}
			}
		default:
			return false
		}
	}
	return r.Len() == 0
}

func (s *protocolServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	if resp, ok := unchangedBindingPlan(ctx, req); ok {
		return resp, nil
	}
	if resp, ok := s.bindingPlan(ctx, req); ok {
		return resp, nil
	}
	return s.frameworkServer.PlanResourceChange(ctx, req)
}

// unchangedBindingPlan answers the plan of a binding whose proposed state
// is, byte for byte, its prior state, when the framework's answer is
// known to be that state unchanged: the binding is exclusive (so the
// default of exclusive changes nothing either), and it has no private
// state (so ModifyPlan has no unsure or outside targets to warn about
// and calls nothing, see binding.Plan). Its identity stays; none becomes
// a null one, as the framework plans it. A client that allows deferred
// actions goes to the framework, which defers every plan when the
// provider's configuration is not known yet (see iotdaProvider.Configure), and so does
// anything else, and anything it cannot read.
func unchangedBindingPlan(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, bool) {
	if req.TypeName != bindingTypeName || len(req.PriorPrivate) != 0 || req.PriorState == nil || req.ProposedNewState == nil ||
		req.ClientCapabilities != nil && req.ClientCapabilities.DeferralAllowed {
		return nil, false
	}
	prior := req.PriorState.MsgPack
	if len(prior) == 0 || !bytes.Equal(prior, req.ProposedNewState.MsgPack) {
		return nil, false
	}
	if exclusive, ok := msgpackObjectBool(prior, "exclusive"); !ok || !exclusive {
		return nil, false
	}
	identity := req.PriorIdentity
	if identity == nil {
		var ir resource.IdentitySchemaResponse
		(&devicePolicyBindingResource{}).IdentitySchema(ctx, resource.IdentitySchemaRequest{}, &ir)
		typ := ir.IdentitySchema.Type().TerraformType(ctx)
		null, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
		if err != nil {
			return nil, false
		}
		identity = &tfprotov6.ResourceIdentityData{IdentityData: &null}
	}
	return &tfprotov6.PlanResourceChangeResponse{PlannedState: req.ProposedNewState, PlannedIdentity: identity}, true
}

// msgpackObjectBool reads the bool attribute name of an object encoded
// with MessagePack, as Terraform encodes states, skipping the others
// without decoding them; ok is false when the data is not one well-formed
// object, or the attribute is missing, null or not a bool.
func msgpackObjectBool(data []byte, name string) (value, ok bool) {
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	n, err := dec.DecodeMapLen()
	if err != nil {
		return false, false
	}
	found := false
	for range n {
		key, err := dec.DecodeString()
		if err != nil {
			return false, false
		}
		if key != name {
			if err := dec.Skip(); err != nil {
				return false, false
			}
			continue
		}
		v, err := dec.DecodeInterface()
		if value, found = v.(bool); err != nil || !found {
			return false, false
		}
	}
	return value, found && r.Len() == 0
}
