package access_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/access"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

const publish = iotda.ActionPublish

func newClient(t *testing.T, srv *mock.TestServer, parallelism int, transport http.RoundTripper) *iotda.Client {
	t.Helper()
	c, err := iotda.New(iotda.Config{
		Endpoint:    srv.URL,
		ProjectID:   mock.TestProjectID,
		Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
		MaxRetries:  new(0), BatchParallelism: parallelism, Transport: transport,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func policy(t *testing.T, srv *mock.TestServer, name string, stmts ...mock.Statement) string {
	t.Helper()
	p, err := srv.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: name, Statement: stmts})
	if err != nil {
		t.Fatal(err)
	}
	return p.PolicyID
}

func bind(t *testing.T, srv *mock.TestServer, policyID, targetType string, ids ...string) {
	t.Helper()
	if _, err := srv.Bind("", policyID, targetType, ids...); err != nil {
		t.Fatal(err)
	}
}

func stmt(effect string, resources ...string) mock.Statement {
	return mock.Statement{Effect: effect, Actions: []string{publish}, Resources: resources}
}

// fixture: a policy bound to the device, one to its product (with a DENY),
// one to its resource space, one to another device, and one bound to
// nothing.
type fixture struct{ own, product, space, other, unbound string }

func newFixture(t *testing.T, srv *mock.TestServer) fixture {
	f := fixture{
		unbound: policy(t, srv, "unbound", stmt(iotda.EffectAllow, "topic:*")),
		other:   policy(t, srv, "other", stmt(iotda.EffectAllow, "topic:/v1/secret/*")),
		space:   policy(t, srv, "space", stmt(iotda.EffectAllow, "topic:/v1/telemetry/*")),
		product: policy(t, srv, "product", stmt(iotda.EffectAllow, "topic:/v1/commands/*"), stmt(iotda.EffectDeny, "topic:/v1/telemetry/firmware*")),
		own:     policy(t, srv, "own", stmt(iotda.EffectAllow, "topic:/v1/${devices.deviceId}/*")),
	}
	bind(t, srv, f.own, iotda.TargetTypeDevice, "dev-a", "dev-c")
	bind(t, srv, f.product, iotda.TargetTypeProduct, "prod1")
	bind(t, srv, f.space, iotda.TargetTypeApp, srv.DefaultAppID(""))
	bind(t, srv, f.other, iotda.TargetTypeDevice, "dev-b")
	return f
}

func TestEvaluate(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	f := newFixture(t, srv)
	c := newClient(t, srv, 0, nil)
	q := func(topic string) access.Query {
		return access.Query{DeviceID: "dev-a", ProductID: "prod1", AppID: srv.DefaultAppID(""), Action: "publish", Topic: topic}
	}
	for name, tc := range map[string]struct {
		query    access.Query
		decision policyeval.Decision
		matched  []access.Match
	}{
		"own topic":       {q("/v1/dev-a/up"), policyeval.DecisionAllow, []access.Match{{PolicyID: f.own}}},
		"another's topic": {q("/v1/dev-b/up"), policyeval.DecisionNoMatch, nil},
		"deny beats allow across policies": {q("/v1/telemetry/firmware-2"), policyeval.DecisionDeny,
			[]access.Match{{PolicyID: f.product, StatementIndex: 1}, {PolicyID: f.space}}},
		"not reached":   {q("/v1/secret/plans"), policyeval.DecisionNoMatch, nil},
		"system topic":  {q("$oc/devices/dev-a/sys/messages/down"), policyeval.DecisionNotGoverned, nil},
		"without space": {access.Query{DeviceID: "dev-a", ProductID: "prod1", Action: "publish", Topic: "/v1/telemetry/t"}, policyeval.DecisionNoMatch, nil},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := access.Evaluate(context.Background(), c, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != tc.decision || res.Allowed != (tc.decision == policyeval.DecisionAllow || tc.decision == policyeval.DecisionNotGoverned) {
				t.Errorf("decision %s (allowed %v), want %s", res.Decision, res.Allowed, tc.decision)
			}
			if !slices.Equal(res.Matched, tc.matched) {
				t.Errorf("matched %+v, want %+v", res.Matched, tc.matched)
			}
			if res.Listed != 5 {
				t.Errorf("listed %d policies, want 5", res.Listed)
			}
		})
	}

	res, err := access.Evaluate(context.Background(), c, q("/v1/dev-a/up"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Policies {
		got = append(got, p.PolicyName+" via "+p.BoundVia)
	}
	// Newest first, as the API lists them, whatever order the parallel
	// listings finished in.
	if want := []string{"own via device", "product via product", "space via app"}; !slices.Equal(got, want) {
		t.Errorf("reaching policies %q, want %q", got, want)
	}
}

// TestEvaluateCost counts the calls: 1 listing, one target listing per
// policy (per 50 targets), one read per reaching policy.
func TestEvaluateCost(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	f := newFixture(t, srv)
	var many []string
	for i := range 120 {
		many = append(many, fmt.Sprintf("bulk-%03d", i))
	}
	bind(t, srv, f.unbound, iotda.TargetTypeDevice, many...)
	srv.ResetCalls()
	c := newClient(t, srv, 3, nil)
	if _, err := access.Evaluate(context.Background(), c, access.Query{DeviceID: "dev-a", ProductID: "prod1", Action: "publish", Topic: "/a"}); err != nil {
		t.Fatal(err)
	}
	want := map[mock.Operation]int{mock.OpList: 1, mock.OpListTargets: 4 + 3, mock.OpShow: 2}
	for op, n := range want {
		if got := srv.Calls(op); got != n {
			t.Errorf("%s: %d calls, want %d", op, got, n)
		}
	}
	if got := srv.TotalCalls(); got != 1+7+2 {
		t.Errorf("%d calls in all, want 10", got)
	}
}

// inFlight counts the requests under way at once, per operation path.
type inFlight struct {
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	return http.DefaultTransport.RoundTrip(req)
}

// TestEvaluateParallelism runs the per-policy calls at most
// BatchParallelism at a time, and more than one at a time when allowed.
func TestEvaluateParallelism(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	for i := range 9 {
		id := policy(t, srv, fmt.Sprintf("p%d", i), stmt(iotda.EffectAllow, "topic:/a"))
		bind(t, srv, id, iotda.TargetTypeDevice, fmt.Sprintf("dev-%d", i%3))
	}
	srv.SetLatency(30 * time.Millisecond)
	for _, k := range []int{1, 3} {
		rt := &inFlight{}
		c := newClient(t, srv, k, rt)
		res, err := access.Evaluate(context.Background(), c, access.Query{DeviceID: "dev-0", Action: "publish", Topic: "/a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Policies) != 3 || len(res.Matched) != 3 {
			t.Fatalf("k=%d: %d policies, %d matched; want 3 and 3", k, len(res.Policies), len(res.Matched))
		}
		if rt.max > k || (k > 1 && rt.max < 2) {
			t.Errorf("batch parallelism %d: %d calls were under way at once", k, rt.max)
		}
	}
}

// TestEvaluateLeavesOutDeletedPolicies: a policy deleted between the
// listing and its target listing (404) reaches nobody.
func TestEvaluateLeavesOutDeletedPolicies(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	f := newFixture(t, srv)
	c := newClient(t, srv, 1, nil)
	// The newest policy's targets are listed first.
	srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusNotFound})
	res, err := access.Evaluate(context.Background(), c, access.Query{DeviceID: "dev-a", ProductID: "prod1", Action: "publish", Topic: "/v1/dev-a/up"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Policies) != 1 || res.Policies[0].PolicyID != f.product || res.Decision != policyeval.DecisionNoMatch {
		t.Errorf("policies %+v, decision %s; want only the product's and NO_MATCH", res.Policies, res.Decision)
	}
	// Deleted between its target listing and its read.
	srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusNotFound})
	res, err = access.Evaluate(context.Background(), c, access.Query{DeviceID: "dev-a", ProductID: "prod1", Action: "publish", Topic: "/v1/dev-a/up"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Policies) != 1 || res.Policies[0].PolicyID != f.product {
		t.Errorf("policies %+v, want only the product's", res.Policies)
	}
}

// TestEvaluateErrors names the step and the policy, and starts no call
// after the first failure.
func TestEvaluateErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		op   mock.Operation
		step access.Step
	}{
		"listing":        {mock.OpList, access.StepListPolicies},
		"target listing": {mock.OpListTargets, access.StepListTargets},
		"read":           {mock.OpShow, access.StepReadPolicy},
	} {
		t.Run(name, func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			f := newFixture(t, srv)
			c := newClient(t, srv, 1, nil)
			srv.InjectFault(tc.op, mock.Fault{Status: http.StatusForbidden})
			_, err := access.Evaluate(context.Background(), c, access.Query{DeviceID: "dev-a", Action: "publish", Topic: "/a"})
			var accessErr *access.Error
			if !errors.As(err, &accessErr) || accessErr.Step != tc.step {
				t.Fatalf("err = %v, want a failure of step %d", err, tc.step)
			}
			var apiErr *iotda.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
				t.Errorf("err = %v does not carry the HTTP 403", err)
			}
			if tc.step != access.StepListPolicies && accessErr.PolicyID != f.own {
				t.Errorf("the error names policy %q, want the newest, %s", accessErr.PolicyID, f.own)
			}
			if got := srv.Calls(tc.op); got != 1 {
				t.Errorf("%d calls of %s, want none after the failure", got, tc.op)
			}
		})
	}
	t.Run("bad action", func(t *testing.T) {
		srv := mock.NewTestServer(t, mock.Config{})
		_, err := access.Evaluate(context.Background(), newClient(t, srv, 1, nil), access.Query{DeviceID: "d", Action: "connect", Topic: "/a"})
		var accessErr *access.Error
		if !errors.As(err, &accessErr) || accessErr.Step != access.StepEvaluate {
			t.Fatalf("err = %v, want a failure of the evaluation", err)
		}
	})
}

// BenchmarkEvaluate prints the calls and the wall time of one Evaluate over
// 50 policies (3 reaching the device) with 20 ms of latency per call, one
// call at a time against the default batch parallelism: the round trips go
// from 1 + 50 + 3 = 54 to 1 + 13 + 1 = 15.
func BenchmarkEvaluate(b *testing.B) {
	srv := mock.NewTestServer(b, mock.Config{})
	for i := range 50 {
		id, err := srv.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: fmt.Sprintf("p%02d", i), Statement: []mock.Statement{stmt(iotda.EffectAllow, "topic:/a")}})
		if err != nil {
			b.Fatal(err)
		}
		device := fmt.Sprintf("other-%d", i)
		if i%17 == 0 {
			device = "dev-a"
		}
		if _, err := srv.Bind("", id.PolicyID, iotda.TargetTypeDevice, device); err != nil {
			b.Fatal(err)
		}
	}
	srv.SetLatency(20 * time.Millisecond)
	for _, k := range []int{1, iotda.DefaultBatchParallelism} {
		b.Run(fmt.Sprintf("batch_parallelism=%d", k), func(b *testing.B) {
			c, err := iotda.New(iotda.Config{Endpoint: srv.URL, ProjectID: mock.TestProjectID,
				Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey}, BatchParallelism: k})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				srv.ResetCalls()
				start := time.Now()
				res, err := access.Evaluate(context.Background(), c, access.Query{DeviceID: "dev-a", Action: "publish", Topic: "/a"})
				if err != nil || len(res.Policies) != 3 {
					b.Fatalf("%v, %d reaching", err, len(res.Policies))
				}
				b.ReportMetric(float64(srv.TotalCalls()), "calls/op")
				b.Logf("batch_parallelism %d: %d calls, %s", k, srv.TotalCalls(), time.Since(start).Round(time.Millisecond))
			}
		})
	}
}
