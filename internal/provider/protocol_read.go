package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// configuredProvider is the provider as the framework's server sees it,
// telling the protocol server what Configure handed the resources: the
// framework keeps it to itself, and the protocol's Read needs the client.
type configuredProvider struct {
	*iotdaProvider
	server *protocolServer
}

// providerConfiguration is what the last Configure gave the resources.
type providerConfiguration struct {
	client   *iotda.Client
	deferred bool
}

func (p configuredProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	p.iotdaProvider.Configure(ctx, req, resp)
	var cfg *providerConfiguration
	if !resp.Diagnostics.HasError() {
		client, _ := resp.ResourceData.(*iotda.Client)
		cfg = &providerConfiguration{client: client, deferred: resp.Deferred != nil}
	}
	p.server.configured.Store(cfg)
}

func (s *protocolServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	if resp, ok := s.bindingRead(ctx, req); ok {
		return resp, nil
	}
	return s.frameworkServer.ReadResource(ctx, req)
}

// bindingRead refreshes a binding as the framework's Read does, with the
// same code (devicePolicyBindingResource.refresh), but reads the state and
// private state from the request's bytes and writes the new ones without
// a framework value per target. It refreshes only when the framework's
// answer would be refresh's with nothing added: a configured client that
// is not deferred, a state of known strings (exclusive may be null) with a
// known map of targets to "", a private state of only the binding's keys,
// each as refresh reads it, and an identity that is null or the state's.
// Every other request, or one it cannot read, goes to the framework;
// the decision is made before any API call, as a listing cannot be undone.
func (s *protocolServer) bindingRead(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, bool) {
	// A client that allows deferral is served too: the framework defers a
	// refresh only when the provider's configuration was deferred (then
	// s.client is nil), and refresh never does.
	if req.TypeName != bindingTypeName || req.CurrentState == nil {
		return nil, false
	}
	client := s.client()
	if client == nil {
		return nil, false
	}
	prior, ok := decodeBindingState(req.CurrentState.MsgPack)
	if !ok || !nullOrSameIdentity(req.CurrentIdentity, prior.model.PolicyID.ValueString(), prior.model.TargetType.ValueString()) {
		return nil, false
	}
	private, ok := bindingPrivateOf(ctx, req.Private)
	if !ok {
		return nil, false
	}
	if _, diags := getWrittenAt(ctx, private); len(diags) > 0 {
		return nil, false
	}

	var (
		diags    diag.Diagnostics
		state    = req.CurrentState.MsgPack
		identity []byte
	)
	r := &devicePolicyBindingResource{client: client}
	r.refresh(ctx, refreshIO{
		state: prior.model, targets: prior.ids, in: private, out: private,
		setIdentity: func(policyID, targetType string) { identity = encodeBindingIdentity(policyID, targetType) },
		setState: func(m devicePolicyBindingModel, ids []string) {
			state = encodeBindingState(m, ids, prior)
		},
		remove: func() { state = []byte{msgpcode.Nil} },
	}, &diags)
	resp := &tfprotov6.ReadResourceResponse{
		NewState:    &tfprotov6.DynamicValue{MsgPack: state},
		Private:     private.bytes(),
		Diagnostics: protocolDiagnostics(diags),
	}
	if identity != nil {
		resp.NewIdentity = &tfprotov6.ResourceIdentityData{IdentityData: &tfprotov6.DynamicValue{MsgPack: identity}}
	}
	return resp, true
}

// priorState is a binding's state read from its MessagePack: its
// attributes, its target ids sorted, and the bytes of its targets map.
type priorState struct {
	model   devicePolicyBindingModel
	ids     []string
	targets []byte
}

// decodeBindingState reads the state of a binding: an object of its five
// attributes, known strings but exclusive, which may be null, and targets
// a known map of ids to "" without a duplicate. ok is false for anything
// else.
func decodeBindingState(data []byte) (priorState, bool) {
	return decodeBinding(data, idString, false)
}

// idForm says what the id of a binding's value may be besides a known
// string: null in a configuration, unknown in a planned state.
type idForm int

const (
	idString idForm = iota
	idNull
	idUnknown
)

// decodeBinding reads a binding's value as decodeBindingState does, its
// id of the form given, and its policy id and target type also unknown
// when unknownKeys (Terraform and tftypes write an unknown value as an
// extension, and tftypes reads every extension as a plain unknown).
func decodeBinding(data []byte, form idForm, unknownKeys bool) (priorState, bool) {
	var st priorState
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	if n, err := dec.DecodeMapLen(); err != nil || n != 5 {
		return st, false
	}
	str := func() (types.String, bool) {
		code, err := dec.PeekCode()
		if err != nil || !msgpcode.IsString(code) {
			return types.String{}, false
		}
		s, err := dec.DecodeString()
		return types.StringValue(s), err == nil
	}
	seen := map[string]bool{}
	for range 5 {
		key, err := dec.DecodeString()
		if err != nil || seen[key] {
			return st, false
		}
		seen[key] = true
		code, err := dec.PeekCode()
		if err != nil {
			return st, false
		}
		var ok bool
		switch key {
		case "id":
			switch {
			case form == idNull && code == msgpcode.Nil:
				st.model.ID, ok = types.StringNull(), dec.DecodeNil() == nil
			case form == idUnknown && msgpcode.IsExt(code):
				st.model.ID, ok = types.StringUnknown(), dec.Skip() == nil
			default:
				st.model.ID, ok = str()
			}
		case "policy_id", "target_type":
			v := &st.model.PolicyID
			if key == "target_type" {
				v = &st.model.TargetType
			}
			if unknownKeys && msgpcode.IsExt(code) {
				*v, ok = types.StringUnknown(), dec.Skip() == nil
			} else {
				*v, ok = str()
			}
		case "exclusive":
			switch code {
			case msgpcode.Nil:
				st.model.Exclusive, ok = types.BoolNull(), dec.DecodeNil() == nil
			case msgpcode.True, msgpcode.False:
				b, err := dec.DecodeBool()
				st.model.Exclusive, ok = types.BoolValue(b), err == nil
			default:
				ok = false
			}
		case "targets":
			start := len(data) - r.Len()
			st.ids, ok = decodeTargets(dec, code, str, r.Len())
			st.targets = data[start : len(data)-r.Len()]
		default:
			ok = false
		}
		if !ok {
			return st, false
		}
	}
	return st, r.Len() == 0
}

// decodeTargets reads a known map of ids to "" into its ids, sorted (nil
// for none); ok is false for anything else, or a duplicate. left is how
// many bytes the data has after the map's first byte: the ids are
// allocated for no more entries than those bytes can hold (two each), so a
// length the data cannot back costs nothing.
func decodeTargets(dec *msgpack.Decoder, code byte, str func() (types.String, bool), left int) ([]string, bool) {
	if !msgpcode.IsFixedMap(code) && code != msgpcode.Map16 && code != msgpcode.Map32 {
		return nil, false
	}
	n, err := dec.DecodeMapLen()
	if err != nil {
		return nil, false
	}
	// nil when empty, as readBinding reads an empty map: the replacement a
	// create's plan records has null targets then, not [].
	var ids []string
	if n > 0 {
		ids = make([]string, 0, min(n, left/2))
	}
	for range n {
		id, ok := str()
		if !ok {
			return nil, false
		}
		if v, ok := str(); !ok || v.ValueString() != "" {
			return nil, false
		}
		ids = append(ids, id.ValueString())
	}
	if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return nil, false
		}
	}
	return ids, true
}

// encodeBindingState is the MessagePack of the state of m (its id may be
// unknown, as in a plan) with the targets ids, its attributes in the order tftypes writes an object's (by
// name); the targets are prior's bytes when they hold the same ids.
func encodeBindingState(m devicePolicyBindingModel, ids []string, prior priorState) []byte {
	var out bytes.Buffer
	enc := msgpack.NewEncoder(&out)
	str := func(s types.String) {
		if s.IsUnknown() {
			out.Write(msgpackUnknown)
			return
		}
		if s.IsNull() {
			_ = enc.EncodeNil()
			return
		}
		_ = enc.EncodeString(s.ValueString())
	}
	_ = enc.EncodeMapLen(5)
	_ = enc.EncodeString("exclusive")
	if m.Exclusive.IsNull() {
		_ = enc.EncodeNil()
	} else {
		_ = enc.EncodeBool(m.Exclusive.ValueBool())
	}
	_ = enc.EncodeString("id")
	str(m.ID)
	_ = enc.EncodeString("policy_id")
	str(m.PolicyID)
	_ = enc.EncodeString("target_type")
	str(m.TargetType)
	_ = enc.EncodeString("targets")
	if sameIDs(ids, prior.ids) {
		out.Write(prior.targets)
	} else {
		// Known, even empty: nil would be a null map.
		_ = encodeTargets(enc, append([]string{}, slices.Sorted(slices.Values(ids))...))
	}
	return out.Bytes()
}

// msgpackUnknown is an unknown value as tftypes writes it.
var msgpackUnknown = func() []byte {
	v, err := tfprotov6.NewDynamicValue(tftypes.String, tftypes.NewValue(tftypes.String, tftypes.UnknownValue))
	if err != nil {
		panic(err)
	}
	return v.MsgPack
}()

// encodeBindingIdentity is the MessagePack of a binding's identity.
func encodeBindingIdentity(policyID, targetType string) []byte {
	var out bytes.Buffer
	enc := msgpack.NewEncoder(&out)
	_ = enc.EncodeMapLen(2)
	_ = enc.EncodeString("policy_id")
	_ = enc.EncodeString(policyID)
	_ = enc.EncodeString("target_type")
	_ = enc.EncodeString(targetType)
	return out.Bytes()
}

// identityKind is what a binding's identity in a request holds.
type identityKind int

const (
	identityNull    identityKind = iota // none, or null
	identityAllNull                     // an object of null attributes
	identitySet                         // a policy id and a target type
)

// decodeBindingIdentity reads a binding's identity from a request: an
// object of its two attributes, both strings or both null, or a null one.
// ok is false for anything else.
func decodeBindingIdentity(id *tfprotov6.ResourceIdentityData) (policyID, targetType string, kind identityKind, ok bool) {
	if id == nil || id.IdentityData == nil {
		return "", "", identityNull, true
	}
	data := id.IdentityData.MsgPack
	if len(data) == 0 {
		return "", "", 0, false
	}
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	if code, err := dec.PeekCode(); err == nil && code == msgpcode.Nil {
		return "", "", identityNull, len(data) == 1
	}
	n, err := dec.DecodeMapLen()
	if err != nil || n != 2 {
		return "", "", 0, false
	}
	got := map[string]*string{}
	for range n {
		key, err := dec.DecodeString()
		if err != nil {
			return "", "", 0, false
		}
		code, err := dec.PeekCode()
		switch {
		case err != nil:
			return "", "", 0, false
		case code == msgpcode.Nil:
			got[key] = nil
			_ = dec.DecodeNil()
		case msgpcode.IsString(code):
			s, err := dec.DecodeString()
			if err != nil {
				return "", "", 0, false
			}
			got[key] = &s
		default:
			return "", "", 0, false
		}
	}
	p, hasP := got["policy_id"]
	t, hasT := got["target_type"]
	switch {
	case !hasP || !hasT || r.Len() != 0:
		return "", "", 0, false
	case p == nil && t == nil:
		return "", "", identityAllNull, true
	case p != nil && t != nil:
		return *p, *t, identitySet, true
	}
	return "", "", 0, false
}

// nullOrSameIdentity reports whether a binding's identity in a request is
// absent or null (the framework then takes the one Read sets), or that of
// policyID and targetType (which Read sets again). The framework refuses
// any other as a changed identity.
func nullOrSameIdentity(id *tfprotov6.ResourceIdentityData, policyID, targetType string) bool {
	p, t, kind, ok := decodeBindingIdentity(id)
	return ok && (kind != identitySet || p == policyID && t == targetType)
}

// protocolPrivate is a resource's private state as the framework keeps it
// (privatestate.Data in terraform-plugin-framework): a JSON object of
// JSON values, each encoded in base64, the provider's keys at the top
// level and the framework's prefixed with ".". It holds only the
// binding's keys: any other, the framework's included, is not read here.
type protocolPrivate map[string][]byte

// bindingPrivateOf reads a binding's private state from a request: ok
// only when it holds nothing but the binding's keys, each as the binding
// reads it.
func bindingPrivateOf(ctx context.Context, data []byte) (protocolPrivate, bool) {
	p, ok := newProtocolPrivate(data)
	if !ok {
		return nil, false
	}
	if _, diags := getBindingPrivate(ctx, p); len(diags) > 0 {
		return nil, false
	}
	return p, true
}

func newProtocolPrivate(data []byte) (protocolPrivate, bool) {
	p := protocolPrivate{}
	if len(data) == 0 {
		return p, true
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, false
	}
	if p == nil { // the JSON null
		p = protocolPrivate{}
	}
	for k, v := range p {
		switch k {
		case privateUnsure, privateOutside, privateReplacement, privateWrittenAt:
		default:
			return nil, false
		}
		if !utf8.Valid(v) || !json.Valid(v) {
			return nil, false
		}
	}
	return p, true
}

func (p protocolPrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return p[key], nil
}

// SetKey sets a key as the framework does: an empty value removes it. The
// binding sets only values json.Marshal wrote, valid JSON and UTF-8.
func (p protocolPrivate) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	if len(value) == 0 {
		delete(p, key)
		return nil
	}
	p[key] = value
	return nil
}

// bytes encodes the private state as the framework does; nil when empty.
func (p protocolPrivate) bytes() []byte {
	if len(p) == 0 {
		return nil
	}
	data, _ := json.Marshal(map[string][]byte(p))
	return data
}

// protocolDiagnostics converts diagnostics as the framework does.
func protocolDiagnostics(diags diag.Diagnostics) []*tfprotov6.Diagnostic {
	var out []*tfprotov6.Diagnostic
	for _, d := range diags {
		pd := &tfprotov6.Diagnostic{Summary: d.Summary(), Detail: d.Detail(), Severity: tfprotov6.DiagnosticSeverityInvalid}
		switch d.Severity() {
		case diag.SeverityError:
			pd.Severity = tfprotov6.DiagnosticSeverityError
		case diag.SeverityWarning:
			pd.Severity = tfprotov6.DiagnosticSeverityWarning
		}
		if withPath, ok := d.(diag.DiagnosticWithPath); ok {
			pd.Attribute = attributePath(withPath.Path())
		}
		out = append(out, pd)
	}
	return out
}

// attributePath converts a path of attribute names and map keys, the
// only steps the binding's diagnostics have.
func attributePath(p path.Path) *tftypes.AttributePath {
	out := tftypes.NewAttributePath()
	for _, step := range p.Steps() {
		switch step := step.(type) {
		case path.PathStepAttributeName:
			out = out.WithAttributeName(string(step))
		case path.PathStepElementKeyString:
			out = out.WithElementKeyString(string(step))
		case path.PathStepElementKeyInt:
			out = out.WithElementKeyInt(int(step))
		}
	}
	return out
}
