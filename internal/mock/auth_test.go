package mock

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

const (
	tempAccessKey     = "HPUATEMPORARYKEY0001"
	tempSecretKey     = "temporarySecretKeyForTheMockTests0000001"
	tempSecurityToken = "gQpjbi1ub3J0aC00temporary-security-token"
	iamToken          = "MIIZ-iam-token-for-the-mock"
)

func authServer(t *testing.T) *TestServer {
	return NewTestServer(t, Config{
		Credentials: []Credential{
			{AccessKey: TestAccessKey, SecretKey: TestSecretKey},
			{AccessKey: tempAccessKey, SecretKey: tempSecretKey, SecurityToken: tempSecurityToken},
		},
		Tokens: []string{iamToken},
	})
}

// wantAuthError checks a 401 from the gateway.
func wantAuthError(t *testing.T, r response, parts ...string) {
	t.Helper()
	e := wantError(t, r, http.StatusUnauthorized, "APIGW.0301", append([]string{"Incorrect IAM authentication information: "}, parts...)...)
	if e.RequestID == "" || e.RequestID != r.header.Get("X-Request-Id") {
		t.Errorf("request_id = %q, X-Request-Id = %q", e.RequestID, r.header.Get("X-Request-Id"))
	}
	for _, secret := range []string{TestSecretKey, tempSecretKey, "wrong-secret-key"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("the answer echoes a secret key: %s", r.body)
		}
	}
}

func TestAuthSignatures(t *testing.T) {
	ts := authServer(t)
	listPath := "/v5/iot/" + TestProjectID + "/device-policies"

	t.Run("valid", func(t *testing.T) {
		c := newClient(t, ts)
		decodeAs[iotda.ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies", nil), http.StatusOK)
	})
	t.Run("wrong secret", func(t *testing.T) {
		c := newClient(t, ts)
		c.creds.SecretKey = "wrong-secret-key"
		wantAuthError(t, c.do(http.MethodGet, "/device-policies", nil), "verify aksk signature fail", "signature does not match")
	})
	t.Run("unknown access key", func(t *testing.T) {
		c := newClient(t, ts)
		c.creds.AccessKey = "HPUAUNKNOWNKEY000000"
		wantAuthError(t, c.do(http.MethodGet, "/device-policies", nil), "verify aksk signature fail")
	})
	t.Run("skewed date", func(t *testing.T) {
		c := newClient(t, ts)
		c.signTime = func() time.Time { return time.Now().Add(-16 * time.Minute) }
		wantAuthError(t, c.do(http.MethodGet, "/device-policies", nil), "verify aksk signature fail", "X-Sdk-Date")
		c.signTime = func() time.Time { return time.Now().Add(16 * time.Minute) }
		wantAuthError(t, c.do(http.MethodGet, "/device-policies", nil), "X-Sdk-Date")
		c.signTime = func() time.Time { return time.Now().Add(-14 * time.Minute) }
		decodeAs[iotda.ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies", nil), http.StatusOK)
	})
	t.Run("no credentials", func(t *testing.T) {
		c := newClient(t, ts)
		req, err := http.NewRequest(http.MethodGet, ts.URL+listPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantAuthError(t, c.roundTrip(req), "neither")
	})
	t.Run("malformed authorization", func(t *testing.T) {
		c := newClient(t, ts)
		r := c.send(http.MethodGet, listPath, nil, nil)
		decodeAs[iotda.ListPoliciesResponse](t, r, http.StatusOK)
		req, err := http.NewRequest(http.MethodGet, ts.URL+listPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Sdk-Date", time.Now().UTC().Format(signer.DateFormat))
		req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		wantAuthError(t, c.roundTrip(req), "verify aksk signature fail")
	})
	t.Run("derived signature", func(t *testing.T) {
		c := newClient(t, ts)
		c.creds.Algorithm = signer.AlgorithmDerived
		c.creds.Region = "cn-north-4"
		c.instance = "inst-derived"
		p := decodeAs[iotda.Policy](t, c.do(http.MethodPost, "/device-policies", createRequest("derived")), http.StatusCreated)
		decodeAs[iotda.Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
		c.creds.Service = "demo"
		wantAuthError(t, c.do(http.MethodGet, "/device-policies", nil), "iotdm")
		c.creds.Service = ""
		c.creds.SecretKey = "wrong-secret-key"
		wantAuthError(t, c.do(http.MethodGet, "/device-policies", nil), "signature does not match")
	})
	t.Run("body altered after signing", func(t *testing.T) {
		c := newClient(t, ts)
		signed := encodeBody(t, createRequest("altered"))
		req, err := http.NewRequest(http.MethodPost, ts.URL+listPath, bytes.NewReader(bytes.TrimSuffix(signed, []byte("\n"))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if err := signer.Sign(req, signed, c.creds, time.Now()); err != nil {
			t.Fatal(err)
		}
		wantAuthError(t, c.roundTrip(req), "signature does not match")
		if len(ts.Policies("")) != 0 && ts.Policies("")[0].PolicyName == "altered" {
			t.Error("a request with a bad signature created a policy")
		}
	})
	t.Run("auth before validation and existence", func(t *testing.T) {
		c := newClient(t, ts)
		c.creds.SecretKey = "wrong-secret-key"
		wantAuthError(t, c.do(http.MethodPost, "/device-policies", `{"policy_name":`))
		wantAuthError(t, c.do(http.MethodGet, "/device-policies/0123456789abcdef01234567", nil))
		wantAuthError(t, c.do(http.MethodGet, "/device-policies?limit=0", nil))
	})
}

// signWith signs req over the given headers, as a client other than the
// official SDK might.
func signWith(t *testing.T, req *http.Request, body []byte, creds signer.Credentials, headers []string) {
	t.Helper()
	req.Header.Set(signer.HeaderDate, time.Now().UTC().Format(signer.DateFormat))
	auth, err := signer.Authorization(req, body, creds, headers)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(signer.HeaderAuthorization, auth)
}

func TestAuthSignedHeaders(t *testing.T) {
	ts := authServer(t)
	c := newClient(t, ts)
	creds := signer.Credentials{AccessKey: TestAccessKey, SecretKey: TestSecretKey}
	body := encodeBody(t, createRequest("guide"))
	if body[len(body)-1] != '\n' {
		t.Fatal("the encoded body does not end in a newline")
	}
	url := ts.URL + "/v5/iot/" + TestProjectID + "/device-policies"
	cases := []struct {
		name    string
		method  string
		body    []byte
		headers []string
		status  int
	}{
		{"guide style with host", http.MethodPost, body, []string{"content-type", "host", "x-sdk-date"}, http.StatusCreated},
		{"SDK style without host", http.MethodGet, nil, []string{"x-project-id", "x-sdk-date"}, http.StatusOK},
		{"date only", http.MethodGet, nil, []string{"x-sdk-date"}, http.StatusOK},
		{"date not signed", http.MethodGet, nil, []string{"host"}, http.StatusUnauthorized},
		{"unsorted headers", http.MethodGet, nil, []string{"x-sdk-date", "host"}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, url, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Project-Id", TestProjectID)
			signWith(t, req, tc.body, creds, tc.headers)
			r := c.roundTrip(req)
			if tc.status == http.StatusUnauthorized {
				wantAuthError(t, r)
				return
			}
			if r.status != tc.status {
				t.Errorf("status = %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
}

func TestAuthTokensAndTemporaryKeys(t *testing.T) {
	ts := authServer(t)
	list := "/device-policies"

	c := newClient(t, ts)
	c.token = iamToken
	decodeAs[iotda.ListPoliciesResponse](t, c.do(http.MethodGet, list, nil), http.StatusOK)
	decodeAs[iotda.Policy](t, c.do(http.MethodPost, "/device-policies", createRequest("by-token")), http.StatusCreated)
	c.token = "MIIZ-some-other-token"
	wantAuthError(t, c.do(http.MethodGet, list, nil), "token")

	tmp := newClient(t, ts)
	tmp.creds = signer.Credentials{AccessKey: tempAccessKey, SecretKey: tempSecretKey}
	tmp.securityToken = tempSecurityToken
	decodeAs[iotda.ListPoliciesResponse](t, tmp.do(http.MethodGet, list, nil), http.StatusOK)
	tmp.securityToken = ""
	wantAuthError(t, tmp.do(http.MethodGet, list, nil), "X-Security-Token")
	tmp.securityToken = "another-security-token"
	wantAuthError(t, tmp.do(http.MethodGet, list, nil), "X-Security-Token")

	perm := newClient(t, ts)
	perm.securityToken = tempSecurityToken
	wantAuthError(t, perm.do(http.MethodGet, list, nil), "permanent")

	if got := ts.Calls(OpList); got != 6 {
		t.Errorf("list calls = %d, want 6 (failures count)", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no project", Config{Tokens: []string{"t"}}},
		{"project with a slash", Config{ProjectID: "a/b", Tokens: []string{"t"}}},
		{"no credentials", Config{ProjectID: TestProjectID}},
		{"half a credential", Config{ProjectID: TestProjectID, Credentials: []Credential{{AccessKey: "ak"}}}},
		{"duplicate access key", Config{ProjectID: TestProjectID, Credentials: []Credential{{AccessKey: "ak", SecretKey: "a"}, {AccessKey: "ak", SecretKey: "b"}}}},
		{"empty token", Config{ProjectID: TestProjectID, Tokens: []string{""}}},
		{"negative latency", Config{ProjectID: TestProjectID, Tokens: []string{"t"}, Latency: -time.Second}},
		{"state in a missing directory", Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: t.TempDir() + "/missing/state.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Error("New accepted the config")
			}
		})
	}
}
