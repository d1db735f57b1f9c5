package mock

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// startWithReadTimeout starts the mock like NewTestServer, with the read
// timeout a real deployment sets (cmd/iotda-mock), and returns its address.
func startWithReadTimeout(t *testing.T, cfg Config, readTimeout time.Duration) (*Server, string) {
	t.Helper()
	cfg.ProjectID = TestProjectID
	cfg.Credentials = []Credential{{AccessKey: TestAccessKey, SecretKey: TestSecretKey}}
	cfg.Tokens = []string{iamToken}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Config.ReadTimeout = readTimeout
	hs.Start()
	t.Cleanup(hs.Close)
	return s, hs.Listener.Addr().String()
}

// rawHead returns the request line and headers (ending in the blank line)
// of a request to the API path, authenticated by the IAM token, or, with
// forged true, by a signature of the test access key over another body:
// what someone who knows only the access key can send.
func rawHead(t *testing.T, addr, method, path string, forged bool, headers ...string) string {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+"/v5/iot/"+TestProjectID+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if forged {
		if err := signer.Sign(req, []byte("{}\n"), signer.Credentials{AccessKey: TestAccessKey, SecretKey: "not-the-secret-key"}, time.Now()); err != nil {
			t.Fatal(err)
		}
	} else {
		req.Header.Set("X-Auth-Token", iamToken)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, req.URL.RequestURI(), addr)
	for name, values := range req.Header {
		fmt.Fprintf(&b, "%s: %s\r\n", name, values[0])
	}
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// answerOf reads what the server sends on conn until it closes it (or 10
// seconds pass) and returns the status line, "" when it closed without an
// answer.
func answerOf(t *testing.T, conn net.Conn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("no answer and no close in 10s; read %q", data)
	}
	line, _, _ := strings.Cut(string(data), "\r\n")
	return line
}

// TestUnreadableBody checks that a request whose body cannot be read is
// answered 400 or 408 (or its connection closed), never 200, whether it
// is authenticated by a token or carries a signature it cannot prove.
func TestUnreadableBody(t *testing.T) {
	s, addr := startWithReadTimeout(t, Config{}, 500*time.Millisecond)
	cases := []struct {
		name   string
		head   []string
		body   string
		closeW bool
		want   []string
	}{
		{"malformed chunked body", []string{"Transfer-Encoding: chunked"}, "zz\r\n{}\r\n0\r\n\r\n", false, []string{"HTTP/1.1 400 "}},
		{"chunk longer than said", []string{"Transfer-Encoding: chunked"}, "2\r\n{\"policy_name\"\r\n0\r\n\r\n", false, []string{"HTTP/1.1 400 "}},
		{"body shorter than announced", []string{"Content-Length: 100"}, "{}", true, []string{"HTTP/1.1 400 ", ""}},
		{"body cut at the read timeout", []string{"Content-Length: 100"}, "{", false, []string{"HTTP/1.1 408 ", ""}},
	}
	for _, tc := range cases {
		for _, forged := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s forged=%v", tc.name, forged), func(t *testing.T) {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if _, err := io.WriteString(conn, rawHead(t, addr, http.MethodPost, "/device-policies", forged, tc.head...)+tc.body); err != nil {
					t.Fatal(err)
				}
				if tc.closeW {
					tcp, ok := conn.(*net.TCPConn)
					if !ok {
						t.Fatalf("connection of type %T", conn)
					}
					if err := tcp.CloseWrite(); err != nil {
						t.Fatal(err)
					}
				}
				if got := answerOf(t, conn); !slices.ContainsFunc(tc.want, func(w string) bool { return w == "" && got == "" || w != "" && strings.HasPrefix(got, w) }) {
					t.Errorf("answer %q, want one of %q", got, tc.want)
				}
			})
		}
	}
	if n := len(s.Policies("")); n != 0 {
		t.Errorf("%d policies created by unreadable requests", n)
	}
	// The buffers all came back.
	if n := len(s.bodies); n != DefaultMaxBodies {
		t.Errorf("%d body buffers free, want %d", n, DefaultMaxBodies)
	}
}

// TestBodyBufferWait checks that a request waits for a body buffer at most
// Config.BodyWait and is then answered 503 with Retry-After, while slow
// senders that know only the access key hold every buffer; once they are
// gone, the same request succeeds.
func TestBodyBufferWait(t *testing.T) {
	const slow = 4
	s, addr := startWithReadTimeout(t, Config{MaxBodies: slow, BodyWait: 200 * time.Millisecond}, 30*time.Second)
	p := mustCreate(t, s, "", "busy")
	var senders []net.Conn
	for range slow {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, rawHead(t, addr, http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", true, "Content-Length: 1000")+"{"); err != nil {
			t.Fatal(err)
		}
		senders = append(senders, conn)
	}
	pollUntil(t, "the slow senders to hold every body buffer", func() bool { return len(s.bodies) == 0 })

	c := &apiClient{t: t, base: "http://" + addr, projectID: TestProjectID,
		creds: signer.Credentials{AccessKey: TestAccessKey, SecretKey: TestSecretKey}, http: &http.Client{Timeout: 10 * time.Second}}
	r := c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "d-1"))
	wantError(t, r, http.StatusServiceUnavailable, "IOTDA.000503", "body buffer")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	// A request without a body needs no buffer.
	decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)

	for _, conn := range senders {
		conn.Close()
	}
	pollUntil(t, "the buffers to come back", func() bool { return len(s.bodies) == slow })
	res := decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "d-1")), http.StatusOK)
	if len(res.SuccessTargets) != 1 {
		t.Errorf("bind after the slow senders left = %+v", res)
	}
}

// pollUntil polls cond every 10ms for up to 10 seconds.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
