package provider

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/binding"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestNewProtocol6 checks that the server offers the optional calls of
// the framework's: without them tf6server answers `terraform query` (list
// resources) as not implemented.
func TestNewProtocol6(t *testing.T) {
	t.Parallel()
	server := NewProtocol6(New("test")())()
	if _, ok := server.(*protocolServer); !ok {
		t.Fatalf("%T: the framework's server is served without the binding's shortcuts", server)
	}
	if _, ok := server.(tfprotov6.ListResourceServer); !ok {
		t.Error("no list resources")
	}
	if _, ok := server.(tfprotov6.ActionServer); !ok {
		t.Error("no actions")
	}
	if _, ok := server.(tfprotov6.StateStoreServer); !ok {
		t.Error("no state stores")
	}
}

// TestUnchangedBindingPlan: a binding plan that changes nothing is
// answered without the framework exactly as the framework answers it, and
// every other plan goes to the framework.
func TestUnchangedBindingPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sr resource.SchemaResponse
	NewDevicePolicyBindingResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	var ir resource.IdentitySchemaResponse
	(&devicePolicyBindingResource{}).IdentitySchema(ctx, resource.IdentitySchemaRequest{}, &ir)
	identityType := ir.IdentitySchema.Type().TerraformType(ctx)

	state := func(exclusive any, ids ...string) *tfprotov6.DynamicValue {
		t.Helper()
		targets := make(map[string]tftypes.Value, len(ids))
		for _, id := range ids {
			targets[id] = tftypes.NewValue(tftypes.String, "")
		}
		v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
			"id":          tftypes.NewValue(tftypes.String, iotda.ExamplePolicyID+"/device"),
			"policy_id":   tftypes.NewValue(tftypes.String, iotda.ExamplePolicyID),
			"target_type": tftypes.NewValue(tftypes.String, "device"),
			"exclusive":   tftypes.NewValue(tftypes.Bool, exclusive),
			"targets":     tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, targets),
		}))
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	identity, err := tfprotov6.NewDynamicValue(identityType, tftypes.NewValue(identityType, map[string]tftypes.Value{
		"policy_id": tftypes.NewValue(tftypes.String, iotda.ExamplePolicyID), "target_type": tftypes.NewValue(tftypes.String, "device"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	ids := deviceIDs(0, 3)
	plan := func(prior, proposed *tfprotov6.DynamicValue, private []byte, id *tfprotov6.ResourceIdentityData) *tfprotov6.PlanResourceChangeRequest {
		return &tfprotov6.PlanResourceChangeRequest{
			TypeName: bindingTypeName, PriorState: prior, ProposedNewState: proposed, Config: proposed,
			PriorPrivate: private, PriorIdentity: id,
		}
	}
	// unchanged plans the prior state v again, with the same bytes (the
	// CLI encodes a map's keys in order; tftypes does not).
	unchanged := func(v *tfprotov6.DynamicValue, private []byte, id *tfprotov6.ResourceIdentityData) *tfprotov6.PlanResourceChangeRequest {
		return plan(v, &tfprotov6.DynamicValue{MsgPack: slices.Clone(v.MsgPack)}, private, id)
	}
	framework := providerserver.NewProtocol6(New("test")())()
	if _, err := framework.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}

	for name, req := range map[string]*tfprotov6.PlanResourceChangeRequest{
		"with identity":    unchanged(state(true, ids...), nil, &tfprotov6.ResourceIdentityData{IdentityData: &identity}),
		"without identity": unchanged(state(true, ids...), nil, nil),
		"no targets":       unchanged(state(true), nil, nil),
	} {
		got, ok := unchangedBindingPlan(ctx, req)
		if !ok {
			t.Fatalf("%s: not answered directly", name)
		}
		want, err := framework.PlanResourceChange(ctx, req)
		if err != nil || len(want.Diagnostics) > 0 {
			t.Fatalf("%s: framework: %v %v", name, err, want.Diagnostics)
		}
		if len(want.RequiresReplace) > 0 || len(want.PlannedPrivate) > 0 || want.Deferred != nil {
			t.Fatalf("%s: the framework planned more than no change: %+v", name, want)
		}
		sameValue(t, name+": planned state", typ, got.PlannedState, want.PlannedState)
		sameValue(t, name+": planned identity", identityType, got.PlannedIdentity.IdentityData, want.PlannedIdentity.IdentityData)
	}

	for name, req := range map[string]*tfprotov6.PlanResourceChangeRequest{
		"targets change": plan(state(true, ids...), state(true, ids[:2]...), nil, nil),
		"not exclusive":  unchanged(state(false, ids...), nil, nil),
		"exclusive null": unchanged(state(nil, ids...), nil, nil),
		"private state":  unchanged(state(true, ids...), []byte(`{"unsure_targets":"WyJhIl0="}`), nil),
		"create":         plan(nil, state(true, ids...), nil, nil),
		"deferral allowed": func() *tfprotov6.PlanResourceChangeRequest {
			req := unchanged(state(true, ids...), nil, nil)
			req.ClientCapabilities = &tfprotov6.PlanResourceChangeClientCapabilities{DeferralAllowed: true}
			return req
		}(),
		"destroy":         plan(state(true, ids...), nil, nil, nil),
		"another type":    {TypeName: "iotda_device_policy", PriorState: state(true), ProposedNewState: state(true), PriorPrivate: nil},
		"not msgpack":     plan(&tfprotov6.DynamicValue{JSON: []byte(`{}`)}, &tfprotov6.DynamicValue{JSON: []byte(`{}`)}, nil, nil),
		"not an object":   unchanged(&tfprotov6.DynamicValue{MsgPack: []byte{0xc3}}, nil, nil),
		"truncated state": unchanged(&tfprotov6.DynamicValue{MsgPack: state(true, ids...).MsgPack[:20]}, nil, nil),
	} {
		if _, ok := unchangedBindingPlan(ctx, req); ok {
			t.Errorf("%s: answered directly; the framework must plan it", name)
		}
	}
}

// sameValue fails unless two encoded values of typ are equal.
func sameValue(t *testing.T, what string, typ tftypes.Type, got, want *tfprotov6.DynamicValue) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	g, err := got.Unmarshal(typ)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := want.Unmarshal(typ)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !g.Equal(w) {
		t.Fatalf("%s: got %v, want %v", what, g, w)
	}
}

// TestCallTargets: targets() with valid ids is answered without the
// framework exactly as the framework answers it, and every call the
// framework must refuse or leave unknown goes to it.
func TestCallTargets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	framework := providerserver.NewProtocol6(New("test")())()
	if _, err := framework.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	call := func(v tftypes.Value) *tfprotov6.CallFunctionRequest {
		t.Helper()
		arg, err := tfprotov6.NewDynamicValue(tftypes.DynamicPseudoType, v)
		if err != nil {
			t.Fatal(err)
		}
		return &tfprotov6.CallFunctionRequest{Name: "targets", Arguments: []*tfprotov6.DynamicValue{&arg}}
	}
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	list := func(typ tftypes.Type, elems ...tftypes.Value) tftypes.Value {
		if tuple, ok := typ.(tftypes.Tuple); ok && tuple.ElementTypes == nil {
			types := make([]tftypes.Type, len(elems))
			for i, e := range elems {
				types[i] = e.Type()
			}
			typ = tftypes.Tuple{ElementTypes: types}
		}
		return tftypes.NewValue(typ, elems)
	}
	ids := func(n int) []tftypes.Value {
		var out []tftypes.Value
		for _, id := range deviceIDs(0, n) {
			out = append(out, str(id))
		}
		return out
	}
	mapType := tftypes.Map{ElementType: tftypes.String}

	for name, req := range map[string]*tfprotov6.CallFunctionRequest{
		"list":       call(list(tftypes.List{ElementType: tftypes.String}, ids(3)...)),
		"set":        call(list(tftypes.Set{ElementType: tftypes.String}, ids(3)...)),
		"tuple":      call(list(tftypes.Tuple{}, ids(1000)...)),
		"empty list": call(list(tftypes.List{ElementType: tftypes.String})),
	} {
		got, ok := callTargets(req)
		if !ok {
			t.Fatalf("%s: not answered directly", name)
		}
		want, err := framework.CallFunction(ctx, req)
		if err != nil || want.Error != nil {
			t.Fatalf("%s: framework: %v %v", name, err, want.Error)
		}
		sameValue(t, name, mapType, got.Result, want.Result)
	}

	for name, req := range map[string]*tfprotov6.CallFunctionRequest{
		"duplicate":      call(list(tftypes.Tuple{}, str("a"), str("b"), str("a"))),
		"null element":   call(list(tftypes.List{ElementType: tftypes.String}, str("a"), tftypes.NewValue(tftypes.String, nil))),
		"number element": call(list(tftypes.Tuple{}, str("a"), tftypes.NewValue(tftypes.Number, 1))),
		"unknown":        call(tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, tftypes.UnknownValue)),
		"unknown element": call(list(tftypes.List{ElementType: tftypes.String}, str("a"),
			tftypes.NewValue(tftypes.String, tftypes.UnknownValue))),
		"null":     call(tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, nil)),
		"a string": call(str("a")),
		"a map":    call(tftypes.NewValue(mapType, map[string]tftypes.Value{"a": str("")})),
		"list of lists": call(list(tftypes.List{ElementType: tftypes.List{ElementType: tftypes.String}},
			list(tftypes.List{ElementType: tftypes.String}, str("a")))),
		"tuple of a list": call(list(tftypes.Tuple{}, list(tftypes.List{ElementType: tftypes.String}, str("a")))),
		"not msgpack":     {Name: "targets", Arguments: []*tfprotov6.DynamicValue{{JSON: []byte(`["a"]`)}}},
		"other function":  {Name: "evaluate", Arguments: call(list(tftypes.Tuple{}, str("a"))).Arguments},
		"no argument":     {Name: "targets"},
	} {
		if _, ok := callTargets(req); ok {
			t.Errorf("%s: answered directly; the framework must answer it", name)
		}
	}
}

// TestValidBindingConfig: a valid configuration is recognised without the
// framework, which finds nothing in it either, and every other goes to the
// framework.
func TestValidBindingConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sr resource.SchemaResponse
	NewDevicePolicyBindingResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	framework := providerserver.NewProtocol6(New("test")())()
	if _, err := framework.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	str := func(s any) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	targets := func(elems map[string]any) tftypes.Value {
		m := map[string]tftypes.Value{}
		for k, v := range elems {
			m[k] = str(v)
		}
		return tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, m)
	}
	config := func(change func(map[string]tftypes.Value)) *tfprotov6.DynamicValue {
		t.Helper()
		attrs := map[string]tftypes.Value{
			"id":          str(nil),
			"policy_id":   str(iotda.ExamplePolicyID),
			"target_type": str("device"),
			"exclusive":   tftypes.NewValue(tftypes.Bool, nil),
			"targets":     targets(map[string]any{"d1": "", "64a7ba7ef9cb063d27e16b97_sensor-0001": ""}),
		}
		if change != nil {
			change(attrs)
		}
		v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, attrs))
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	set := func(name string, v tftypes.Value) func(map[string]tftypes.Value) {
		return func(attrs map[string]tftypes.Value) { attrs[name] = v }
	}
	for name, tc := range map[string]struct {
		config *tfprotov6.DynamicValue
		valid  bool
	}{
		"valid":                 {config(nil), true},
		"exclusive":             {config(set("exclusive", tftypes.NewValue(tftypes.Bool, true))), true},
		"not exclusive":         {config(set("exclusive", tftypes.NewValue(tftypes.Bool, false))), true},
		"no targets":            {config(set("targets", targets(nil))), true},
		"product":               {config(set("target_type", str("product"))), true},
		"name as policy id":     {config(set("policy_id", str("fleet"))), false},
		"unknown policy":        {config(set("policy_id", str(tftypes.UnknownValue))), true},
		"unknown target type":   {config(set("target_type", str(tftypes.UnknownValue))), true},
		"null policy":           {config(set("policy_id", str(nil))), false},
		"bad target type":       {config(set("target_type", str("devices"))), false},
		"bad target id":         {config(set("targets", targets(map[string]any{"d 1": ""}))), false},
		"value not empty":       {config(set("targets", targets(map[string]any{"d1": "x"}))), false},
		"null value":            {config(set("targets", targets(map[string]any{"d1": nil}))), false},
		"unknown value":         {config(set("targets", targets(map[string]any{"d1": tftypes.UnknownValue}))), false},
		"unknown targets":       {config(set("targets", tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, tftypes.UnknownValue))), false},
		"null targets":          {config(set("targets", tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, nil))), false},
		"unknown exclusive":     {config(set("exclusive", tftypes.NewValue(tftypes.Bool, tftypes.UnknownValue))), true},
		"unknown id":            {config(set("id", str(tftypes.UnknownValue))), false},
		"id set":                {config(set("id", str("x"))), false},
		"truncated":             {&tfprotov6.DynamicValue{MsgPack: config(nil).MsgPack[:30]}, false},
		"not msgpack (JSON)":    {&tfprotov6.DynamicValue{JSON: []byte(`{}`)}, false},
		"a long target id":      {config(set("targets", targets(map[string]any{strings.Repeat("a", iotda.MaxTargetIDLength+1): ""}))), false},
		"the longest target id": {config(set("targets", targets(map[string]any{strings.Repeat("a", iotda.MaxTargetIDLength): ""}))), true},
	} {
		if got := validBindingConfig(tc.config.MsgPack); got != tc.valid {
			t.Errorf("%s: valid = %t, want %t", name, got, tc.valid)
			continue
		}
		want, err := framework.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: bindingTypeName, Config: tc.config})
		if err != nil {
			t.Fatal(err)
		}
		if tc.valid && len(want.Diagnostics) > 0 {
			t.Errorf("%s: recognised as valid, but the framework says %s: %s", name, want.Diagnostics[0].Summary, want.Diagnostics[0].Detail)
		}
	}
}

// bindingStateJSON is a binding's state as Terraform stores it, with n
// targets in order.
func bindingStateJSON(t testing.TB, n int) []byte {
	t.Helper()
	targets := map[string]string{}
	for _, id := range deviceIDs(0, n) {
		targets[id] = ""
	}
	data, err := json.Marshal(map[string]any{
		"id": iotda.ExamplePolicyID + "/device", "policy_id": iotda.ExamplePolicyID, "target_type": "device",
		"exclusive": true, "targets": targets,
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCurrentBindingState: the upgrade of a binding's state at the current
// schema version is answered without the framework exactly as the
// framework answers it, and every other upgrade goes to the framework.
func TestCurrentBindingState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sr resource.SchemaResponse
	NewDevicePolicyBindingResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	framework := providerserver.NewProtocol6(New("test")())()
	if _, err := framework.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	upgrade := func(version int64, state string) *tfprotov6.UpgradeResourceStateRequest {
		return &tfprotov6.UpgradeResourceStateRequest{TypeName: bindingTypeName, Version: version, RawState: &tfprotov6.RawState{JSON: []byte(state)}}
	}
	const (
		scalars = `"id":"` + iotda.ExamplePolicyID + `/device","policy_id":"` + iotda.ExamplePolicyID + `","target_type":"device"`
		v1      = `{` + scalars + `,"exclusive":true,"targets":{"d1":"","d2":""}}`
	)

	for name, req := range map[string]*tfprotov6.UpgradeResourceStateRequest{
		"state":               upgrade(1, v1),
		"1,000 targets":       upgrade(1, string(bindingStateJSON(t, 1000))),
		"not exclusive":       upgrade(1, `{`+scalars+`,"exclusive":false,"targets":{}}`),
		"exclusive null":      upgrade(1, `{`+scalars+`,"exclusive":null,"targets":{"d1":""}}`),
		"without exclusive":   upgrade(1, `{`+scalars+`,"targets":{"d1":""}}`),
		"targets null":        upgrade(1, `{`+scalars+`,"exclusive":true,"targets":null}`),
		"nothing":             upgrade(1, `{}`),
		"escapes and unicode": upgrade(1, `{"id":"a\u002fb","policy_id":"\u00e9t\u00e9","target_type":"device","targets":{"a\"b":"","\u00e9":""}}`),
		"spaces":              upgrade(1, " {\n  \"targets\" : { \"d1\" : \"\" } ,\"id\":null } \n"),
	} {
		got, ok := currentBindingState(req)
		if !ok {
			t.Fatalf("%s: not answered directly", name)
		}
		want, err := framework.UpgradeResourceState(ctx, req)
		if err != nil || len(want.Diagnostics) > 0 {
			t.Fatalf("%s: framework: %v %v", name, err, want.Diagnostics)
		}
		if len(got.Diagnostics) > 0 {
			t.Fatalf("%s: diagnostics %v", name, got.Diagnostics)
		}
		sameValue(t, name, typ, got.UpgradedState, want.UpgradedState)
	}

	for name, req := range map[string]*tfprotov6.UpgradeResourceStateRequest{
		"version 0":            upgrade(0, `{`+scalars+`,"target_ids":["d1"]}`),
		"unexpected key":       upgrade(1, `{`+scalars+`,"exclusive":true,"targets":{},"target_ids":null}`),
		"duplicate key":        upgrade(1, `{`+scalars+`,"exclusive":true,"exclusive":false,"targets":{}}`),
		"duplicate target":     upgrade(1, `{`+scalars+`,"targets":{"d1":"","d1":""}}`),
		"targets out of order": upgrade(1, `{`+scalars+`,"targets":{"d2":"","d1":""}}`),
		"target value":         upgrade(1, `{`+scalars+`,"targets":{"d1":"x"}}`),
		"null target value":    upgrade(1, `{`+scalars+`,"targets":{"d1":null}}`),
		"number as string":     upgrade(1, `{"id":1}`),
		"string as bool":       upgrade(1, `{"exclusive":"true"}`),
		"targets a list":       upgrade(1, `{"targets":["d1"]}`),
		"null state":           upgrade(1, `null`),
		"trailing data":        upgrade(1, v1+`{}`),
		"truncated":            upgrade(1, v1[:40]),
		"flatmap":              {TypeName: bindingTypeName, Version: 1, RawState: &tfprotov6.RawState{Flatmap: map[string]string{"id": "x"}}},
		"no raw state":         {TypeName: bindingTypeName, Version: 1},
		"another type":         {TypeName: "iotda_device_policy", Version: 1, RawState: &tfprotov6.RawState{JSON: []byte(v1)}},
	} {
		if _, ok := currentBindingState(req); ok {
			t.Errorf("%s: answered directly; the framework must answer it", name)
		}
	}
}

// BenchmarkUpgradeBindingState reports the CPU of one upgrade of a state
// of 100,000 targets at the current version, by the framework and by the
// protocol (currentBindingState), in milliseconds per call:
//
//	go test -run '^$' -bench 'BindingState|BindingRead|BindingPlan|BindingApply' -benchtime 3x ./internal/provider/
func BenchmarkUpgradeBindingState(b *testing.B) {
	ctx := context.Background()
	server := protocolServerOf(b, NewProtocol6(New("test")())())
	if _, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		b.Fatal(err)
	}
	req := &tfprotov6.UpgradeResourceStateRequest{TypeName: bindingTypeName, Version: 1, RawState: &tfprotov6.RawState{JSON: bindingStateJSON(b, 100_000)}}
	benchCPU(b, "framework", func() {
		if resp, err := server.frameworkServer.UpgradeResourceState(ctx, req); err != nil || len(resp.Diagnostics) > 0 {
			b.Fatal(err, resp.Diagnostics)
		}
	})
	benchCPU(b, "protocol", func() {
		if _, ok := currentBindingState(req); !ok {
			b.Fatal("not answered by the protocol")
		}
	})
}

// BenchmarkBindingRead reports the CPU of one refresh of a binding of
// 100,000 targets, unchanged since its apply, by the framework and by the
// protocol (bindingRead), in milliseconds per call. Both include the
// listing of the targets (2,000 pages) from a mock in the same process,
// the client's and the mock's CPU alike; "listing" is that listing alone
// (binding.Read).
func BenchmarkBindingRead(b *testing.B) {
	ctx := context.Background()
	srv := mock.NewTestServer(b, mock.Config{})
	server := configuredServer(b, srv)
	policy := createPolicy(b, srv, "fleet", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	ids := deviceIDs(0, 100_000)
	if _, err := srv.Bind("", policy.PolicyID, "device", ids...); err != nil {
		b.Fatal(err)
	}
	req := bindingReadRequest(b, policy.PolicyID, true, ids, nil)
	check := func(resp *tfprotov6.ReadResourceResponse) {
		if len(resp.Diagnostics) > 0 {
			b.Fatal(resp.Diagnostics)
		}
	}
	client := server.configured.Load().client
	benchCPU(b, "listing", func() {
		if _, err := binding.Read(ctx, client, binding.Binding{PolicyID: policy.PolicyID, TargetType: "device", Exclusive: true, Targets: ids}, time.Time{}); err != nil {
			b.Fatal(err)
		}
	})
	benchCPU(b, "framework", func() {
		resp, err := server.frameworkServer.ReadResource(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		check(resp)
	})
	benchCPU(b, "protocol", func() {
		resp, ok := server.bindingRead(ctx, req)
		if !ok {
			b.Fatal("not answered by the protocol")
		}
		check(resp)
	})
}

// churnedIDs are 100,000 targets and the same with a tenth of them
// changed: 5,000 removed and 5,000 added.
func churnedIDs() (prior, next []string) {
	prior = deviceIDs(0, 100_000)
	next = append(deviceIDs(5_000, 100_000), deviceIDs(100_000, 105_000)...)
	return prior, next
}

// BenchmarkBindingPlan reports the CPU of one plan of an update of a
// binding of 100,000 targets that changes a tenth of them, by the
// framework and by the protocol (bindingPlan), in milliseconds per call.
// The plan calls no API (the binding stays exclusive, nothing is bound
// outside it).
func BenchmarkBindingPlan(b *testing.B) {
	ctx := context.Background()
	server := configuredServer(b, mock.NewTestServer(b, mock.Config{}))
	prior, next := churnedIDs()
	const policyID = "0123456789abcdef01234567"
	req := bindingPlanRequest(b, policyID, bindingAttrs{true, prior}, bindingAttrs{true, next}, nil)
	benchCPU(b, "framework", func() {
		if resp, err := server.frameworkServer.PlanResourceChange(ctx, req); err != nil || len(resp.Diagnostics) > 0 {
			b.Fatal(err, resp.Diagnostics)
		}
	})
	benchCPU(b, "protocol", func() {
		if resp, ok := server.bindingPlan(ctx, req); !ok || len(resp.Diagnostics) > 0 {
			b.Fatal("not answered by the protocol, or diagnostics")
		}
	})
}

// BenchmarkBindingApply reports the CPU of one apply of an update of a
// binding of 100,000 targets that changes a tenth of them, by the
// framework and by the protocol (bindingApply), in milliseconds per call.
// Calls go back and forth between the two sets of targets. Both include
// the API work (500 bind and unbind calls and the listings) against a
// mock in the same process, the client's and the mock's CPU alike;
// "update" is that work alone (binding.Update).
func BenchmarkBindingApply(b *testing.B) {
	ctx := context.Background()
	srv := mock.NewTestServer(b, mock.Config{})
	server := configuredServer(b, srv)
	policy := createPolicy(b, srv, "fleet", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	prior, next := churnedIDs()
	if _, err := srv.Bind("", policy.PolicyID, "device", prior...); err != nil {
		b.Fatal(err)
	}
	id := policy.PolicyID + "/device"
	reqs := []*tfprotov6.ApplyResourceChangeRequest{
		bindingApplyRequest(b, policy.PolicyID, bindingAttrs{true, prior}, bindingAttrs{true, next}, id, nil),
		bindingApplyRequest(b, policy.PolicyID, bindingAttrs{true, next}, bindingAttrs{true, prior}, id, nil),
	}
	sets := [][]string{prior, next}
	n := 0
	check := func(resp *tfprotov6.ApplyResourceChangeResponse) {
		if len(resp.Diagnostics) > 0 {
			b.Fatal(resp.Diagnostics)
		}
	}
	client := server.configured.Load().client
	benchCPU(b, "update", func() {
		from, to := sets[n%2], sets[(n+1)%2]
		n++
		res := binding.Update(ctx, client, binding.Binding{PolicyID: policy.PolicyID, TargetType: "device", Exclusive: true, Targets: from},
			binding.Binding{PolicyID: policy.PolicyID, TargetType: "device", Exclusive: true, Targets: to})
		if res.Failed() {
			b.Fatal(res.Err())
		}
	})
	benchCPU(b, "framework", func() {
		resp, err := server.frameworkServer.ApplyResourceChange(ctx, reqs[n%2])
		n++
		if err != nil {
			b.Fatal(err)
		}
		check(resp)
	})
	benchCPU(b, "protocol", func() {
		resp, ok := server.bindingApply(ctx, reqs[n%2])
		n++
		if !ok {
			b.Fatal("not answered by the protocol")
		}
		check(resp)
	})
}

// BenchmarkBindingCreatePlan reports the CPU of one plan of the create of
// a binding of 100,000 targets, by the framework and by the protocol
// (bindingPlan), in milliseconds per call: of an existing policy (the
// binding is exclusive by default, so each plan lists the targets bound
// to it: none), and of a policy still to be created (its id unknown:
// nothing to list), as in the plan of a first apply.
func BenchmarkBindingCreatePlan(b *testing.B) {
	ctx := context.Background()
	srv := mock.NewTestServer(b, mock.Config{})
	server := configuredServer(b, srv)
	policy := createPolicy(b, srv, "fleet", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	ids := deviceIDs(0, 100_000)
	for _, c := range []struct {
		name string
		req  *tfprotov6.PlanResourceChangeRequest
	}{
		{"", bindingCreatePlanRequest(b, policy.PolicyID, bindingAttrs{nil, ids})},
		{",policy_unknown", unknownPolicyCreate(b, "device", bindingAttrs{nil, ids})},
	} {
		name, req := c.name, c.req
		benchCPU(b, "framework"+name, func() {
			if resp, err := server.frameworkServer.PlanResourceChange(ctx, req); err != nil || len(resp.Diagnostics) > 0 {
				b.Fatal(err, resp.Diagnostics)
			}
		})
		benchCPU(b, "protocol"+name, func() {
			if resp, ok := server.bindingPlan(ctx, req); !ok || len(resp.Diagnostics) > 0 {
				b.Fatal("not answered by the protocol, or diagnostics")
			}
		})
	}
}

// BenchmarkBindingCreateApply reports the CPU of one apply of the create
// of a non-exclusive binding of 100,000 targets, by the framework and by
// the protocol (bindingApply), in milliseconds per call. The targets stay
// bound from call to call: a non-exclusive create binds them all again
// (5,000 bind calls) without listing. Both include that API work against
// a mock in the same process, the client's and the mock's CPU alike;
// "create" is that work alone (binding.Create).
func BenchmarkBindingCreateApply(b *testing.B) {
	ctx := context.Background()
	srv := mock.NewTestServer(b, mock.Config{})
	server := configuredServer(b, srv)
	policy := createPolicy(b, srv, "fleet", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	ids := deviceIDs(0, 100_000)
	req := bindingCreateApplyRequest(b, policy.PolicyID, bindingAttrs{false, ids})
	check := func(resp *tfprotov6.ApplyResourceChangeResponse) {
		if len(resp.Diagnostics) > 0 {
			b.Fatal(resp.Diagnostics)
		}
	}
	client := server.configured.Load().client
	benchCPU(b, "create", func() {
		if res := binding.Create(ctx, client, binding.Binding{PolicyID: policy.PolicyID, TargetType: "device", Targets: ids}); res.Failed() {
			b.Fatal(res.Err())
		}
	})
	benchCPU(b, "framework", func() {
		resp, err := server.frameworkServer.ApplyResourceChange(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		check(resp)
	})
	benchCPU(b, "protocol", func() {
		resp, ok := server.bindingApply(ctx, req)
		if !ok {
			b.Fatal("not answered by the protocol")
		}
		check(resp)
	})
}

// benchCPU runs call as a sub-benchmark and reports the process's CPU
// time per call in milliseconds.
func benchCPU(b *testing.B, name string, call func()) {
	b.Run(name, func(b *testing.B) {
		start := processCPU()
		for b.Loop() {
			call()
		}
		b.ReportMetric(float64(processCPU()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	})
}

// protocolServerOf is server as the provider's protocol server.
func protocolServerOf(t testing.TB, server tfprotov6.ProviderServer) *protocolServer {
	t.Helper()
	s, ok := server.(*protocolServer)
	if !ok {
		t.Fatalf("%T is not the provider's protocol server", server)
	}
	return s
}

// configuredServer is the provider's protocol server configured for srv,
// with fastRetries.
func configuredServer(t testing.TB, srv *mock.TestServer) *protocolServer {
	t.Helper()
	ctx := context.Background()
	server := protocolServerOf(t, NewProtocol6(newTestProvider(fastRetries))())
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := schemas.Provider.ValueType().(tftypes.Object)
	if !ok {
		t.Fatalf("the provider's schema is a %T", schemas.Provider.ValueType())
	}
	values := map[string]tftypes.Value{}
	for name, attrType := range typ.AttributeTypes {
		values[name] = tftypes.NewValue(attrType, nil)
	}
	for name, v := range map[string]string{"endpoint": srv.URL, "region": "cn-north-4", "project_id": mock.TestProjectID,
		"access_key": mock.TestAccessKey, "secret_key": mock.TestSecretKey} {
		values[name] = tftypes.NewValue(tftypes.String, v)
	}
	config, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, values))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: &config})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("ConfigureProvider: %v %v", err, resp.Diagnostics)
	}
	return server
}

// bindingReadTypes are the types of a binding's state and identity.
func bindingReadTypes() (state, identity tftypes.Type) {
	ctx := context.Background()
	var sr resource.SchemaResponse
	NewDevicePolicyBindingResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	var ir resource.IdentitySchemaResponse
	(&devicePolicyBindingResource{}).IdentitySchema(ctx, resource.IdentitySchemaRequest{}, &ir)
	return sr.Schema.Type().TerraformType(ctx), ir.IdentitySchema.Type().TerraformType(ctx)
}

// bindingReadRequest is the refresh of a binding of policyID with the
// targets ids (nil: null) and the private state keys given as JSON.
func bindingReadRequest(t testing.TB, policyID string, exclusive any, ids []string, private map[string]string) *tfprotov6.ReadResourceRequest {
	t.Helper()
	typ, identityType := bindingReadTypes()
	targets := tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, nil)
	if ids != nil {
		elems := make(map[string]tftypes.Value, len(ids))
		for _, id := range ids {
			elems[id] = tftypes.NewValue(tftypes.String, "")
		}
		targets = tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, elems)
	}
	state, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
		"id":          tftypes.NewValue(tftypes.String, policyID+"/device"),
		"policy_id":   tftypes.NewValue(tftypes.String, policyID),
		"target_type": tftypes.NewValue(tftypes.String, "device"),
		"exclusive":   tftypes.NewValue(tftypes.Bool, exclusive),
		"targets":     targets,
	}))
	if err != nil {
		t.Fatal(err)
	}
	identity, err := tfprotov6.NewDynamicValue(identityType, tftypes.NewValue(identityType, map[string]tftypes.Value{
		"policy_id": tftypes.NewValue(tftypes.String, policyID), "target_type": tftypes.NewValue(tftypes.String, "device"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	req := &tfprotov6.ReadResourceRequest{TypeName: bindingTypeName, CurrentState: &state,
		CurrentIdentity: &tfprotov6.ResourceIdentityData{IdentityData: &identity}}
	if private != nil {
		keys := map[string][]byte{}
		for k, v := range private {
			keys[k] = []byte(v)
		}
		if req.Private, err = json.Marshal(keys); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

// TestBindingRead: the refresh of a binding is answered without the
// framework exactly as the framework answers it, against the same mock,
// and every refresh the protocol must not answer goes to the framework
// without an API call.
func TestBindingRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{})
	server := configuredServer(t, srv)
	typ, identityType := bindingReadTypes()
	policy := createPolicy(t, srv, "fleet", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	ids := deviceIDs(0, 3)
	bindTargets(t, srv, policy.PolicyID, "device", ids...)
	emptyPolicy := createPolicy(t, srv, "empty", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	// A policy id of the right form that the mock does not have.
	const gonePolicyID = "0123456789abcdef01234567"
	written := `"` + time.Now().UTC().Format(time.RFC3339Nano) + `"`
	outsideID := "64a7ba7ef9cb063d27e16b97_outside"

	type readCase struct {
		req     *tfprotov6.ReadResourceRequest
		outside bool   // outsideID is bound too
		setup   func() // before each of the two reads
		check   func(t *testing.T, resp *tfprotov6.ReadResourceResponse)
	}
	withIdentity := func(req *tfprotov6.ReadResourceRequest, id *tfprotov6.ResourceIdentityData) *tfprotov6.ReadResourceRequest {
		req.CurrentIdentity = id
		return req
	}
	nullIdentity, err := tfprotov6.NewDynamicValue(identityType, tftypes.NewValue(identityType, nil))
	if err != nil {
		t.Fatal(err)
	}
	hasPrivate := func(key string, want bool) func(*testing.T, *tfprotov6.ReadResourceResponse) {
		return func(t *testing.T, resp *tfprotov6.ReadResourceResponse) {
			var keys map[string][]byte
			if len(resp.Private) > 0 {
				if err := json.Unmarshal(resp.Private, &keys); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok := keys[key]; ok != want {
				t.Errorf("private state %s: %t, want %t", resp.Private, ok, want)
			}
		}
	}
	for name, tc := range map[string]readCase{
		"after an apply": {req: bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateWrittenAt: written}),
			check: hasPrivate(privateWrittenAt, false)},
		"after a create": {req: bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateWrittenAt: written,
			privateReplacement: `{"policy_id":"` + policy.PolicyID + `","target_type":"device","targets":["a"]}`}),
			check: hasPrivate(privateReplacement, true)},
		"no private state": {req: bindingReadRequest(t, policy.PolicyID, true, ids, nil)},
		"deferral allowed": {req: func() *tfprotov6.ReadResourceRequest {
			req := bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateWrittenAt: written})
			req.ClientCapabilities = &tfprotov6.ReadResourceClientCapabilities{DeferralAllowed: true}
			return req
		}()},
		"nothing bound any more": {req: bindingReadRequest(t, emptyPolicy.PolicyID, true, ids, nil),
			check: func(t *testing.T, resp *tfprotov6.ReadResourceResponse) {
				v, err := resp.NewState.Unmarshal(typ)
				var attrs map[string]tftypes.Value
				if err == nil {
					err = v.As(&attrs)
				}
				if err != nil || attrs["targets"].IsNull() {
					t.Errorf("targets %v (%v), want an empty map", attrs["targets"], err)
				}
			}},
		"targets changed": {req: bindingReadRequest(t, policy.PolicyID, true, ids[:2], nil)},
		"unsure and outside": {req: bindingReadRequest(t, policy.PolicyID, true, ids[:2], map[string]string{privateUnsure: `["` + ids[2] + `"]`}),
			outside: true, check: hasPrivate(privateOutside, true)},
		"outside settled": {req: bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateOutside: `["` + outsideID + `"]`}),
			check: hasPrivate(privateOutside, false)},
		"outside, not exclusive": {req: bindingReadRequest(t, policy.PolicyID, false, ids, map[string]string{privateWrittenAt: written}),
			outside: true, check: hasPrivate(privateOutside, false)},
		"not exclusive":   {req: bindingReadRequest(t, policy.PolicyID, false, append(ids[:2:2], "64a7ba7ef9cb063d27e16b97_unbound"), nil)},
		"exclusive null":  {req: bindingReadRequest(t, policy.PolicyID, nil, ids, nil)},
		"no identity":     {req: withIdentity(bindingReadRequest(t, policy.PolicyID, true, ids, nil), nil)},
		"a null identity": {req: withIdentity(bindingReadRequest(t, policy.PolicyID, true, ids, nil), &tfprotov6.ResourceIdentityData{IdentityData: &nullIdentity})},
		"policy gone": {req: bindingReadRequest(t, gonePolicyID, true, ids, nil),
			check: func(t *testing.T, resp *tfprotov6.ReadResourceResponse) {
				if v, err := resp.NewState.Unmarshal(typ); err != nil || !v.IsNull() {
					t.Errorf("state %v (%v), want it removed", v, err)
				}
			}},
		"listing error": {req: bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateWrittenAt: written}),
			setup: func() { srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden}) },
			check: func(t *testing.T, resp *tfprotov6.ReadResourceResponse) {
				if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Severity != tfprotov6.DiagnosticSeverityError {
					t.Errorf("diagnostics %v, want the listing's error", resp.Diagnostics)
				}
			}},
	} {
		t.Run(name, func(t *testing.T) {
			read := func(f func() (*tfprotov6.ReadResourceResponse, bool)) *tfprotov6.ReadResourceResponse {
				t.Helper()
				// The mock binds ids, and outsideID when the case says.
				if tc.outside {
					bindTargets(t, srv, policy.PolicyID, "device", outsideID)
				} else if _, err := srv.Unbind("", policy.PolicyID, "device", outsideID); err != nil {
					t.Fatal(err)
				}
				if tc.setup != nil {
					tc.setup()
				}
				resp, ok := f()
				if !ok {
					t.Fatal("not answered directly")
				}
				return resp
			}
			want := read(func() (*tfprotov6.ReadResourceResponse, bool) {
				resp, err := server.frameworkServer.ReadResource(ctx, tc.req)
				return resp, err == nil
			})
			got := read(func() (*tfprotov6.ReadResourceResponse, bool) { return server.bindingRead(ctx, tc.req) })
			sameValue(t, "state", typ, got.NewState, want.NewState)
			if !bytes.Equal(got.Private, want.Private) {
				t.Errorf("private state %s, want %s", got.Private, want.Private)
			}
			if (got.NewIdentity == nil) != (want.NewIdentity == nil) {
				t.Fatalf("identity %v, want %v", got.NewIdentity, want.NewIdentity)
			}
			if want.NewIdentity != nil {
				sameValue(t, "identity", identityType, got.NewIdentity.IdentityData, want.NewIdentity.IdentityData)
			}
			if diags := fmt.Sprint(redactRequestIDs(got.Diagnostics)); diags != fmt.Sprint(redactRequestIDs(want.Diagnostics)) {
				t.Errorf("diagnostics %s, want %s", diags, fmt.Sprint(redactRequestIDs(want.Diagnostics)))
			}
			if want.Deferred != nil {
				t.Errorf("the framework deferred: %v", want.Deferred)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}

	changed := func(change func(*tfprotov6.ReadResourceRequest)) *tfprotov6.ReadResourceRequest {
		req := bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateWrittenAt: written})
		change(req)
		return req
	}
	otherIdentity, err := tfprotov6.NewDynamicValue(identityType, tftypes.NewValue(identityType, map[string]tftypes.Value{
		"policy_id": tftypes.NewValue(tftypes.String, policy.PolicyID), "target_type": tftypes.NewValue(tftypes.String, "product"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	before := srv.TotalCalls()
	for name, req := range map[string]*tfprotov6.ReadResourceRequest{
		"after an import":         bindingReadRequest(t, policy.PolicyID, true, nil, map[string]string{".import_before_read": `true`}),
		"targets null":            bindingReadRequest(t, policy.PolicyID, true, nil, nil),
		"a framework key":         bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateWrittenAt: written, ".other": `1`}),
		"another key":             bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{"other": `1`}),
		"unsure not a list":       bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateUnsure: `"x"`}),
		"written_at not a string": bindingReadRequest(t, policy.PolicyID, true, ids, map[string]string{privateWrittenAt: `1`}),
		"private not JSON":        changed(func(req *tfprotov6.ReadResourceRequest) { req.Private = []byte(`{"written_at":"bm90IEpTT04="}`) }),
		"another identity":        withIdentity(bindingReadRequest(t, policy.PolicyID, true, ids, nil), &tfprotov6.ResourceIdentityData{IdentityData: &otherIdentity}),
		"another type":            changed(func(req *tfprotov6.ReadResourceRequest) { req.TypeName = "iotda_device_policy" }),
		"state as JSON": changed(func(req *tfprotov6.ReadResourceRequest) {
			req.CurrentState = &tfprotov6.DynamicValue{JSON: []byte(`{}`)}
		}),
		"truncated":      changed(func(req *tfprotov6.ReadResourceRequest) { req.CurrentState.MsgPack = req.CurrentState.MsgPack[:30] }),
		"no state":       changed(func(req *tfprotov6.ReadResourceRequest) { req.CurrentState = nil }),
		"policy unknown": unknownPolicyRead(t, policy.PolicyID),
	} {
		if _, ok := server.bindingRead(ctx, req); ok {
			t.Errorf("%s: answered directly; the framework must answer it", name)
		}
	}
	if _, ok := configuredServer(t, srv).bindingRead(ctx, bindingReadRequest(t, policy.PolicyID, true, ids, nil)); !ok {
		t.Error("a configured server does not answer")
	}
	unconfigured := protocolServerOf(t, NewProtocol6(New("test")())())
	if _, ok := unconfigured.bindingRead(ctx, bindingReadRequest(t, policy.PolicyID, true, ids, nil)); ok {
		t.Error("an unconfigured server answered directly")
	}
	if calls := srv.TotalCalls() - before; calls != 1 {
		t.Errorf("%d API calls, want the one listing of the configured server", calls)
	}
}

// unknownPolicyRead is a refresh of a state whose policy id is unknown.
func unknownPolicyRead(t *testing.T, policyID string) *tfprotov6.ReadResourceRequest {
	req := bindingReadRequest(t, policyID, true, nil, nil)
	typ, _ := bindingReadTypes()
	state, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
		"id":          tftypes.NewValue(tftypes.String, nil),
		"policy_id":   tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
		"target_type": tftypes.NewValue(tftypes.String, "device"),
		"exclusive":   tftypes.NewValue(tftypes.Bool, true),
		"targets":     tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{}),
	}))
	if err != nil {
		t.Fatal(err)
	}
	req.CurrentState = &state
	return req
}

// unknownPolicyValue is a binding's value whose policy id is unknown (as
// while the policy is still to be created), with id, target type (each a
// string, nil or tftypes.UnknownValue), exclusive and targets (nil:
// unknown).
func unknownPolicyValue(t testing.TB, id, targetType any, a bindingAttrs) *tfprotov6.DynamicValue {
	t.Helper()
	typ, _ := bindingReadTypes()
	mapType := tftypes.Map{ElementType: tftypes.String}
	targets := tftypes.NewValue(mapType, tftypes.UnknownValue)
	if a.ids != nil {
		elems := map[string]tftypes.Value{}
		for _, id := range a.ids {
			elems[id] = tftypes.NewValue(tftypes.String, "")
		}
		targets = tftypes.NewValue(mapType, elems)
	}
	v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
		"id":          tftypes.NewValue(tftypes.String, id),
		"policy_id":   tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
		"target_type": tftypes.NewValue(tftypes.String, targetType),
		"exclusive":   tftypes.NewValue(tftypes.Bool, a.exclusive),
		"targets":     targets,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// unknownPolicyCreate is the plan of the create of a binding whose policy
// id is unknown, configured with the target type, exclusive and targets
// given (see unknownPolicyValue).
func unknownPolicyCreate(t testing.TB, targetType any, a bindingAttrs) *tfprotov6.PlanResourceChangeRequest {
	t.Helper()
	req := bindingCreatePlanRequest(t, "0123456789abcdef01234567", bindingAttrs{true, []string{}})
	req.Config = unknownPolicyValue(t, nil, targetType, a)
	req.ProposedNewState = req.Config
	return req
}

var requestID = regexp.MustCompile(`\[request id [0-9a-f]+\]`)

// redactRequestIDs formats diagnostics without the ids of the requests
// their errors name, which differ from call to call.
func redactRequestIDs(diags []*tfprotov6.Diagnostic) []string {
	var out []string
	for _, d := range diags {
		out = append(out, fmt.Sprintf("%d %s: %s %v", d.Severity, d.Summary, requestID.ReplaceAllString(d.Detail, "ID"), d.Attribute))
	}
	return out
}

// bindingAttrs are a binding's exclusive (nil: null) and targets (nil:
// unknown) in a plan or apply request.
type bindingAttrs struct {
	exclusive any
	ids       []string
}

// bindingRequestValue is the encoded value of a binding of policyID, of device
// targets, with id (a string, nil or tftypes.UnknownValue).
func bindingRequestValue(t testing.TB, policyID string, id any, a bindingAttrs) *tfprotov6.DynamicValue {
	t.Helper()
	typ, _ := bindingReadTypes()
	mapType := tftypes.Map{ElementType: tftypes.String}
	targets := tftypes.NewValue(mapType, tftypes.UnknownValue)
	if a.ids != nil {
		elems := make(map[string]tftypes.Value, len(a.ids))
		for _, id := range a.ids {
			elems[id] = tftypes.NewValue(tftypes.String, "")
		}
		targets = tftypes.NewValue(mapType, elems)
	}
	v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
		"id":          tftypes.NewValue(tftypes.String, id),
		"policy_id":   tftypes.NewValue(tftypes.String, policyID),
		"target_type": tftypes.NewValue(tftypes.String, "device"),
		"exclusive":   tftypes.NewValue(tftypes.Bool, a.exclusive),
		"targets":     targets,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// bindingIdentity is the encoded identity of a binding of policyID.
func bindingIdentity(t testing.TB, policyID string) *tfprotov6.ResourceIdentityData {
	t.Helper()
	_, typ := bindingReadTypes()
	v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, map[string]tftypes.Value{
		"policy_id": tftypes.NewValue(tftypes.String, policyID), "target_type": tftypes.NewValue(tftypes.String, "device"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	return &tfprotov6.ResourceIdentityData{IdentityData: &v}
}

// privateBytes is the framework's private state of the keys given as JSON.
func privateBytes(t testing.TB, private map[string]string) []byte {
	t.Helper()
	if private == nil {
		return nil
	}
	keys := map[string][]byte{}
	for k, v := range private {
		keys[k] = []byte(v)
	}
	data, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// bindingPlanRequest is the plan of an update of a binding of policyID
// from prior to config, with Terraform's proposed new state (exclusive
// the prior one where the configuration leaves it null) and the private
// state keys given as JSON.
func bindingPlanRequest(t testing.TB, policyID string, prior, config bindingAttrs, private map[string]string) *tfprotov6.PlanResourceChangeRequest {
	t.Helper()
	id := policyID + "/device"
	proposed := config
	if proposed.exclusive == nil {
		proposed.exclusive = prior.exclusive
	}
	return &tfprotov6.PlanResourceChangeRequest{
		TypeName:         bindingTypeName,
		PriorState:       bindingRequestValue(t, policyID, id, prior),
		Config:           bindingRequestValue(t, policyID, nil, config),
		ProposedNewState: bindingRequestValue(t, policyID, id, proposed),
		PriorIdentity:    bindingIdentity(t, policyID),
		PriorPrivate:     privateBytes(t, private),
	}
}

// nullBinding is a binding's null value, as Terraform sends the prior
// state of a create.
func nullBinding(t testing.TB) *tfprotov6.DynamicValue {
	t.Helper()
	typ, _ := bindingReadTypes()
	v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// nullIdentity is a binding's null identity, as Terraform sends it for a
// binding it has not created yet.
func nullIdentity(t testing.TB) *tfprotov6.ResourceIdentityData {
	t.Helper()
	_, typ := bindingReadTypes()
	v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		t.Fatal(err)
	}
	return &tfprotov6.ResourceIdentityData{IdentityData: &v}
}

// bindingCreatePlanRequest is the plan of the create of a binding of
// policyID configured as config, as Terraform sends it: a null prior state
// and identity, the proposed state the configuration (id null).
func bindingCreatePlanRequest(t testing.TB, policyID string, config bindingAttrs) *tfprotov6.PlanResourceChangeRequest {
	t.Helper()
	return &tfprotov6.PlanResourceChangeRequest{
		TypeName:         bindingTypeName,
		PriorState:       nullBinding(t),
		Config:           bindingRequestValue(t, policyID, nil, config),
		ProposedNewState: bindingRequestValue(t, policyID, nil, config),
		PriorIdentity:    nullIdentity(t),
	}
}

// bindingCreateApplyRequest is the apply of the create of a binding of
// policyID configured as config, as its plan leaves it: a null prior state
// and identity, id unknown, exclusive true where config leaves it null,
// and the planned private state's replacement key.
func bindingCreateApplyRequest(t testing.TB, policyID string, config bindingAttrs) *tfprotov6.ApplyResourceChangeRequest {
	t.Helper()
	planned := config
	if planned.exclusive == nil {
		planned.exclusive = true
	}
	next, err := json.Marshal(replacement{PolicyID: policyID, TargetType: "device", Targets: slices.Sorted(slices.Values(config.ids))})
	if err != nil {
		t.Fatal(err)
	}
	return &tfprotov6.ApplyResourceChangeRequest{
		TypeName:        bindingTypeName,
		PriorState:      nullBinding(t),
		PlannedState:    bindingRequestValue(t, policyID, tftypes.UnknownValue, planned),
		Config:          bindingRequestValue(t, policyID, nil, config),
		PlannedIdentity: nullIdentity(t),
		PlannedPrivate:  privateBytes(t, map[string]string{privateReplacement: string(next)}),
	}
}

// privateKeys decodes a private state, without written_at's time, which
// differs from apply to apply: only whether it is set.
func privateKeys(t *testing.T, data []byte) map[string]string {
	t.Helper()
	keys := map[string][]byte{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &keys); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]string{}
	for k, v := range keys {
		if k == privateWrittenAt {
			v = []byte("set")
		}
		out[k] = string(v)
	}
	return out
}

// TestBindingPlan: the plan of an update of a binding is answered without
// the framework exactly as the framework answers it, against the same
// mock, and every plan the protocol must not answer goes to the framework
// without an API call.
func TestBindingPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{})
	server := configuredServer(t, srv)
	typ, identityType := bindingReadTypes()
	policy := createPolicy(t, srv, "planned", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	ids := deviceIDs(0, 4)
	bindTargets(t, srv, policy.PolicyID, "device", ids[:3]...)
	const gonePolicyID = "0123456789abcdef01234567"
	outsideID := "64a7ba7ef9cb063d27e16b97_outside"
	bindTargets(t, srv, policy.PolicyID, "device", outsideID)
	written := `"` + time.Now().UTC().Format(time.RFC3339Nano) + `"`
	empty := createPolicy(t, srv, "unbound", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})

	type planCase struct {
		req   *tfprotov6.PlanResourceChangeRequest
		setup func() // before each of the two plans
		check func(t *testing.T, resp *tfprotov6.PlanResourceChangeResponse)
	}
	warns := func(summary string) func(*testing.T, *tfprotov6.PlanResourceChangeResponse) {
		return func(t *testing.T, resp *tfprotov6.PlanResourceChangeResponse) {
			for _, d := range resp.Diagnostics {
				if d.Severity == tfprotov6.DiagnosticSeverityWarning && strings.Contains(d.Summary, summary) {
					return
				}
			}
			t.Errorf("diagnostics %v, want a warning %q", resp.Diagnostics, summary)
		}
	}
	unknownID := func(t *testing.T, resp *tfprotov6.PlanResourceChangeResponse) {
		t.Helper()
		v, err := resp.PlannedState.Unmarshal(typ)
		if err != nil {
			t.Fatal(err)
		}
		var attrs map[string]tftypes.Value
		if err := v.As(&attrs); err != nil || attrs["id"].IsKnown() {
			t.Errorf("planned id %v (%v), want unknown", attrs["id"], err)
		}
	}
	noIdentity := func(req *tfprotov6.PlanResourceChangeRequest) *tfprotov6.PlanResourceChangeRequest {
		req.PriorIdentity = nil
		return req
	}
	// calls is the mock's count of calls before the last plan.
	var calls int
	noCall := func(t *testing.T, resp *tfprotov6.PlanResourceChangeResponse) {
		t.Helper()
		unknownID(t, resp)
		if n := srv.TotalCalls() - calls; n != 0 {
			t.Errorf("%d API calls, want none", n)
		}
	}
	deferralAllowed := func(req *tfprotov6.PlanResourceChangeRequest) *tfprotov6.PlanResourceChangeRequest {
		req.ClientCapabilities = &tfprotov6.PlanResourceChangeClientCapabilities{DeferralAllowed: true}
		return req
	}
	for name, tc := range map[string]planCase{
		"create":                           {req: bindingCreatePlanRequest(t, empty.PolicyID, bindingAttrs{true, ids}), check: unknownID},
		"create, exclusive null (default)": {req: bindingCreatePlanRequest(t, empty.PolicyID, bindingAttrs{nil, ids})},
		"create, no target":                {req: bindingCreatePlanRequest(t, empty.PolicyID, bindingAttrs{true, []string{}})},
		"create, a takeover":               {req: bindingCreatePlanRequest(t, policy.PolicyID, bindingAttrs{nil, ids[:2]}), check: warns(takeoverSummary)},
		"create, not exclusive":            {req: bindingCreatePlanRequest(t, policy.PolicyID, bindingAttrs{false, ids[:2]})},
		"create, policy gone": {req: bindingCreatePlanRequest(t, gonePolicyID, bindingAttrs{true, ids}),
			check: warns(policyNotFoundSummary)},
		"create, not exclusive, policy gone": {req: bindingCreatePlanRequest(t, gonePolicyID, bindingAttrs{false, ids}),
			check: warns(policyNotFoundSummary)},
		"create, listing error": {req: bindingCreatePlanRequest(t, policy.PolicyID, bindingAttrs{true, ids}),
			setup: func() { srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden}) },
			check: warns("Unable to Check the Targets Bound to Device Policy")},
		"create, policy_id unknown": {req: unknownPolicyCreate(t, "device", bindingAttrs{nil, ids}),
			setup: func() { calls = srv.TotalCalls() }, check: noCall},
		"create, policy_id and target_type unknown": {req: unknownPolicyCreate(t, tftypes.UnknownValue, bindingAttrs{false, ids}),
			setup: func() { calls = srv.TotalCalls() }, check: noCall},
		"create, deferral allowed": {req: deferralAllowed(bindingCreatePlanRequest(t, policy.PolicyID, bindingAttrs{true, ids}))},
		"create, no identity":      {req: noIdentity(bindingCreatePlanRequest(t, empty.PolicyID, bindingAttrs{true, ids}))},
		"create, a private state": {req: func() *tfprotov6.PlanResourceChangeRequest {
			req := bindingCreatePlanRequest(t, empty.PolicyID, bindingAttrs{true, ids})
			req.PriorPrivate = privateBytes(t, map[string]string{privateWrittenAt: written})
			return req
		}()},
		"targets added": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids}, nil)},
		"deferral allowed (the plan again at apply)": {req: deferralAllowed(bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids}, nil))},
		"targets removed": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids}, bindingAttrs{true, ids[:2]}, map[string]string{privateWrittenAt: written})},
		"exclusive switched on, a takeover": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{false, ids[:3]}, bindingAttrs{true, ids[:3]}, nil),
			check: warns(takeoverSummary)},
		"exclusive switched off": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:3]}, bindingAttrs{false, ids[:3]}, nil)},
		"exclusive null (default)": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{false, ids[:3]}, bindingAttrs{nil, ids}, nil),
			check: warns(takeoverSummary)},
		"exclusive null, prior null": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{nil, ids[:3]}, bindingAttrs{nil, ids}, nil)},
		"unchanged, a private state": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:3]}, bindingAttrs{true, ids[:3]}, map[string]string{privateWrittenAt: written})},
		"targets bound outside": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:3]}, bindingAttrs{true, ids[:3]}, map[string]string{privateOutside: `["` + outsideID + `"]`}),
			check: warns(takeoverSummary)},
		"outside, switched off": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:3]}, bindingAttrs{false, ids[:3]}, map[string]string{privateOutside: `["` + outsideID + `"]`})},
		"unsure targets leaving": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids[:2]}, map[string]string{privateUnsure: `["` + ids[3] + `"]`}),
			check: func(t *testing.T, resp *tfprotov6.PlanResourceChangeResponse) {
				warns("Targets Possibly Bound Will Be Unbound")(t, resp)
				unknownID(t, resp)
			}},
		"unsure targets staying": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids}, map[string]string{privateUnsure: `["` + ids[3] + `"]`})},
		"policy gone": {req: bindingPlanRequest(t, gonePolicyID, bindingAttrs{false, ids[:2]}, bindingAttrs{true, ids[:2]}, nil),
			check: warns(policyNotFoundSummary)},
		"listing error": {req: bindingPlanRequest(t, policy.PolicyID, bindingAttrs{false, ids[:3]}, bindingAttrs{true, ids[:3]}, nil),
			setup: func() { srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden}) },
			check: warns("Unable to Check the Targets Bound to Device Policy")},
		"no identity": {req: noIdentity(bindingPlanRequest(t, policy.PolicyID, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids}, nil))},
	} {
		t.Run(name, func(t *testing.T) {
			plan := func(f func() (*tfprotov6.PlanResourceChangeResponse, bool)) *tfprotov6.PlanResourceChangeResponse {
				t.Helper()
				if tc.setup != nil {
					tc.setup()
				}
				resp, ok := f()
				if !ok {
					t.Fatal("not answered directly")
				}
				return resp
			}
			want := plan(func() (*tfprotov6.PlanResourceChangeResponse, bool) {
				resp, err := server.frameworkServer.PlanResourceChange(ctx, tc.req)
				return resp, err == nil
			})
			got := plan(func() (*tfprotov6.PlanResourceChangeResponse, bool) { return server.bindingPlan(ctx, tc.req) })
			sameValue(t, "planned state", typ, got.PlannedState, want.PlannedState)
			if fmt.Sprint(got.RequiresReplace) != fmt.Sprint(want.RequiresReplace) {
				t.Errorf("requires replace %v, want %v", got.RequiresReplace, want.RequiresReplace)
			}
			if !bytes.Equal(got.PlannedPrivate, want.PlannedPrivate) {
				t.Errorf("planned private state %s, want %s", got.PlannedPrivate, want.PlannedPrivate)
			}
			if got.PlannedIdentity == nil || want.PlannedIdentity == nil {
				t.Fatalf("identity %v, want %v", got.PlannedIdentity, want.PlannedIdentity)
			}
			sameValue(t, "identity", identityType, got.PlannedIdentity.IdentityData, want.PlannedIdentity.IdentityData)
			if diags := fmt.Sprint(redactRequestIDs(got.Diagnostics)); diags != fmt.Sprint(redactRequestIDs(want.Diagnostics)) {
				t.Errorf("diagnostics %s, want %s", diags, fmt.Sprint(redactRequestIDs(want.Diagnostics)))
			}
			if got.Deferred != nil || want.Deferred != nil {
				t.Errorf("deferred: %v, the framework's %v", got.Deferred, want.Deferred)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}

	changed := func(change func(*tfprotov6.PlanResourceChangeRequest)) *tfprotov6.PlanResourceChangeRequest {
		req := bindingPlanRequest(t, policy.PolicyID, bindingAttrs{false, ids[:2]}, bindingAttrs{true, ids}, nil)
		change(req)
		return req
	}
	null := func() *tfprotov6.DynamicValue {
		v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	created := func(config bindingAttrs, change func(*tfprotov6.PlanResourceChangeRequest)) *tfprotov6.PlanResourceChangeRequest {
		req := bindingCreatePlanRequest(t, policy.PolicyID, config)
		change(req)
		return req
	}
	srv.ClearFaults()
	before := srv.TotalCalls()
	for name, req := range map[string]*tfprotov6.PlanResourceChangeRequest{
		"a create of a known id": created(bindingAttrs{true, ids}, func(req *tfprotov6.PlanResourceChangeRequest) {
			req.ProposedNewState = bindingRequestValue(t, policy.PolicyID, policy.PolicyID+"/device", bindingAttrs{true, ids})
		}),
		"an update, another proposed id": changed(func(req *tfprotov6.PlanResourceChangeRequest) {
			req.ProposedNewState = bindingRequestValue(t, policy.PolicyID, gonePolicyID+"/device", bindingAttrs{true, ids})
		}),
		"a create, targets unknown":                 created(bindingAttrs{true, nil}, func(*tfprotov6.PlanResourceChangeRequest) {}),
		"a create, exclusive unknown":               created(bindingAttrs{tftypes.UnknownValue, ids}, func(*tfprotov6.PlanResourceChangeRequest) {}),
		"a create, policy_id and exclusive unknown": unknownPolicyCreate(t, "device", bindingAttrs{tftypes.UnknownValue, ids}),
		"a create, policy_id and targets unknown":   unknownPolicyCreate(t, "device", bindingAttrs{true, nil}),
		"a create, an identity": created(bindingAttrs{true, ids}, func(req *tfprotov6.PlanResourceChangeRequest) {
			req.PriorIdentity = bindingIdentity(t, policy.PolicyID)
		}),
		"a create, a framework key": created(bindingAttrs{true, ids}, func(req *tfprotov6.PlanResourceChangeRequest) {
			req.PriorPrivate = privateBytes(t, map[string]string{".other": `1`})
		}),
		"a create, a config id": created(bindingAttrs{true, ids}, func(req *tfprotov6.PlanResourceChangeRequest) {
			req.Config = bindingRequestValue(t, policy.PolicyID, policy.PolicyID+"/device", bindingAttrs{true, ids})
		}),
		"a create, no prior state": created(bindingAttrs{true, ids}, func(req *tfprotov6.PlanResourceChangeRequest) { req.PriorState = nil }),
		"a destroy":                changed(func(req *tfprotov6.PlanResourceChangeRequest) { req.ProposedNewState, req.Config = null(), null() }),
		"policy_id changed": changed(func(req *tfprotov6.PlanResourceChangeRequest) {
			req.Config = bindingRequestValue(t, gonePolicyID, nil, bindingAttrs{true, ids})
			req.ProposedNewState = bindingRequestValue(t, gonePolicyID, policy.PolicyID+"/device", bindingAttrs{true, ids})
		}),
		"targets unknown": changed(func(req *tfprotov6.PlanResourceChangeRequest) {
			req.Config = bindingRequestValue(t, policy.PolicyID, nil, bindingAttrs{true, nil})
			req.ProposedNewState = bindingRequestValue(t, policy.PolicyID, policy.PolicyID+"/device", bindingAttrs{true, nil})
		}),
		"exclusive unknown": changed(func(req *tfprotov6.PlanResourceChangeRequest) {
			req.Config = bindingRequestValue(t, policy.PolicyID, nil, bindingAttrs{tftypes.UnknownValue, ids})
			req.ProposedNewState = bindingRequestValue(t, policy.PolicyID, policy.PolicyID+"/device", bindingAttrs{tftypes.UnknownValue, ids})
		}),
		"a framework key": changed(func(req *tfprotov6.PlanResourceChangeRequest) {
			req.PriorPrivate = privateBytes(t, map[string]string{".other": `1`})
		}),
		"unsure not a list": changed(func(req *tfprotov6.PlanResourceChangeRequest) {
			req.PriorPrivate = privateBytes(t, map[string]string{privateUnsure: `"x"`})
		}),
		"another identity": changed(func(req *tfprotov6.PlanResourceChangeRequest) { req.PriorIdentity = bindingIdentity(t, gonePolicyID) }),
		"another type":     changed(func(req *tfprotov6.PlanResourceChangeRequest) { req.TypeName = "iotda_device_policy" }),
		"no config":        changed(func(req *tfprotov6.PlanResourceChangeRequest) { req.Config = nil }),
	} {
		if _, ok := server.bindingPlan(ctx, req); ok {
			t.Errorf("%s: answered directly; the framework must answer it", name)
		}
	}
	unconfigured := protocolServerOf(t, NewProtocol6(New("test")())())
	deferred := configuredServer(t, srv)
	deferred.configured.Store(&providerConfiguration{client: server.client(), deferred: true})
	for name, s := range map[string]*protocolServer{"an unconfigured server": unconfigured, "a deferred configuration": deferred} {
		if _, ok := s.bindingPlan(ctx, changed(func(*tfprotov6.PlanResourceChangeRequest) {})); ok {
			t.Errorf("%s answered an update directly", name)
		}
		if _, ok := s.bindingPlan(ctx, created(bindingAttrs{true, ids}, func(*tfprotov6.PlanResourceChangeRequest) {})); ok {
			t.Errorf("%s answered a create directly", name)
		}
	}
	if calls := srv.TotalCalls() - before; calls != 0 {
		t.Errorf("%d API calls, want none", calls)
	}
}

// bindingApplyRequest is the apply of an update of a binding of policyID
// from prior to planned (with the planned id given: the prior one, or
// tftypes.UnknownValue) and the planned private state keys given as JSON.
func bindingApplyRequest(t testing.TB, policyID string, prior, planned bindingAttrs, plannedID any, private map[string]string) *tfprotov6.ApplyResourceChangeRequest {
	t.Helper()
	return &tfprotov6.ApplyResourceChangeRequest{
		TypeName:        bindingTypeName,
		PriorState:      bindingRequestValue(t, policyID, policyID+"/device", prior),
		PlannedState:    bindingRequestValue(t, policyID, plannedID, planned),
		Config:          bindingRequestValue(t, policyID, nil, planned),
		PlannedIdentity: bindingIdentity(t, policyID),
		PlannedPrivate:  privateBytes(t, private),
	}
}

// TestBindingApply: the apply of an update of a binding is answered
// without the framework exactly as the framework answers it, from the
// same targets bound in the mock, failures included, and every apply the
// protocol must not answer goes to the framework without an API call.
func TestBindingApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{})
	server := configuredServer(t, srv)
	typ, identityType := bindingReadTypes()
	policy := createPolicy(t, srv, "applied", iotda.Statement{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/up"}})
	pid := policy.PolicyID
	ids := deviceIDs(0, 4)
	const gonePolicyID = "0123456789abcdef01234567"
	outsideID := "64a7ba7ef9cb063d27e16b97_outside"
	id := pid + "/device"

	type applyCase struct {
		req   *tfprotov6.ApplyResourceChangeRequest
		bound []string // bound before each of the two applies
		setup func()   // before each of the two applies
		check func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse)
	}
	failsWith := func(summary string) func(*testing.T, *tfprotov6.ApplyResourceChangeResponse) {
		return func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse) {
			if len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Severity != tfprotov6.DiagnosticSeverityError || resp.Diagnostics[0].Summary != summary {
				t.Errorf("diagnostics %v, want the error %q", resp.Diagnostics, summary)
			}
		}
	}
	boundNow := func(want ...string) func(*testing.T, *tfprotov6.ApplyResourceChangeResponse) {
		return func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse) {
			if got := srv.Targets("", pid, "device"); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("bound %v, want %v", got, want)
			}
		}
	}
	noIdentity := func(req *tfprotov6.ApplyResourceChangeRequest) *tfprotov6.ApplyResourceChangeRequest {
		req.PlannedIdentity = nil
		return req
	}
	// stateTargets are the targets of a new state; ok is false for a null
	// one.
	stateTargets := func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse) (ids []string, ok bool) {
		t.Helper()
		v, err := resp.NewState.Unmarshal(typ)
		if err != nil {
			t.Fatal(err)
		}
		if v.IsNull() {
			return nil, false
		}
		var attrs, targets map[string]tftypes.Value
		if err := v.As(&attrs); err != nil {
			t.Fatal(err)
		}
		if err := attrs["targets"].As(&targets); err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(maps.Keys(targets)), true
	}
	// createFails checks the error of a create and that the state records
	// what is bound now, or is null when the create bound nothing.
	createFails := func(summary string, bound ...string) func(*testing.T, *tfprotov6.ApplyResourceChangeResponse) {
		return func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse) {
			failsWith(summary)(t, resp)
			boundNow(bound...)(t, resp)
			ids, ok := stateTargets(t, resp)
			switch {
			case len(bound) == 0 && ok:
				t.Errorf("state targets %v after a create that bound nothing, want a null state", ids)
			case len(bound) > 0 && (!ok || !slices.Equal(ids, slices.Sorted(slices.Values(bound)))):
				t.Errorf("state targets %v (state %v), want the %v bound", ids, ok, bound)
			case len(bound) > 0 && !strings.Contains(resp.Diagnostics[0].Detail, partialCreateNote):
				t.Errorf("detail %q does not say the binding is replaced", resp.Diagnostics[0].Detail)
			}
		}
	}
	for name, tc := range map[string]applyCase{
		"create, a takeover": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{true, ids[:3]}), bound: []string{outsideID, ids[0]},
			check: boundNow(ids[:3]...)},
		"create, exclusive null": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{nil, ids}), check: boundNow(ids...)},
		"create, not exclusive": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{false, ids[:3]}), bound: []string{outsideID},
			check: boundNow(append(ids[:3:3], outsideID)...)},
		"create, no target":   {req: bindingCreateApplyRequest(t, pid, bindingAttrs{true, []string{}}), bound: []string{outsideID}, check: boundNow()},
		"create, no identity": {req: noIdentity(bindingCreateApplyRequest(t, pid, bindingAttrs{true, ids})), check: boundNow(ids...)},
		"create, partial bind failure": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{true, ids}), bound: []string{outsideID},
			setup: func() { srv.FailTarget(iotda.TargetTypeDevice, ids[2], iotda.CodeTargetPolicyLimit, "limit") },
			check: createFails("Unable to Update Device Policy Binding", ids[0], ids[1], ids[3])},
		"create, not exclusive, partial bind failure": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{false, ids}),
			setup: func() { srv.FailTarget(iotda.TargetTypeDevice, ids[2], iotda.CodeTargetPolicyLimit, "limit") },
			check: createFails("Unable to Bind Device Policy", ids[0], ids[1], ids[3])},
		"create, nothing bound": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{false, ids[2:3]}),
			setup: func() { srv.FailTarget(iotda.TargetTypeDevice, ids[2], iotda.CodeTargetPolicyLimit, "limit") },
			check: createFails("Unable to Bind Device Policy")},
		"create, policy gone": {req: bindingCreateApplyRequest(t, gonePolicyID, bindingAttrs{true, ids}),
			check: failsWith("Unable to Bind Device Policy")},
		"create, not exclusive, policy gone": {req: bindingCreateApplyRequest(t, gonePolicyID, bindingAttrs{false, ids}),
			check: failsWith("Unable to Bind Device Policy")},
		"create, first listing error": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{true, ids}),
			setup: func() { srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden}) },
			check: createFails("Unable to Bind Device Policy")}, // nothing bound, a null state
		"create, bind call failure, listing failure": {req: bindingCreateApplyRequest(t, pid, bindingAttrs{false, ids}),
			setup: func() {
				srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 10})
				srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden, Count: 10})
			},
			check: func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse) {
				if len(resp.Diagnostics) == 0 || resp.Diagnostics[0].Severity != tfprotov6.DiagnosticSeverityError {
					t.Errorf("diagnostics %v, want an error", resp.Diagnostics)
				}
			}},
		"targets added and removed": {req: bindingApplyRequest(t, pid, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids[1:]}, id, nil),
			bound: ids[:2], check: boundNow(ids[1:]...)},
		"exclusive switched on, a takeover": {req: bindingApplyRequest(t, pid, bindingAttrs{false, ids[:2]}, bindingAttrs{true, ids[:2]}, id, nil),
			bound: append(ids[:2:2], outsideID), check: boundNow(ids[:2]...)},
		"exclusive switched off": {req: bindingApplyRequest(t, pid, bindingAttrs{true, ids[:2]}, bindingAttrs{false, ids[:3]}, id, nil),
			bound: append(ids[:2:2], outsideID), check: boundNow(append(ids[:3:3], outsideID)...)},
		"exclusive null, made true": {req: bindingApplyRequest(t, pid, bindingAttrs{nil, ids[:2]}, bindingAttrs{true, ids}, id, map[string]string{privateWrittenAt: `"2026-01-01T00:00:00Z"`}),
			bound: ids[:2]},
		"targets bound outside": {req: bindingApplyRequest(t, pid, bindingAttrs{true, append(ids[:2:2], outsideID)}, bindingAttrs{true, ids[:2]}, id, map[string]string{privateOutside: `["` + outsideID + `"]`}),
			bound: append(ids[:2:2], outsideID), check: boundNow(ids[:2]...)},
		"unsure targets leaving": {req: bindingApplyRequest(t, pid, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids[:2]}, tftypes.UnknownValue, map[string]string{privateUnsure: `["` + ids[3] + `"]`}),
			bound: append(ids[:2:2], ids[3]), check: boundNow(ids[:2]...)},
		"policy gone": {req: bindingApplyRequest(t, gonePolicyID, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids}, gonePolicyID+"/device", nil),
			check: failsWith("Unable to Bind Device Policy")},
		"partial bind failure": {req: bindingApplyRequest(t, pid, bindingAttrs{true, ids[:1]}, bindingAttrs{true, ids}, id, nil),
			bound: ids[:1],
			setup: func() { srv.FailTarget(iotda.TargetTypeDevice, ids[2], iotda.CodeTargetPolicyLimit, "limit") },
			check: func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse) {
				failsWith("Unable to Bind Device Policy")(t, resp)
				if !strings.Contains(resp.Diagnostics[0].Detail, ids[2]+": "+iotda.CodeTargetPolicyLimit) {
					t.Errorf("detail %q names no refused target and code", resp.Diagnostics[0].Detail)
				}
				v, err := resp.NewState.Unmarshal(typ)
				if err != nil {
					t.Fatal(err)
				}
				var attrs, targets map[string]tftypes.Value
				if err := v.As(&attrs); err != nil {
					t.Fatal(err)
				}
				if err := attrs["targets"].As(&targets); err != nil || len(targets) != 3 {
					t.Errorf("state targets %v (%v), want the 3 bound", attrs["targets"], err)
				}
			}},
		"bind call failure, listing failure": {req: bindingApplyRequest(t, pid, bindingAttrs{false, ids[:1]}, bindingAttrs{false, ids}, id, nil),
			bound: ids[:1],
			setup: func() {
				srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 10})
				srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden, Count: 10})
			},
			check: func(t *testing.T, resp *tfprotov6.ApplyResourceChangeResponse) {
				if len(resp.Diagnostics) == 0 || resp.Diagnostics[0].Severity != tfprotov6.DiagnosticSeverityError {
					t.Errorf("diagnostics %v, want an error", resp.Diagnostics)
				}
			}},
		"first listing error": {req: bindingApplyRequest(t, pid, bindingAttrs{false, ids[:2]}, bindingAttrs{true, ids}, id, map[string]string{privateWrittenAt: `"2026-01-01T00:00:00Z"`}),
			bound: ids[:2],
			setup: func() { srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden}) },
			check: failsWith("Unable to Update Device Policy Binding")},
		"no identity": {req: noIdentity(bindingApplyRequest(t, pid, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids}, id, nil)), bound: ids[:2]},
		"first listing error, no identity": {req: noIdentity(bindingApplyRequest(t, pid, bindingAttrs{false, ids[:2]}, bindingAttrs{true, ids}, id, nil)),
			bound: ids[:2],
			setup: func() { srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden}) },
			check: failsWith("Unable to Update Device Policy Binding")},
	} {
		t.Run(name, func(t *testing.T) {
			apply := func(f func() (*tfprotov6.ApplyResourceChangeResponse, bool)) *tfprotov6.ApplyResourceChangeResponse {
				t.Helper()
				srv.ClearFaults()
				srv.ClearTargetFailures()
				if now := srv.Targets("", pid, "device"); len(now) > 0 {
					if _, err := srv.Unbind("", pid, "device", now...); err != nil {
						t.Fatal(err)
					}
				}
				if len(tc.bound) > 0 {
					bindTargets(t, srv, pid, "device", tc.bound...)
				}
				if tc.setup != nil {
					tc.setup()
				}
				resp, ok := f()
				if !ok {
					t.Fatal("not answered directly")
				}
				return resp
			}
			want := apply(func() (*tfprotov6.ApplyResourceChangeResponse, bool) {
				resp, err := server.frameworkServer.ApplyResourceChange(ctx, tc.req)
				return resp, err == nil
			})
			wantBound := srv.Targets("", pid, "device")
			got := apply(func() (*tfprotov6.ApplyResourceChangeResponse, bool) { return server.bindingApply(ctx, tc.req) })
			if gotBound := srv.Targets("", pid, "device"); !slices.Equal(gotBound, wantBound) {
				t.Errorf("bound %v, the framework's apply bound %v", gotBound, wantBound)
			}
			sameValue(t, "new state", typ, got.NewState, want.NewState)
			if g, w := privateKeys(t, got.Private), privateKeys(t, want.Private); fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("private state %v, want %v", g, w)
			}
			if got.NewIdentity == nil || want.NewIdentity == nil {
				t.Fatalf("identity %v, want %v", got.NewIdentity, want.NewIdentity)
			}
			sameValue(t, "identity", identityType, got.NewIdentity.IdentityData, want.NewIdentity.IdentityData)
			if diags := fmt.Sprint(redactRequestIDs(got.Diagnostics)); diags != fmt.Sprint(redactRequestIDs(want.Diagnostics)) {
				t.Errorf("diagnostics %s, want %s", diags, fmt.Sprint(redactRequestIDs(want.Diagnostics)))
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}

	changed := func(change func(*tfprotov6.ApplyResourceChangeRequest)) *tfprotov6.ApplyResourceChangeRequest {
		req := bindingApplyRequest(t, pid, bindingAttrs{true, ids[:2]}, bindingAttrs{true, ids}, id, nil)
		change(req)
		return req
	}
	null := func() *tfprotov6.DynamicValue {
		v, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	created := func(change func(*tfprotov6.ApplyResourceChangeRequest)) *tfprotov6.ApplyResourceChangeRequest {
		req := bindingCreateApplyRequest(t, pid, bindingAttrs{true, ids})
		change(req)
		return req
	}
	srv.ClearFaults()
	srv.ClearTargetFailures()
	before := srv.TotalCalls()
	for name, req := range map[string]*tfprotov6.ApplyResourceChangeRequest{
		"a create of a known id": created(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedState = bindingRequestValue(t, pid, id, bindingAttrs{true, ids})
		}),
		"a create, targets unknown": created(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedState = bindingRequestValue(t, pid, tftypes.UnknownValue, bindingAttrs{true, nil})
		}),
		"a create, an identity": created(func(req *tfprotov6.ApplyResourceChangeRequest) { req.PlannedIdentity = bindingIdentity(t, pid) }),
		"a create, a framework key": created(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedPrivate = privateBytes(t, map[string]string{".other": `1`})
		}),
		"a create, replacement not an object": created(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedPrivate = privateBytes(t, map[string]string{privateReplacement: `[]`})
		}),
		"a create, no prior state": created(func(req *tfprotov6.ApplyResourceChangeRequest) { req.PriorState = nil }),
		"a create, policy_id unknown": created(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedState = unknownPolicyValue(t, tftypes.UnknownValue, "device", bindingAttrs{true, ids})
		}),
		"a create, no config": created(func(req *tfprotov6.ApplyResourceChangeRequest) { req.Config = nil }),
		"a destroy":           changed(func(req *tfprotov6.ApplyResourceChangeRequest) { req.PlannedState, req.Config = null(), null() }),
		"policy_id changed": changed(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedState = bindingRequestValue(t, gonePolicyID, tftypes.UnknownValue, bindingAttrs{true, ids})
			req.Config = bindingRequestValue(t, gonePolicyID, nil, bindingAttrs{true, ids})
		}),
		"targets unknown": changed(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedState = bindingRequestValue(t, pid, id, bindingAttrs{true, nil})
		}),
		"a framework key": changed(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedPrivate = privateBytes(t, map[string]string{".other": `1`})
		}),
		"outside not a list": changed(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedPrivate = privateBytes(t, map[string]string{privateOutside: `{}`})
		}),
		"another identity": changed(func(req *tfprotov6.ApplyResourceChangeRequest) {
			req.PlannedIdentity = bindingIdentity(t, gonePolicyID)
		}),
		"another type": changed(func(req *tfprotov6.ApplyResourceChangeRequest) { req.TypeName = "iotda_device_policy" }),
		"no config":    changed(func(req *tfprotov6.ApplyResourceChangeRequest) { req.Config = nil }),
	} {
		if _, ok := server.bindingApply(ctx, req); ok {
			t.Errorf("%s: answered directly; the framework must answer it", name)
		}
	}
	unconfigured := protocolServerOf(t, NewProtocol6(New("test")())())
	deferred := configuredServer(t, srv)
	deferred.configured.Store(&providerConfiguration{client: server.client(), deferred: true})
	for name, s := range map[string]*protocolServer{"an unconfigured server": unconfigured, "a deferred configuration": deferred} {
		if _, ok := s.bindingApply(ctx, changed(func(*tfprotov6.ApplyResourceChangeRequest) {})); ok {
			t.Errorf("%s answered an update directly", name)
		}
		if _, ok := s.bindingApply(ctx, created(func(*tfprotov6.ApplyResourceChangeRequest) {})); ok {
			t.Errorf("%s answered a create directly", name)
		}
	}
	if calls := srv.TotalCalls() - before; calls != 0 {
		t.Errorf("%d API calls, want none", calls)
	}
}

// TestLengthsTheDataCannotBack sends a binding's state whose targets map,
// and a targets() argument whose list, claim 2^26 entries with no byte
// after the claim: both are left to the framework, and reading them
// allocates nothing for the claimed length (it did a gigabyte before).
func TestLengthsTheDataCannotBack(t *testing.T) {
	const claimed = 1 << 26
	header := func(code byte) []byte { return binary.BigEndian.AppendUint32([]byte{code}, claimed) }
	var state bytes.Buffer
	enc := msgpack.NewEncoder(&state)
	if err := errors.Join(enc.EncodeMapLen(5),
		enc.EncodeString("exclusive"), enc.EncodeBool(true),
		enc.EncodeString("id"), enc.EncodeString("0123456789abcdef01234567/device"),
		enc.EncodeString("policy_id"), enc.EncodeString("0123456789abcdef01234567"),
		enc.EncodeString("target_type"), enc.EncodeString("device"),
		enc.EncodeString("targets")); err != nil {
		t.Fatal(err)
	}
	state.Write(header(msgpcode.Map32))
	var arg bytes.Buffer
	enc = msgpack.NewEncoder(&arg)
	if err := errors.Join(enc.EncodeArrayLen(2), enc.EncodeBytes([]byte(`["list","string"]`))); err != nil {
		t.Fatal(err)
	}
	arg.Write(header(msgpcode.Array32))

	for name, read := range map[string]func() bool{
		"binding state": func() bool { _, ok := decodeBindingState(state.Bytes()); return ok },
		"targets()": func() bool {
			_, ok := callTargets(&tfprotov6.CallFunctionRequest{Name: "targets", Arguments: []*tfprotov6.DynamicValue{{MsgPack: arg.Bytes()}}})
			return ok
		},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ok := read()
		runtime.ReadMemStats(&after)
		if ok {
			t.Errorf("%s: read, want it left to the framework", name)
		}
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			t.Errorf("%s: reading it allocated %d bytes", name, grown)
		}
	}
}
