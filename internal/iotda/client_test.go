package iotda_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func newClient(t *testing.T, srv *mock.TestServer, opts ...func(*iotda.Config)) *iotda.Client {
	t.Helper()
	cfg := iotda.Config{
		Endpoint:     srv.URL,
		ProjectID:    mock.TestProjectID,
		Region:       "cn-north-4",
		Credentials:  iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
		RetryWaitMin: 5 * time.Millisecond,
		RetryWaitMax: 20 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := iotda.New(cfg)
	if err != nil {
		t.Fatalf("iotda.New: %v", err)
	}
	return c
}

func isAuthError(err error) bool {
	var apiErr *iotda.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized
}

func statements(resources ...string) []iotda.Statement {
	return []iotda.Statement{{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: resources}}
}

// mockPolicy is a policy to create out of band, in the mock's own types.
func mockPolicy(name string, resources ...string) mock.CreatePolicyRequest {
	return mock.CreatePolicyRequest{PolicyName: name, Statement: []mock.Statement{{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: resources}}}
}

func TestPolicyLifecycle(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv)
	ctx := context.Background()

	created, err := c.CreatePolicy(ctx, iotda.CreatePolicyRequest{PolicyName: "p1", Statement: statements("topic:/v1/${devices.deviceId}/up")})
	if err != nil {
		t.Fatalf("CreatePolicy: %v", err)
	}
	if len(created.PolicyID) != 24 || created.AppID != srv.DefaultAppID("") || created.CreateTime == "" {
		t.Fatalf("created policy = %+v, want a 24-hex id, the default app id %q and a create time", created, srv.DefaultAppID(""))
	}
	got, err := c.GetPolicy(ctx, created.PolicyID)
	if err != nil {
		t.Fatalf("GetPolicy: %v", err)
	}
	if got.PolicyName != "p1" || got.Statement[0].Resources[0] != "topic:/v1/${devices.deviceId}/up" {
		t.Fatalf("GetPolicy = %+v", got)
	}
	updated, err := c.UpdatePolicy(ctx, created.PolicyID, iotda.UpdatePolicyRequest{PolicyName: "p2", Statement: statements("topic:/a", "topic:/b")})
	if err != nil {
		t.Fatalf("UpdatePolicy: %v", err)
	}
	if updated.PolicyName != "p2" || len(updated.Statement[0].Resources) != 2 || updated.AppID != created.AppID {
		t.Fatalf("UpdatePolicy = %+v", updated)
	}
	list, err := c.ListPolicies(ctx, iotda.ListPoliciesFilter{})
	if err != nil || len(list) != 1 || list[0].PolicyID != created.PolicyID {
		t.Fatalf("ListPolicies = %+v, %v", list, err)
	}
	if err := c.DeletePolicy(ctx, created.PolicyID); err != nil {
		t.Fatalf("DeletePolicy: %v", err)
	}
	if _, ok := srv.Policy("", created.PolicyID); ok {
		t.Fatal("policy still exists after DeletePolicy")
	}
}

func TestNotFound(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv)
	const missing = "0123456789abcdef01234567"
	_, getErr := c.GetPolicy(context.Background(), missing)
	deleteErr := c.DeletePolicy(context.Background(), missing)
	_, bindErr := c.BindPolicy(context.Background(), missing, iotda.TargetTypeDevice, []string{"d1"})
	for name, err := range map[string]error{"get": getErr, "delete": deleteErr, "bind": bindErr} {
		if !errors.Is(err, iotda.ErrNotFound) {
			t.Errorf("%s of a missing policy: error %v is not ErrNotFound", name, err)
		}
		var apiErr *iotda.APIError
		if !errors.As(err, &apiErr) || apiErr.RequestID == "" || apiErr.Code == "" {
			t.Errorf("%s: error %#v lacks the request id or code", name, err)
		}
	}
}

func TestValidationErrorCarriesCodeAndMessage(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv)
	_, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "bad name", Statement: statements("topic:/a")})
	var apiErr *iotda.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an *APIError", err)
	}
	if apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "IOTDA.000006" || !strings.Contains(apiErr.Message, "policy_name") {
		t.Fatalf("APIError = %+v, want 400 %s naming policy_name", apiErr, "IOTDA.000006")
	}
	for _, part := range []string{"CreateDevicePolicy", "HTTP 400", "IOTDA.000006", apiErr.RequestID} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("message %q lacks %q", err.Error(), part)
		}
	}
}

// TestListPoliciesFollowsPages lists 23 policies through pages of 10.
func TestListPoliciesFollowsPages(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	for i := range 23 {
		if _, err := srv.CreatePolicy("", mockPolicy(fmt.Sprintf("p%02d", i), "topic:/a")); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, srv, func(cfg *iotda.Config) { iotda.SetPageSize(cfg, 10) })
	list, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range list {
		if seen[p.PolicyID] {
			t.Errorf("policy %s listed twice", p.PolicyID)
		}
		seen[p.PolicyID] = true
	}
	if len(list) != 23 || len(seen) != 23 {
		t.Fatalf("listed %d policies (%d distinct), want 23", len(list), len(seen))
	}
	if calls := srv.Calls(mock.OpList); calls != 3 {
		t.Errorf("list calls = %d, want 3 pages", calls)
	}
	filtered, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{AppID: "other-space"})
	if err != nil || len(filtered) != 0 {
		t.Fatalf("filtered by another app id: %d policies, %v", len(filtered), err)
	}
}

// TestBindListAndPerTargetFailures binds 45 targets in 3 calls, lists them
// back, and shows per-target failures as data.
func TestBindListAndPerTargetFailures(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv)
	ctx := context.Background()
	p, err := c.CreatePolicy(ctx, iotda.CreatePolicyRequest{PolicyName: "fleet", Statement: statements("topic:/a")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 45 {
		ids = append(ids, fmt.Sprintf("prod_dev%03d", i))
	}
	for batch := range slices.Chunk(ids, iotda.MaxTargetsPerCall) {
		res, err := c.BindPolicy(ctx, p.PolicyID, iotda.TargetTypeDevice, batch)
		if err != nil || len(res.SuccessTargets) != len(batch) || len(res.FailureTargets) != 0 {
			t.Fatalf("BindPolicy = %+v, %v", res, err)
		}
	}
	if calls := srv.Calls(mock.OpBind); calls != 3 {
		t.Errorf("bind calls = %d, want 3", calls)
	}
	targets, err := c.ListTargets(ctx, p.PolicyID, iotda.TargetTypeDevice)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, tg := range targets {
		listed = append(listed, tg.TargetID)
	}
	slices.Sort(listed)
	if !slices.Equal(listed, ids) {
		t.Fatalf("ListTargets returned %d targets, want the 45 bound", len(listed))
	}

	// A target already bound to five other policies fails on its own.
	for i := range 5 {
		other, err := srv.CreatePolicy("", mockPolicy(fmt.Sprintf("other%d", i), "topic:/b"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Bind("", other.PolicyID, iotda.TargetTypeDevice, "busy"); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.BindPolicy(ctx, p.PolicyID, iotda.TargetTypeDevice, []string{"free", "busy"})
	if err != nil {
		t.Fatalf("BindPolicy with a full target returned an error: %v", err)
	}
	if !slices.Equal(res.SuccessTargets, []string{"free"}) || len(res.FailureTargets) != 1 ||
		res.FailureTargets[0].TargetID != "busy" || res.FailureTargets[0].ErrorCode != iotda.CodeTargetPolicyLimit {
		t.Fatalf("BindPolicy = %+v, want free bound and busy failing with %s", res, iotda.CodeTargetPolicyLimit)
	}

	res, err = c.UnbindPolicy(ctx, p.PolicyID, iotda.TargetTypeDevice, []string{"free", "never-bound"})
	if err != nil {
		t.Fatalf("UnbindPolicy: %v", err)
	}
	if !slices.Equal(res.SuccessTargets, []string{"free"}) || len(res.FailureTargets) != 1 ||
		res.FailureTargets[0].TargetID != "never-bound" || res.FailureTargets[0].ErrorCode != iotda.CodeTargetNotBound {
		t.Fatalf("UnbindPolicy = %+v, want free unbound and never-bound failing with %s", res, iotda.CodeTargetNotBound)
	}
	if _, err := c.BindPolicy(ctx, p.PolicyID, iotda.TargetTypeDevice, make([]string, 21)); err == nil {
		t.Error("BindPolicy accepted 21 ids")
	}
}

func TestWrongSecretIsRejected(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.Credentials.SecretKey = "not-the-secret" })
	_, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if !isAuthError(err) {
		t.Fatalf("error %v is not an authentication error", err)
	}
	msg := err.Error()
	for _, want := range []string{"401", "APIGW.0301", "signature", "credentials were rejected"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "not-the-secret") {
		t.Errorf("message %q contains the secret key", msg)
	}
	if calls := srv.Calls(mock.OpList); calls != 1 {
		t.Errorf("a 401 was retried: %d calls", calls)
	}
}

func TestAuthenticationMethods(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{
		Credentials: []mock.Credential{
			{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
			{AccessKey: "TEMPKEY", SecretKey: "temp-secret", SecurityToken: "temp-token"},
		},
		Tokens: []string{"iam-token"},
	})
	cases := map[string]func(*iotda.Config){
		"basic":   func(*iotda.Config) {},
		"derived": func(c *iotda.Config) { c.SigningAlgorithm = signer.AlgorithmDerived },
		"temporary": func(c *iotda.Config) {
			c.Credentials = iotda.Credentials{AccessKey: "TEMPKEY", SecretKey: "temp-secret", SecurityToken: "temp-token"}
		},
		"token":    func(c *iotda.Config) { c.Credentials = iotda.Credentials{AuthToken: "iam-token"} },
		"instance": func(c *iotda.Config) { c.InstanceID = "inst-1" },
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := newClient(t, srv, opt).ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); err != nil {
				t.Fatalf("ListPolicies: %v", err)
			}
		})
	}
	bad := map[string]func(*iotda.Config){
		"temporary without token": func(c *iotda.Config) {
			c.Credentials = iotda.Credentials{AccessKey: "TEMPKEY", SecretKey: "temp-secret"}
		},
		"wrong token":           func(c *iotda.Config) { c.Credentials = iotda.Credentials{AuthToken: "other"} },
		"clock 20 minutes late": func(c *iotda.Config) { c.Now = func() time.Time { return time.Now().Add(-20 * time.Minute) } },
	}
	for name, opt := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := newClient(t, srv, opt).ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); !isAuthError(err) {
				t.Fatalf("error %v, want a 401", err)
			}
		})
	}
}

func TestInstancesAreSeparate(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	a := newClient(t, srv, func(c *iotda.Config) { c.InstanceID = "inst-a" })
	b := newClient(t, srv, func(c *iotda.Config) { c.InstanceID = "inst-b" })
	p, err := a.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "p", Statement: statements("topic:/a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetPolicy(context.Background(), p.PolicyID); !errors.Is(err, iotda.ErrNotFound) {
		t.Fatalf("instance b sees instance a's policy: %v", err)
	}
	if _, ok := srv.Policy("inst-a", p.PolicyID); !ok {
		t.Fatal("the policy is not in instance inst-a")
	}
}

func TestRetriesServerErrors(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv)
	srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	if _, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); err != nil {
		t.Fatalf("ListPolicies after two 503s: %v", err)
	}
	if calls := srv.Calls(mock.OpList); calls != 3 {
		t.Errorf("calls = %d, want 3 (two 503s, then success)", calls)
	}
}

func TestRetriesExhausted(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.MaxRetries = new(2) })
	srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusInternalServerError, Count: 10})
	_, err := c.GetPolicy(context.Background(), "0123456789abcdef01234567")
	var apiErr *iotda.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusInternalServerError {
		t.Fatalf("error %v, want the last 500 as an *APIError", err)
	}
	if calls := srv.Calls(mock.OpShow); calls != 3 {
		t.Errorf("calls = %d, want 3 (1 + 2 retries)", calls)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.RetryWaitMax = 5 * time.Second })
	srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Count: 1})
	start := time.Now()
	if _, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %s, before the 1s Retry-After", waited)
	}
}

// TestRetryAfterLongerThanAllowed is not retried: the call fails at once
// with an error that says what the API asked for and what was allowed.
func TestRetryAfterLongerThanAllowed(t *testing.T) {
	for name, tc := range map[string]struct {
		maxRetryAfter time.Duration
		retryAfter    time.Duration
		op            mock.Operation
		call          func(*iotda.Client) error
	}{
		"default limit, 429 on a listing": {0, 40 * time.Minute, mock.OpList, func(c *iotda.Client) error {
			_, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
			return err
		}},
		"configured limit, 503 on a read": {500 * time.Millisecond, time.Second, mock.OpShow, func(c *iotda.Client) error {
			_, err := c.GetPolicy(context.Background(), "0123456789abcdef01234567")
			return err
		}},
		"default limit, 429 on a create": {0, 2 * time.Minute, mock.OpCreate, func(c *iotda.Client) error {
			_, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "p", Statement: statements("topic:/a")})
			return err
		}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			c := newClient(t, srv, func(cfg *iotda.Config) { cfg.MaxRetryAfter = tc.maxRetryAfter })
			status := http.StatusTooManyRequests
			if tc.op == mock.OpShow {
				status = http.StatusServiceUnavailable
			}
			srv.InjectFault(tc.op, mock.Fault{Status: status, RetryAfter: tc.retryAfter, Count: 1})
			start := time.Now()
			err := tc.call(c)
			var apiErr *iotda.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
				t.Fatalf("err = %v, want the HTTP %d", err, status)
			}
			limit := cmp.Or(tc.maxRetryAfter, iotda.DefaultMaxRetryAfter)
			if apiErr.RetryAfter != tc.retryAfter || apiErr.MaxRetryAfter != limit {
				t.Errorf("RetryAfter %s, MaxRetryAfter %s; want %s, %s", apiErr.RetryAfter, apiErr.MaxRetryAfter, tc.retryAfter, limit)
			}
			want := fmt.Sprintf("asked to retry after %s, longer than the longest wait allowed (%s)", tc.retryAfter, limit)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if got := srv.Calls(tc.op); got != 1 {
				t.Errorf("%d calls, want 1 (no retry)", got)
			}
			if waited := time.Since(start); waited >= tc.retryAfter {
				t.Errorf("waited %s", waited)
			}
		})
	}
}

// TestRetryAfterWithinLimit waits what the API asked for and retries.
func TestRetryAfterWithinLimit(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.MaxRetryAfter = time.Second })
	srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second, Count: 1})
	start := time.Now()
	if _, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second || srv.Calls(mock.OpList) != 2 {
		t.Errorf("%d calls after %s, want 2 after the 1s Retry-After", srv.Calls(mock.OpList), waited)
	}
}

// TestCreateNeverDuplicates injects every fault after which the server may
// have acted, and checks a create leaves exactly one policy (or none).
func TestCreateNeverDuplicates(t *testing.T) {
	faults := map[string]mock.Fault{
		"503 after acting":  {Status: http.StatusServiceUnavailable, AfterAction: true, Count: 3},
		"500 after acting":  {Status: http.StatusInternalServerError, AfterAction: true, Count: 3},
		"drop after acting": {Drop: true, AfterAction: true, Count: 3},
		"502 before acting": {Status: http.StatusBadGateway, Count: 3},
		"drop before":       {Drop: true, Count: 3},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			c := newClient(t, srv)
			srv.InjectFault(mock.OpCreate, f)
			_, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "once", Statement: statements("topic:/a")})
			if err == nil {
				t.Fatal("CreatePolicy succeeded through the fault")
			}
			if calls := srv.Calls(mock.OpCreate); calls != 1 {
				t.Errorf("create was sent %d times", calls)
			}
			want := 0
			if f.AfterAction {
				want = 1
			}
			if n := len(srv.Policies("")); n != want {
				t.Errorf("%d policies exist, want %d", n, want)
			}
		})
	}

	t.Run("429 is retried", func(t *testing.T) {
		srv := mock.NewTestServer(t, mock.Config{})
		c := newClient(t, srv)
		srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusTooManyRequests, Count: 2})
		if _, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "once", Statement: statements("topic:/a")}); err != nil {
			t.Fatalf("CreatePolicy after two 429s: %v", err)
		}
		if n := len(srv.Policies("")); n != 1 {
			t.Errorf("%d policies exist, want 1", n)
		}
	})
}

// refusingTransport fails the first attempts as a refused connection would,
// before anything is written, then passes requests on.
type refusingTransport struct {
	refusals atomic.Int32
	next     http.RoundTripper
}

func (r *refusingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.refusals.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return r.next.RoundTrip(req)
}

func TestCreateRetriedWhenNotSent(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	rt := &refusingTransport{next: http.DefaultTransport}
	rt.refusals.Store(2)
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.Transport = rt })
	if _, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "once", Statement: statements("topic:/a")}); err != nil {
		t.Fatalf("CreatePolicy after two refused connections: %v", err)
	}
	if n := len(srv.Policies("")); n != 1 {
		t.Errorf("%d policies exist, want 1", n)
	}
}

// TestUnreachableEndpointSaysWhatToCheck: nothing listens at the endpoint.
// The error keeps the network error and says to check the endpoint.
func TestUnreachableEndpointSaysWhatToCheck(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	_ = l.Close()
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.Endpoint = endpoint; cfg.MaxRetries = new(1) })
	for name, call := range map[string]func() error{
		"read": func() error {
			_, err := c.GetPolicy(context.Background(), "0123456789abcdef01234567")
			return err
		},
		"create": func() error {
			_, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "p", Statement: statements("topic:/a")})
			return err
		},
	} {
		err := call()
		var opErr *net.OpError
		if !errors.As(err, &opErr) {
			t.Fatalf("%s: error %v, want the network error", name, err)
		}
		want := "(could not connect to the endpoint " + endpoint + " in 2 attempts: check the endpoint's scheme, host and port"
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not contain %q", name, err, want)
		}
	}
}

// TestHTTPSEndpointAnsweringHTTP: an https endpoint whose server speaks
// plain HTTP (the local mock, say) fails at once, without retries, says to
// check the scheme, and a create is known not to have been sent: no
// "may have been created" and no listing.
func TestHTTPSEndpointAnsweringHTTP(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	endpoint := strings.Replace(srv.URL, "http://", "https://", 1)
	rt := &recordingTransport{next: http.DefaultTransport}
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.Endpoint = endpoint; cfg.Transport = rt })
	_, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "p", Statement: statements("topic:/a")})
	if !errors.Is(err, http.ErrSchemeMismatch) {
		t.Fatalf("error %v, want http.ErrSchemeMismatch", err)
	}
	if errors.Is(err, iotda.ErrOutcomeUnknown) {
		t.Errorf("error %q says the create may have been acted on; nothing was sent", err)
	}
	if want := "(the endpoint " + endpoint + " answers plain HTTP, not HTTPS: check its scheme"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if n := srv.TotalCalls(); n != 0 {
		t.Errorf("the mock answered %d calls, want none", n)
	}
	if _, err := c.GetPolicy(context.Background(), "0123456789abcdef01234567"); !errors.Is(err, http.ErrSchemeMismatch) {
		t.Errorf("GetPolicy error %v, want http.ErrSchemeMismatch", err)
	}
	if n := len(rt.paths); n != 2 {
		t.Errorf("%d attempts for a create and a read, want 2: the scheme is not retried", n)
	}
}

// TestContextDeadlineStopsRetries stops retrying when the caller's
// deadline leaves no time for the next wait.
func TestContextDeadlineStopsRetries(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) {
		cfg.MaxRetries = new(20)
		cfg.RetryWaitMin = 100 * time.Millisecond
		cfg.RetryWaitMax = 100 * time.Millisecond
	})
	srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, Count: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 350*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ListPolicies(ctx, iotda.ListPoliciesFilter{})
	// No retry starts whose wait would outlast the deadline, so the caller
	// gets the last answer rather than only "deadline exceeded".
	var apiErr *iotda.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("error %v, want the last 503", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("the retry loop went on for %s after a 350ms deadline", elapsed)
	}
	if calls := srv.Calls(mock.OpList); calls >= 21 {
		t.Errorf("all %d attempts were made despite the deadline", calls)
	}
}

func TestEachAttemptIsSignedAfresh(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	var clock atomic.Int64
	base := time.Now().Add(-14 * time.Minute)
	// Every call of the signing clock moves it two minutes on; three
	// attempts must read it three times.
	c := newClient(t, srv, func(cfg *iotda.Config) {
		cfg.Now = func() time.Time { return base.Add(time.Duration(clock.Add(1)) * 2 * time.Minute) }
	})
	srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	if _, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); err != nil {
		t.Fatalf("ListPolicies: %v", err)
	}
	if n := clock.Load(); n != 3 {
		t.Errorf("signed %d times for 3 attempts", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := iotda.Config{Endpoint: "https://iotda.cn-north-4.myhuaweicloud.com", ProjectID: "p", Credentials: iotda.Credentials{AccessKey: "a", SecretKey: "s"}}
	cases := map[string]func(*iotda.Config){
		"no endpoint":       func(c *iotda.Config) { c.Endpoint = "" },
		"ftp endpoint":      func(c *iotda.Config) { c.Endpoint = "ftp://x" },
		"no project":        func(c *iotda.Config) { c.ProjectID = "" },
		"no credentials":    func(c *iotda.Config) { c.Credentials = iotda.Credentials{} },
		"derived no region": func(c *iotda.Config) { c.SigningAlgorithm = signer.AlgorithmDerived },
		"auto derived": func(c *iotda.Config) {
			c.Endpoint = "https://x.st1.iotda-app.example.com:8443"
			c.Region = ""
			c.SigningAlgorithm = ""
		},
		"unknown algorithm": func(c *iotda.Config) { c.SigningAlgorithm = "HMAC-MD5" },
		"negative retries":  func(c *iotda.Config) { c.MaxRetries = new(-1) },
		"too many retries":  func(c *iotda.Config) { c.MaxRetries = new(iotda.MaxMaxRetries + 1) },
		"parallelism < 0":   func(c *iotda.Config) { c.BatchParallelism = -1 },
		"parallelism > max": func(c *iotda.Config) { c.BatchParallelism = iotda.MaxBatchParallelism + 1 },
		"negative timeout":  func(c *iotda.Config) { c.RequestTimeout = -time.Second },
	}
	if _, err := iotda.New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	for name, change := range cases {
		cfg := good
		change(&cfg)
		if _, err := iotda.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

// TestRetriesNotSet tells "not set" (the default number of retries) from
// zero retries.
func TestRetriesNotSet(t *testing.T) {
	for name, tc := range map[string]struct {
		retries *int
		want    int
	}{
		"not set": {nil, 1 + iotda.DefaultMaxRetries},
		"zero":    {new(0), 1},
		"two":     {new(2), 3},
	} {
		t.Run(name, func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			c := newClient(t, srv, func(cfg *iotda.Config) {
				cfg.MaxRetries = tc.retries
				cfg.RetryWaitMin, cfg.RetryWaitMax = time.Millisecond, time.Millisecond
			})
			srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, Count: 100})
			if _, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); err == nil {
				t.Fatal("no error after every attempt failed")
			}
			if got := srv.Calls(mock.OpList); got != tc.want {
				t.Errorf("%d attempts, want %d", got, tc.want)
			}
		})
	}
}

// TestInsecureAndRequestTimeout reaches a TLS endpoint with a self-signed certificate only
// when Insecure is set, and a slow answer fails after RequestTimeout.
func TestInsecureAndRequestTimeout(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	tlsSrv := httptest.NewTLSServer(srv.Server)
	t.Cleanup(tlsSrv.Close)
	newTLSClient := func(change func(*iotda.Config)) *iotda.Client {
		return newClient(t, srv, func(cfg *iotda.Config) {
			cfg.Endpoint = tlsSrv.URL
			cfg.MaxRetries = new(0)
			change(cfg)
		})
	}
	ctx := context.Background()
	_, err := newTLSClient(func(*iotda.Config) {}).ListPolicies(ctx, iotda.ListPoliciesFilter{})
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) {
		t.Fatalf("without Insecure: %v, want a certificate verification error", err)
	}
	if _, err := newTLSClient(func(cfg *iotda.Config) { cfg.Insecure = true }).ListPolicies(ctx, iotda.ListPoliciesFilter{}); err != nil {
		t.Fatalf("with Insecure: %v", err)
	}

	srv.SetLatency(time.Minute)
	_, err = newTLSClient(func(cfg *iotda.Config) { cfg.Insecure = true; cfg.RequestTimeout = 50 * time.Millisecond }).ListPolicies(ctx, iotda.ListPoliciesFilter{})
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("a one-minute answer with RequestTimeout 50ms: %v, want a timeout", err)
	}
}

// TestListStopsAtCount lists exactly two full pages: page.count tells the
// client no third call is needed.
func TestListStopsAtCount(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	for i := range 20 {
		if _, err := srv.CreatePolicy("", mockPolicy(fmt.Sprintf("p%02d", i), "topic:/a")); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, srv, func(cfg *iotda.Config) { iotda.SetPageSize(cfg, 10) })
	list, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if err != nil || len(list) != 20 {
		t.Fatalf("listed %d policies, %v; want 20", len(list), err)
	}
	if calls := srv.Calls(mock.OpList); calls != 2 {
		t.Errorf("list calls = %d, want 2", calls)
	}
}

// recordingTransport keeps the escaped path of every request it passes on.
type recordingTransport struct {
	paths []string
	next  http.RoundTripper
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.paths = append(r.paths, req.URL.EscapedPath())
	return r.next.RoundTrip(req)
}

func TestPathSegmentsAreEscapedOnce(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	rt := &recordingTransport{next: http.DefaultTransport}
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.Transport = rt })
	if _, err := c.GetPolicy(context.Background(), "odd id/1"); err == nil {
		t.Fatal("GetPolicy of a malformed id succeeded")
	}
	want := "/v5/iot/" + mock.TestProjectID + "/device-policies/odd%20id%2F1"
	if len(rt.paths) != 1 || rt.paths[0] != want {
		t.Fatalf("requested %q, want %q", rt.paths, want)
	}
}

// TestGatewayNotFoundIsNotPolicyNotFound points the client at a path the
// API does not serve: the 404 must not read as a deleted policy.
func TestGatewayNotFoundIsNotPolicyNotFound(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.Endpoint = srv.URL + "/typo" })
	_, err := c.GetPolicy(context.Background(), "0123456789abcdef01234567")
	var apiErr *iotda.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Fatalf("error %v, want a 404", err)
	}
	if errors.Is(err, iotda.ErrNotFound) {
		t.Fatalf("a gateway 404 (%s) reads as ErrNotFound", apiErr.Code)
	}
	if !strings.Contains(err.Error(), "check the endpoint") {
		t.Errorf("message %q does not point at the endpoint", err)
	}
}

// TestRedirectsAreNotFollowed: a redirect would carry fresh credentials to
// another host.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") != "" || r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(other.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	for _, creds := range []iotda.Credentials{{AuthToken: "secret-token"}, {AccessKey: "ak", SecretKey: "sk"}} {
		c, err := iotda.New(iotda.Config{Endpoint: redirect.URL, ProjectID: "p", Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetPolicy(context.Background(), "0123456789abcdef01234567")
		var apiErr *iotda.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusFound {
			t.Fatalf("error %v, want the 302 as an APIError", err)
		}
	}
	if n := leaked.Load(); n != 0 {
		t.Fatalf("credentials reached the redirect target %d times", n)
	}
}

// TestCreateOutcomeUnknown: a create that failed after the server may have
// acted says so, and is not retried.
func TestCreateOutcomeUnknown(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv)
	srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 1})
	_, err := c.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: "p", Statement: statements("topic:/a")})
	if !errors.Is(err, iotda.ErrOutcomeUnknown) {
		t.Fatalf("error %v does not say the outcome is unknown", err)
	}
	var apiErr *iotda.APIError
	if !errors.As(err, &apiErr) || apiErr.Attempts != 1 || strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("error %v: want one attempt and no claim of retries", err)
	}
	srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, Count: 1})
	if _, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); errors.Is(err, iotda.ErrOutcomeUnknown) || err != nil {
		t.Fatalf("a retried list reports %v", err)
	}
}

// TestPaginationNeverTruncatesSilently serves full pages without a count:
// the client follows the markers to the short page, and a full page without
// a marker is an error, not a short listing.
func TestPaginationNeverTruncatesSilently(t *testing.T) {
	const total = 120
	withMarkers := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := 0
		if m := r.URL.Query().Get("marker"); m != "" {
			_, _ = fmt.Sscanf(m, "%024x", &start)
		}
		var out iotda.ListPoliciesResponse
		for i := start; i < min(start+50, total); i++ {
			out.Policies = append(out.Policies, iotda.PolicySummary{PolicyID: fmt.Sprintf("%024x", i)})
		}
		if withMarkers && len(out.Policies) > 0 {
			out.Page.Marker = fmt.Sprintf("%024x", start+len(out.Policies))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	c, err := iotda.New(iotda.Config{Endpoint: srv.URL, ProjectID: "p", Credentials: iotda.Credentials{AuthToken: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if err != nil || len(list) != total {
		t.Fatalf("listed %d, %v; want %d", len(list), err, total)
	}
	withMarkers = false
	if list, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{}); err == nil {
		t.Fatalf("listed %d policies without markers and no error", len(list))
	}
}
