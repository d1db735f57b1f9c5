package mock

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
		decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies", nil), http.StatusOK)
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
		decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies", nil), http.StatusOK)
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
		decodeAs[ListPoliciesResponse](t, r, http.StatusOK)
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
		p := decodeAs[Policy](t, c.do(http.MethodPost, "/device-policies", createRequest("derived")), http.StatusCreated)
		decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
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
			if slices.Contains(tc.headers, "x-project-id") {
				req.Header.Set("X-Project-Id", TestProjectID)
			}
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
	decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, list, nil), http.StatusOK)
	decodeAs[Policy](t, c.do(http.MethodPost, "/device-policies", createRequest("by-token")), http.StatusCreated)
	c.token = "MIIZ-some-other-token"
	wantAuthError(t, c.do(http.MethodGet, list, nil), "token")

	tmp := newClient(t, ts)
	tmp.creds = signer.Credentials{AccessKey: tempAccessKey, SecretKey: tempSecretKey}
	tmp.securityToken = tempSecurityToken
	decodeAs[ListPoliciesResponse](t, tmp.do(http.MethodGet, list, nil), http.StatusOK)
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
		{"negative read lag", Config{ProjectID: TestProjectID, Tokens: []string{"t"}, ReadLag: -time.Second}},
		{"negative body wait", Config{ProjectID: TestProjectID, Tokens: []string{"t"}, BodyWait: -time.Second}},
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

// golangsdkUserAgent is the User-Agent of the huaweicloud Terraform
// provider's HTTP library.
const golangsdkUserAgent = "terraform-provider-iac golangsdk/2.0.0"

// golangsdkRequest builds a request the way the huaweicloud Terraform
// provider's HTTP library (chnsz/golangsdk) sends it: Accept and User-Agent
// always, Content-Type only with a body, every header present signed (not
// host, which is not among its headers), and then, unsigned, X-Project-Id,
// X-Domain-Id and, for a temporary key, X-Security-Token. instanceID, when
// set, is added unsigned too.
func golangsdkRequest(t *testing.T, base, method, path string, body []byte, creds signer.Credentials, securityToken, instanceID string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, base+"/v5/iot/"+TestProjectID+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", golangsdkUserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	}
	var signed []string
	for name := range req.Header {
		signed = append(signed, strings.ToLower(name))
	}
	signed = append(signed, "x-sdk-date")
	slices.Sort(signed)
	signWith(t, req, body, creds, signed)
	req.Header.Set("X-Project-Id", TestProjectID)
	req.Header.Set("X-Domain-Id", "0970dd7a1300f5672ff2c003c60ae115")
	if securityToken != "" {
		req.Header.Set("X-Security-Token", securityToken)
	}
	if instanceID != "" {
		req.Header.Set("Instance-Id", instanceID)
	}
	return req
}

// TestAuthGolangsdkOrder checks that the mock accepts what the gateway
// accepts: a request signed first, with X-Project-Id, X-Security-Token and
// Instance-Id added afterwards unsigned (as chnsz/golangsdk does), goes
// through every operation with both algorithms and both kinds of key.
func TestAuthGolangsdkOrder(t *testing.T) {
	ts := authServer(t)
	keys := []struct {
		name  string
		creds signer.Credentials
		token string
	}{
		{"permanent", signer.Credentials{AccessKey: TestAccessKey, SecretKey: TestSecretKey}, ""},
		{"temporary", signer.Credentials{AccessKey: tempAccessKey, SecretKey: tempSecretKey}, tempSecurityToken},
	}
	for _, algorithm := range []string{signer.AlgorithmBasic, signer.AlgorithmDerived} {
		for _, key := range keys {
			t.Run(algorithm+" "+key.name, func(t *testing.T) {
				creds := key.creds
				creds.Algorithm = algorithm
				if algorithm == signer.AlgorithmDerived {
					creds.Region = "cn-north-4"
				}
				instance := "inst-" + strings.ToLower(algorithm[:3]) + "-" + key.name
				c := newClient(t, ts)
				send := func(method, path string, body any, status int) response {
					t.Helper()
					r := c.roundTrip(golangsdkRequest(t, ts.URL, method, path, encodeBody(t, body), creds, key.token, instance))
					if r.status != status {
						t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, status, r.body)
					}
					return r
				}
				p := decodeAs[Policy](t, send(http.MethodPost, "/device-policies", createRequest("golangsdk"), http.StatusCreated), http.StatusCreated)
				if _, ok := ts.Policy(instance, p.PolicyID); !ok {
					t.Fatalf("the policy is not in instance %s, named by the unsigned Instance-Id", instance)
				}
				send(http.MethodGet, "/device-policies/"+p.PolicyID, nil, http.StatusOK)
				send(http.MethodGet, "/device-policies?policy_name=golangsdk", nil, http.StatusOK)
				send(http.MethodPut, "/device-policies/"+p.PolicyID, UpdatePolicyRequest{PolicyName: "golangsdk-renamed"}, http.StatusOK)
				send(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "d-1", "d-2"), http.StatusOK)
				send(http.MethodPost, "/device-policies/"+p.PolicyID+"/unbind", bindBody("device", "d-2"), http.StatusOK)
				got := decodeAs[ListTargetsResponse](t, send(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", nil, http.StatusOK), http.StatusOK)
				if len(got.Targets) != 1 || got.Targets[0].TargetID != "d-1" {
					t.Errorf("targets = %+v, want d-1", got.Targets)
				}
				if r := send(http.MethodDelete, "/device-policies/"+p.PolicyID, nil, http.StatusNoContent); len(r.body) != 0 {
					t.Errorf("delete answered a body: %s", r.body)
				}
			})
		}
	}
}

// TestAuthUnsignedHeadersChecked checks that the headers that may come
// unsigned are still checked for what they say, and that a header that was
// signed cannot be changed afterwards.
func TestAuthUnsignedHeadersChecked(t *testing.T) {
	ts := authServer(t)
	policy := mustCreate(t, ts.Server, "inst-a", "unsigned-headers")
	perm := signer.Credentials{AccessKey: TestAccessKey, SecretKey: TestSecretKey}
	temp := signer.Credentials{AccessKey: tempAccessKey, SecretKey: tempSecretKey}
	c := newClient(t, ts)

	t.Run("X-Project-Id of another project", func(t *testing.T) {
		req := golangsdkRequest(t, ts.URL, http.MethodGet, "/device-policies", nil, perm, "", "")
		req.Header.Set("X-Project-Id", "another-project")
		wantError(t, c.roundTrip(req), http.StatusForbidden, "IOTDA.000003", "project")
	})
	t.Run("temporary key without its token", func(t *testing.T) {
		wantAuthError(t, c.roundTrip(golangsdkRequest(t, ts.URL, http.MethodGet, "/device-policies", nil, temp, "", "")), "needs its X-Security-Token")
	})
	t.Run("temporary key with another token", func(t *testing.T) {
		wantAuthError(t, c.roundTrip(golangsdkRequest(t, ts.URL, http.MethodGet, "/device-policies", nil, temp, "another-security-token", "")), "does not belong to the access key")
	})
	t.Run("permanent key with a token", func(t *testing.T) {
		wantAuthError(t, c.roundTrip(golangsdkRequest(t, ts.URL, http.MethodGet, "/device-policies", nil, perm, tempSecurityToken, "")), "permanent")
	})
	t.Run("invalid unsigned Instance-Id", func(t *testing.T) {
		wantError(t, c.roundTrip(golangsdkRequest(t, ts.URL, http.MethodGet, "/device-policies", nil, perm, "", "inst/a")), http.StatusBadRequest, "IOTDA.000006", "Instance-Id")
	})
	t.Run("signed Instance-Id replaced after signing", func(t *testing.T) {
		body := encodeBody(t, bindBody("device", "d-replaced"))
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/v5/iot/"+TestProjectID+"/device-policies/"+policy.PolicyID+"/bind", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Instance-Id", "inst-a")
		signWith(t, req, body, perm, []string{"content-type", "host", "instance-id", "x-sdk-date"})
		req.Header.Set("Instance-Id", "inst-b")
		wantAuthError(t, c.roundTrip(req), "signature does not match")
	})
	t.Run("signed X-Security-Token replaced after signing", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/v5/iot/"+TestProjectID+"/device-policies", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Security-Token", "another-security-token")
		signWith(t, req, nil, temp, []string{"host", "x-sdk-date", "x-security-token"})
		req.Header.Set("X-Security-Token", tempSecurityToken)
		wantAuthError(t, c.roundTrip(req), "signature does not match")
	})
	if got := ts.Targets("inst-a", policy.PolicyID, ""); len(got) != 0 {
		t.Errorf("targets bound in inst-a = %v, want none", got)
	}
	if got := ts.Policies("inst-b"); len(got) != 0 {
		t.Errorf("policies in inst-b = %v, want none", got)
	}
}

// TestAuthBodyHash checks the body-hash rule, which unsigned headers do not
// loosen: X-Sdk-Content-Sha256 counts only when signed, so an unsigned
// UNSIGNED-PAYLOAD cannot cover a body changed after signing, while a
// signed one is honoured.
func TestAuthBodyHash(t *testing.T) {
	ts := authServer(t)
	c := newClient(t, ts)
	url := ts.URL + "/v5/iot/" + TestProjectID + "/device-policies"
	signed := encodeBody(t, createRequest("hashed"))
	altered := encodeBody(t, createRequest("altered"))
	cases := []struct {
		name    string
		headers []string
		status  int
	}{
		{"unsigned UNSIGNED-PAYLOAD", []string{"host", "x-sdk-date"}, http.StatusUnauthorized},
		{"signed UNSIGNED-PAYLOAD", []string{"host", "x-sdk-content-sha256", "x-sdk-date"}, http.StatusCreated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(altered))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			// The signer takes UNSIGNED-PAYLOAD as the body hash in both
			// cases; only a verifier that honours it unsigned would agree.
			req.Header.Set(signer.HeaderContentSHA256, signer.UnsignedPayload)
			signWith(t, req, signed, c.creds, tc.headers)
			r := c.roundTrip(req)
			if tc.status == http.StatusUnauthorized {
				wantAuthError(t, r, "signature does not match")
				return
			}
			decodeAs[Policy](t, r, tc.status)
		})
	}
}

// TestQueryWithSemicolon checks that a ";" in a query value is read as
// part of the value, as the signature covers it.
func TestQueryWithSemicolon(t *testing.T) {
	ts := authServer(t)
	c := newClient(t, ts)
	c.mustCreate("a-b")
	r := c.send(http.MethodGet, "/v5/iot/"+TestProjectID+"/device-policies?policy_name=a;b&limit=5", nil, nil)
	got := decodeAs[ListPoliciesResponse](t, r, http.StatusOK)
	if len(got.Policies) != 0 || got.Page.Count != 0 {
		t.Errorf("policy_name \"a;b\" matched %+v, want nothing", got)
	}
	r = c.send(http.MethodGet, "/v5/iot/"+TestProjectID+"/device-policies?limit=5;policy_name=x", nil, nil)
	wantError(t, r, http.StatusBadRequest, "IOTDA.000017", "limit")
	r = c.send(http.MethodGet, "/v5/iot/"+TestProjectID+"/device-policies?policy_name=a-&x;y=1", nil, nil)
	if got := decodeAs[ListPoliciesResponse](t, r, http.StatusOK); got.Page.Count != 1 {
		t.Errorf("policy_name \"a-\" with an extra \"x;y\" parameter matched %+v, want a-b", got)
	}
}
