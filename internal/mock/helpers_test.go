package mock

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// apiClient sends requests to a mock the way a client written from the
// reference would: JSON bodies from json.Encoder (ending in "\n"),
// Content-Type on every request, X-Project-Id, and an SDK-HMAC-SHA256
// signature from the signer package.
type apiClient struct {
	t         testing.TB
	base      string
	projectID string
	creds     signer.Credentials
	instance  string
	// token, when set, authenticates with X-Auth-Token instead of a
	// signature.
	token string
	// securityToken is sent in X-Security-Token when set.
	securityToken string
	// signTime is the clock of the signature; nil means time.Now.
	signTime func() time.Time
	http     *http.Client
}

func newClient(t testing.TB, ts *TestServer) *apiClient {
	return &apiClient{
		t:         t,
		base:      ts.URL,
		projectID: TestProjectID,
		creds:     signer.Credentials{AccessKey: TestAccessKey, SecretKey: TestSecretKey},
		http:      &http.Client{Timeout: 10 * time.Second},
	}
}

// response is an answer of the mock.
type response struct {
	status int
	header http.Header
	body   []byte
}

// encodeBody encodes v as official clients do; []byte is sent as is and
// nil means no body.
func encodeBody(t testing.TB, v any) []byte {
	t.Helper()
	switch b := v.(type) {
	case nil:
		return nil
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// do sends a request to the API path under /v5/iot/{project_id}.
func (c *apiClient) do(method, path string, body any) response {
	c.t.Helper()
	return c.send(method, "/v5/iot/"+c.projectID+path, encodeBody(c.t, body), nil)
}

// send builds, signs and sends a request; edit, when set, changes the
// request before it is signed.
func (c *apiClient) send(method, path string, body []byte, edit func(*http.Request)) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Project-Id", c.projectID)
	if c.instance != "" {
		req.Header.Set("Instance-Id", c.instance)
	}
	if c.securityToken != "" {
		req.Header.Set("X-Security-Token", c.securityToken)
	}
	if edit != nil {
		edit(req)
	}
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	} else {
		now := time.Now()
		if c.signTime != nil {
			now = c.signTime()
		}
		if err := signer.Sign(req, body, c.creds, now); err != nil {
			c.t.Fatal(err)
		}
	}
	return c.roundTrip(req)
}

func (c *apiClient) roundTrip(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// decodeAs checks the status of r and decodes its body.
func decodeAs[T any](t testing.TB, r response, status int) T {
	t.Helper()
	var v T
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if !requestIDPattern.MatchString(r.header.Get("X-Request-Id")) {
		t.Errorf("X-Request-Id = %q, want 32 hex digits", r.header.Get("X-Request-Id"))
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return v
}

// wantError checks that r is an error with that status and code whose
// error_msg contains every one of the parts.
func wantError(t testing.TB, r response, status int, code string, parts ...string) ErrorBody {
	t.Helper()
	e := decodeAs[ErrorBody](t, r, status)
	if e.ErrorCode != code {
		t.Errorf("error_code = %q, want %q (error_msg %q)", e.ErrorCode, code, e.ErrorMsg)
	}
	for _, p := range parts {
		if !strings.Contains(e.ErrorMsg, p) {
			t.Errorf("error_msg %q does not contain %q", e.ErrorMsg, p)
		}
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return e
}

// statement returns a valid statement with the given resources.
func statement(effect string, resources ...string) Statement {
	return Statement{Effect: effect, Actions: []string{actionPublish, actionSubscribe}, Resources: resources}
}

func createRequest(name string) CreatePolicyRequest {
	return CreatePolicyRequest{
		PolicyName: name,
		Statement:  []Statement{statement(effectAllow, "topic:/v1/${devices.deviceId}/test/hello")},
	}
}

// mustCreate creates a policy over the API.
func (c *apiClient) mustCreate(name string) Policy {
	c.t.Helper()
	return decodeAs[Policy](c.t, c.do(http.MethodPost, "/device-policies", createRequest(name)), http.StatusCreated)
}

// mustCreate creates a policy out of band.
func mustCreate(t testing.TB, s *Server, instanceID, name string) Policy {
	t.Helper()
	p, err := s.CreatePolicy(instanceID, createRequest(name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func bindBody(targetType string, ids ...string) BindRequest {
	return BindRequest{TargetType: targetType, TargetIDs: ids}
}
