package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/apigolden"
)

// decodeStrict decodes a body into v and fails on a field v does not have.
func decodeStrict(t *testing.T, name string, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode into %T: %v", name, v, err)
	}
}

// TestGoldenBodiesDecode decodes every example of the API pages into the
// mock's wire types, refusing unknown fields, and checks what it read: the
// mock's types name every field the API sends and receives.
func TestGoldenBodiesDecode(t *testing.T) {
	var create CreatePolicyRequest
	decodeStrict(t, apigolden.CreateRequestDeny, apigolden.Body(apigolden.CreateRequestDeny), &create)
	if create.PolicyName != "myPolicyDeny" || create.AppID != "jeQDJQZltU8iKgFFoW060F5SGZka" || len(create.Statement) != 1 ||
		create.Statement[0].Effect != effectDeny || create.Statement[0].Resources[0] != "topic:/v1/${devices.deviceId}/test/deny" {
		t.Errorf("create request = %+v", create)
	}
	var update UpdatePolicyRequest
	decodeStrict(t, apigolden.UpdateRequest, apigolden.Body(apigolden.UpdateRequest), &update)
	if update.PolicyName != "testPolicy" || len(update.Statement) != 1 || len(update.Statement[0].Actions) != 2 {
		t.Errorf("update request = %+v", update)
	}
	for _, name := range []string{apigolden.CreateResponse, apigolden.ShowResponse, apigolden.UpdateResponse} {
		var p Policy
		decodeStrict(t, name, apigolden.Body(name), &p)
		if p.AppID != "jeQDJQZltU8iKgFFoW060F5SGZka" || p.PolicyID == "" || p.CreateTime != "20230810T070547Z" ||
			p.UpdateTime != "20230810T070547Z" || len(p.Statement) != 1 || len(p.Statement[0].Resources) != 2 {
			t.Errorf("%s = %+v", name, p)
		}
	}
	for _, name := range []string{apigolden.BindRequestDevice, apigolden.BindRequestProduct, apigolden.UnbindRequestDevice, apigolden.UnbindRequestProduct} {
		var b BindRequest
		decodeStrict(t, name, apigolden.Body(name), &b)
		if validateTargets(b.TargetType, b.TargetIDs, maxTargetsPerCall) != nil {
			t.Errorf("%s = %+v, which the mock's rules refuse", name, b)
		}
	}
	for name, code := range map[string]string{apigolden.BindResponse: codeTargetPolicyLimit, apigolden.UnbindResponse: codeTargetNotBound} {
		var r BindResult
		decodeStrict(t, name, apigolden.Body(name), &r)
		if r.PolicyID != "5c90fa7d3c4e4405e8525079" || r.TargetType != targetTypeDevice || len(r.SuccessTargets) != 2 ||
			len(r.FailureTargets) != 1 || r.FailureTargets[0].ErrorCode != code {
			t.Errorf("%s = %+v", name, r)
		}
	}
}

// shape describes a JSON value by its keys and types, not its values; an
// array is described by its first element.
func shape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + shape(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + shape(x[0]) + "]"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", x)
	}
}

// wantShape checks that an answer of the mock has the keys and types of the
// published example (an empty array matches any array).
func wantShape(t *testing.T, name string, got []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer %s: %v", got, err)
	}
	if err := json.Unmarshal(apigolden.Body(name), &w); err != nil {
		t.Fatal(err)
	}
	gs, ws := shape(g), shape(w)
	if gs != ws && strings.ReplaceAll(ws, "[{error_code:string,error_msg:string,target_id:string}]", "[]") != gs {
		t.Errorf("answer %s has the shape\n%s\nwant that of %s:\n%s", got, gs, name, ws)
	}
}

// TestGoldenExchanges sends the published requests, byte for byte, to the
// mock and compares its answers with the published answers.
func TestGoldenExchanges(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	base := "/v5/iot/" + TestProjectID + "/device-policies"

	// The create examples carry the pages' artefact, one action made of two
	// joined by "\r": refused, naming the field.
	for _, name := range []string{apigolden.CreateRequestAllow, apigolden.CreateRequestDeny} {
		wantError(t, c.send(http.MethodPost, base, apigolden.Body(name), nil), http.StatusBadRequest, codeInvalidInput, "statement[0].actions[0]")
	}
	// With the action split in two, the example is created as published.
	fixed := bytes.ReplaceAll(apigolden.Body(apigolden.CreateRequestAllow), []byte(`publish\riotda`), []byte(`publish", "iotda`))
	r := c.send(http.MethodPost, base, fixed, nil)
	created := decodeAs[Policy](t, r, http.StatusCreated)
	wantShape(t, apigolden.CreateResponse, r.body)
	if created.AppID != "jeQDJQZltU8iKgFFoW060F5SGZka" || created.PolicyName != "myPolicyAllow" ||
		!reflect.DeepEqual(created.Statement[0].Actions, []string{actionPublish, actionSubscribe}) {
		t.Errorf("created = %+v", created)
	}

	r = c.send(http.MethodPut, base+"/"+created.PolicyID, apigolden.Body(apigolden.UpdateRequest), nil)
	updated := decodeAs[Policy](t, r, http.StatusOK)
	wantShape(t, apigolden.UpdateResponse, r.body)
	var want UpdatePolicyRequest
	decodeStrict(t, apigolden.UpdateRequest, apigolden.Body(apigolden.UpdateRequest), &want)
	if updated.PolicyName != want.PolicyName || !reflect.DeepEqual(updated.Statement, want.Statement) || updated.AppID != created.AppID {
		t.Errorf("updated = %+v, want the example's name and statement", updated)
	}

	r = c.send(http.MethodGet, base+"/"+created.PolicyID, nil, nil)
	decodeAs[Policy](t, r, http.StatusOK)
	wantShape(t, apigolden.ShowResponse, r.body)

	// Bind: the published targets; the third one of the published answer
	// already has five policies, and fails exactly as published.
	var published BindResult
	decodeStrict(t, apigolden.BindResponse, apigolden.Body(apigolden.BindResponse), &published)
	full := published.FailureTargets[0].TargetID
	for i := range maxPoliciesPerTarget {
		p := mustCreate(t, ts.Server, "", fmt.Sprintf("other-%d", i))
		if _, err := ts.Bind("", p.PolicyID, targetTypeDevice, full); err != nil {
			t.Fatal(err)
		}
	}
	r = c.send(http.MethodPost, base+"/"+created.PolicyID+"/bind", apigolden.Body(apigolden.BindRequestDevice), nil)
	bound := decodeAs[BindResult](t, r, http.StatusOK)
	wantShape(t, apigolden.BindResponse, r.body)
	if !reflect.DeepEqual(bound.SuccessTargets, published.SuccessTargets) || len(bound.FailureTargets) != 0 {
		t.Errorf("bind = %+v, want the published success_targets %v", bound, published.SuccessTargets)
	}
	bound = decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+created.PolicyID+"/bind", bindBody(targetTypeDevice, full)), http.StatusOK)
	if !reflect.DeepEqual(bound.FailureTargets, published.FailureTargets) {
		t.Errorf("failure_targets = %+v, want the published %+v", bound.FailureTargets, published.FailureTargets)
	}
	r = c.send(http.MethodPost, base+"/"+created.PolicyID+"/bind", apigolden.Body(apigolden.BindRequestProduct), nil)
	if got := decodeAs[BindResult](t, r, http.StatusOK); got.TargetType != targetTypeProduct || len(got.SuccessTargets) != 1 {
		t.Errorf("bind a product = %+v", got)
	}

	// Unbind: the published targets, then the published failure.
	var unpublished BindResult
	decodeStrict(t, apigolden.UnbindResponse, apigolden.Body(apigolden.UnbindResponse), &unpublished)
	r = c.send(http.MethodPost, base+"/"+created.PolicyID+"/unbind", apigolden.Body(apigolden.UnbindRequestDevice), nil)
	unbound := decodeAs[BindResult](t, r, http.StatusOK)
	wantShape(t, apigolden.UnbindResponse, r.body)
	if !reflect.DeepEqual(unbound.SuccessTargets, []string{"64a7ba7ef9cb063d27e16b97_123456"}) {
		t.Errorf("unbind = %+v", unbound)
	}
	ids := append(append([]string{}, unpublished.SuccessTargets[1:]...), unpublished.FailureTargets[0].TargetID)
	unbound = decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+created.PolicyID+"/unbind", bindBody(targetTypeDevice, ids...)), http.StatusOK)
	if !reflect.DeepEqual(unbound.SuccessTargets, unpublished.SuccessTargets[1:]) || !reflect.DeepEqual(unbound.FailureTargets, unpublished.FailureTargets) {
		t.Errorf("unbind = %+v, want %v unbound and the published failure %+v", unbound, unpublished.SuccessTargets[1:], unpublished.FailureTargets)
	}
	r = c.send(http.MethodPost, base+"/"+created.PolicyID+"/unbind", apigolden.Body(apigolden.UnbindRequestProduct), nil)
	if got := decodeAs[BindResult](t, r, http.StatusOK); got.TargetType != targetTypeProduct || len(got.SuccessTargets) != 1 {
		t.Errorf("unbind a product = %+v", got)
	}
}
