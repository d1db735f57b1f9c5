package mock

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// tryDo sends a signed request and returns the transport error instead of
// failing the test.
func (c *apiClient) tryDo(method, path string, body any) (response, error) {
	c.t.Helper()
	data := encodeBody(c.t, body)
	req, err := http.NewRequest(method, c.base+"/v5/iot/"+c.projectID+path, bytes.NewReader(data))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signer.Sign(req, data, c.creds, time.Now()); err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	resp.Body.Close()
	return response{status: resp.StatusCode, header: resp.Header}, nil
}

func TestFaultStatusAndCount(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	ts.InjectFault(OpList, Fault{Status: http.StatusServiceUnavailable, RetryAfter: 1500 * time.Millisecond, Count: 2})
	ts.InjectFault(OpList, Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	ts.InjectFault(OpList, Fault{})
	for i := range 2 {
		r := c.do(http.MethodGet, "/device-policies", nil)
		wantError(t, r, http.StatusServiceUnavailable, "IOTDA.000503")
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Errorf("call %d: Retry-After = %q, want 2", i, got)
		}
	}
	r := c.do(http.MethodGet, "/device-policies", nil)
	if e := wantError(t, r, http.StatusTooManyRequests, "APIGW.0308"); e.RequestID == "" {
		t.Error("429 without request_id")
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	r = c.do(http.MethodGet, "/device-policies", nil)
	wantError(t, r, http.StatusInternalServerError, "IOTDA.000500")
	if r.header.Get("Retry-After") != "" {
		t.Error("Retry-After without RetryAfter")
	}
	decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies", nil), http.StatusOK)
	if got := ts.Calls(OpList); got != 5 {
		t.Errorf("calls = %d, want 5", got)
	}
}

func TestFaultScope(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	ts.InjectFault(OpCreate, Fault{Status: http.StatusInternalServerError, Count: 3})
	// Other operations are not affected.
	decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies", nil), http.StatusOK)
	// A request that fails authentication does not use the fault up.
	bad := newClient(t, ts)
	bad.creds.SecretKey = "wrong-secret-key"
	wantError(t, bad.do(http.MethodPost, "/device-policies", createRequest("x")), http.StatusUnauthorized, "APIGW.0301")
	// The fault comes before validation.
	wantError(t, c.do(http.MethodPost, "/device-policies", `{"policy_name":`), http.StatusInternalServerError, "IOTDA.000500")
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("x")), http.StatusInternalServerError, "IOTDA.000500")
	ts.ClearFaults()
	c.mustCreate("x")
	if got := ts.Calls(OpCreate); got != 4 {
		t.Errorf("create calls = %d, want 4", got)
	}
}

func TestFaultAfterAction(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	ts.InjectFault(OpCreate, Fault{Status: http.StatusBadGateway, AfterAction: true})
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("acted")), http.StatusBadGateway, "IOTDA.000502")
	got := ts.Policies("")
	if len(got) != 1 || got[0].PolicyName != "acted" {
		t.Fatalf("policies after a fault after the action = %+v", got)
	}
	ts.InjectFault(OpBind, Fault{Status: http.StatusServiceUnavailable, AfterAction: true})
	wantError(t, c.do(http.MethodPost, "/device-policies/"+got[0].PolicyID+"/bind", bindBody("device", "d1")), http.StatusServiceUnavailable, "IOTDA.000503")
	if targets := ts.Targets("", got[0].PolicyID, "device"); len(targets) != 1 {
		t.Errorf("targets after a fault after bind = %v", targets)
	}
	ts.InjectFault(OpDelete, Fault{Status: http.StatusInternalServerError, AfterAction: true})
	wantError(t, c.do(http.MethodDelete, "/device-policies/"+got[0].PolicyID, nil), http.StatusInternalServerError, "IOTDA.000500")
	if _, ok := ts.Policy("", got[0].PolicyID); ok {
		t.Error("the policy survived a delete with a fault after the action")
	}
	// Without AfterAction nothing happens.
	ts.InjectFault(OpCreate, Fault{Status: http.StatusInternalServerError})
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("not-acted")), http.StatusInternalServerError, "IOTDA.000500")
	if n := len(ts.Policies("")); n != 0 {
		t.Errorf("%d policies after a fault before the action", n)
	}
}

func TestFaultDrop(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("p")
	// A GET right after another request: the transport must not retry it
	// behind the test's back.
	decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
	ts.InjectFault(OpShow, Fault{Drop: true})
	if r, err := c.tryDo(http.MethodGet, "/device-policies/"+p.PolicyID, nil); err == nil {
		t.Fatalf("dropped show answered %d", r.status)
	}
	decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
	if got := ts.Calls(OpShow); got != 3 {
		t.Errorf("show calls = %d, want 3", got)
	}

	ts.InjectFault(OpCreate, Fault{Drop: true, AfterAction: true, Count: 2})
	for i := range 2 {
		if r, err := c.tryDo(http.MethodPost, "/device-policies", createRequest("dropped"+string(rune('a'+i)))); err == nil {
			t.Fatalf("dropped create %d answered %d", i, r.status)
		}
	}
	if n := len(ts.Policies("")); n != 3 {
		t.Errorf("%d policies, want 3: the dropped creates acted", n)
	}
	c.mustCreate("after")
}

func TestCounters(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("p")
	c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil)
	c.do(http.MethodGet, "/device-policies/missing", nil)
	c.do(http.MethodPut, "/device-policies/"+p.PolicyID, UpdatePolicyRequest{PolicyName: "q"})
	c.do(http.MethodGet, "/device-policies", nil)
	c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "d"))
	c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/unbind", bindBody("device", "d"))
	c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", nil)
	c.do(http.MethodDelete, "/device-policies/"+p.PolicyID, nil)
	c.do(http.MethodGet, "/nowhere", nil)
	want := map[Operation]int{OpCreate: 1, OpShow: 2, OpUpdate: 1, OpList: 1, OpBind: 1, OpUnbind: 1, OpListTargets: 1, OpDelete: 1}
	for op, n := range want {
		if got := ts.Calls(op); got != n {
			t.Errorf("Calls(%s) = %d, want %d", op, got, n)
		}
	}
	if got := ts.TotalCalls(); got != 9 {
		t.Errorf("TotalCalls = %d, want 9", got)
	}
	ts.ResetCalls()
	if ts.TotalCalls() != 0 || ts.Calls(OpShow) != 0 {
		t.Error("ResetCalls left counts")
	}
}

func TestLatency(t *testing.T) {
	const latency = 150 * time.Millisecond
	ts := NewTestServer(t, Config{Latency: latency})
	c := newClient(t, ts)
	start := time.Now()
	c.do(http.MethodGet, "/device-policies", nil)
	if d := time.Since(start); d < latency {
		t.Errorf("request took %s, want at least %s", d, latency)
	}
	start = time.Now()
	c.send(http.MethodGet, "/unknown", nil, nil)
	if d := time.Since(start); d < latency {
		t.Errorf("unknown path took %s, want at least %s", d, latency)
	}

	// A client that gives up is not kept waiting.
	ts.SetLatency(time.Minute)
	c.http = &http.Client{Timeout: 100 * time.Millisecond}
	start = time.Now()
	if _, err := c.tryDo(http.MethodGet, "/device-policies", nil); err == nil {
		t.Error("a request slower than the client's timeout succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timed-out request took %s", d)
	}

	ts.SetLatency(0)
	c.http = &http.Client{Timeout: 10 * time.Second}
	start = time.Now()
	c.do(http.MethodGet, "/device-policies", nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("request without latency took %s", d)
	}
}
