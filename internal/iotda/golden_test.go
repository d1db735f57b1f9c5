package iotda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/apigolden"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// goldenServer answers every request with the published example of its
// operation and keeps the body the client sent.
type goldenServer struct {
	mu   sync.Mutex
	sent map[string][]byte // by "METHOD last-path-segment-kind"
}

func (g *goldenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var answer string
	status := http.StatusOK
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/device-policies"):
		answer, status = apigolden.CreateResponse, http.StatusCreated
	case r.Method == http.MethodPut:
		answer = apigolden.UpdateResponse
	case r.Method == http.MethodGet:
		answer = apigolden.ShowResponse
	case strings.HasSuffix(r.URL.Path, "/unbind"):
		answer = apigolden.UnbindResponse
	case strings.HasSuffix(r.URL.Path, "/bind"):
		answer = apigolden.BindResponse
	default:
		http.NotFound(w, r)
		return
	}
	g.mu.Lock()
	g.sent[answer] = body
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(apigolden.Body(answer))
}

// sameJSON checks that the client sent the published request, in meaning
// (the pages indent their examples).
func sameJSON(t *testing.T, name string, sent []byte) {
	t.Helper()
	var got, want any
	if err := json.Unmarshal(sent, &got); err != nil {
		t.Fatalf("the client sent %q: %v", sent, err)
	}
	if err := json.Unmarshal(apigolden.Body(name), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the client sent %s\nwant the published %s", sent, apigolden.Body(name))
	}
}

// decodeStrict decodes a published body into the client's type, refusing
// a field the type does not have.
func decodeStrict(t *testing.T, name string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(apigolden.Body(name)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s does not decode into %T: %v", name, v, err)
	}
}

// TestGoldenExchanges drives the client against the published examples of
// the API pages: the requests it sends for the examples' inputs are the
// published requests, and it reads the published answers, field by field,
// into its types.
func TestGoldenExchanges(t *testing.T) {
	g := &goldenServer{sent: map[string][]byte{}}
	hs := httptest.NewServer(g)
	t.Cleanup(hs.Close)
	c, err := iotda.New(iotda.Config{
		Endpoint:    hs.URL,
		ProjectID:   "0c6b6d6c1f4d4a2e9b7a3e5f8d1c2b4a",
		Credentials: iotda.Credentials{AccessKey: "HPUAQ7MOCKIOTDA2TEST", SecretKey: "m0ck5ecretKeyF0rIoTDAtests0nlyN0tReal9xZ"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Every published body decodes into the client's types with no field
	// left over.
	for _, name := range []string{apigolden.CreateResponse, apigolden.ShowResponse, apigolden.UpdateResponse} {
		decodeStrict(t, name, &iotda.Policy{})
	}
	decodeStrict(t, apigolden.BindResponse, &iotda.BindResult{})
	decodeStrict(t, apigolden.UnbindResponse, &iotda.BindResult{})
	decodeStrict(t, apigolden.CreateRequestDeny, &iotda.CreatePolicyRequest{})
	decodeStrict(t, apigolden.UpdateRequest, &iotda.UpdatePolicyRequest{})
	decodeStrict(t, apigolden.BindRequestDevice, &iotda.BindRequest{})

	wantPolicy := func(op string, p *iotda.Policy, id, name string) {
		t.Helper()
		want := &iotda.Policy{
			AppID: "jeQDJQZltU8iKgFFoW060F5SGZka", PolicyID: id, PolicyName: name,
			Statement: []iotda.Statement{{
				Effect:    iotda.EffectAllow,
				Actions:   []string{iotda.ActionPublish, iotda.ActionSubscribe},
				Resources: []string{"topic:/v1/${devices.deviceId}/test/hello", "topic:/v1/${devices.productId}/test/hello"},
			}},
			CreateTime: "20230810T070547Z", UpdateTime: "20230810T070547Z",
		}
		if !reflect.DeepEqual(p, want) {
			t.Errorf("%s read %+v\nwant %+v", op, p, want)
		}
	}

	var deny iotda.CreatePolicyRequest
	decodeStrict(t, apigolden.CreateRequestDeny, &deny)
	created, err := c.CreatePolicy(ctx, deny)
	if err != nil {
		t.Fatalf("CreatePolicy: %v", err)
	}
	sameJSON(t, apigolden.CreateRequestDeny, g.sent[apigolden.CreateResponse])
	wantPolicy("CreatePolicy", created, "5c90fa7d3c4e4405e8525079", "testPolicy")

	shown, err := c.GetPolicy(ctx, "d4922d8a-6c8e-4396-852c-164aefa6638f")
	if err != nil {
		t.Fatalf("GetPolicy: %v", err)
	}
	wantPolicy("GetPolicy", shown, "d4922d8a-6c8e-4396-852c-164aefa6638f", "myPolicy")

	updated, err := c.UpdatePolicy(ctx, "5c90fa7d3c4e4405e8525079", iotda.UpdatePolicyRequest{PolicyName: "testPolicy", Statement: created.Statement})
	if err != nil {
		t.Fatalf("UpdatePolicy: %v", err)
	}
	sameJSON(t, apigolden.UpdateRequest, g.sent[apigolden.UpdateResponse])
	wantPolicy("UpdatePolicy", updated, "5c90fa7d3c4e4405e8525079", "testPolicy")

	for _, tc := range []struct {
		op, request, response, code, msg string
		call                             func(context.Context, string, string, []string) (*iotda.BindResult, error)
	}{
		{"BindPolicy", apigolden.BindRequestDevice, apigolden.BindResponse, iotda.CodeTargetPolicyLimit,
			"Operation not allowed. The number of policies bound to the target reaches the upper limit (5).", c.BindPolicy},
		{"UnbindPolicy", apigolden.UnbindRequestDevice, apigolden.UnbindResponse, iotda.CodeTargetNotBound,
			"Invalid input. The target does not bind the device-policy.", c.UnbindPolicy},
	} {
		var req iotda.BindRequest
		decodeStrict(t, tc.request, &req)
		res, err := tc.call(ctx, "5c90fa7d3c4e4405e8525079", req.TargetType, req.TargetIDs)
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		sameJSON(t, tc.request, g.sent[tc.response])
		want := &iotda.BindResult{
			PolicyID: "5c90fa7d3c4e4405e8525079", TargetType: iotda.TargetTypeDevice,
			SuccessTargets: []string{"64a7ba7ef9cb063d27e16b97_123456", "64a7ba7ef9cb063d27e16b97_123457"},
			FailureTargets: []iotda.TargetFailure{{TargetID: "64a7ba7ef9cb063d27e16b97_123458", ErrorCode: tc.code, ErrorMsg: tc.msg}},
		}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("%s read %+v\nwant %+v", tc.op, res, want)
		}
	}
}
