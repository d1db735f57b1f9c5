package binding_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/binding"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

const device = iotda.TargetTypeDevice

// newClient is a client of srv running parallelism calls at once.
func newClient(t *testing.T, srv *mock.TestServer, parallelism int) *iotda.Client {
	t.Helper()
	c, err := iotda.New(iotda.Config{
		Endpoint:    srv.URL,
		ProjectID:   mock.TestProjectID,
		Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
		MaxRetries:  new(1), RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		BatchParallelism: parallelism,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newPolicy(t *testing.T, srv *mock.TestServer) string {
	t.Helper()
	p, err := srv.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: "shared", Statement: []mock.Statement{
		{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/a"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return p.PolicyID
}

func bind(t *testing.T, srv *mock.TestServer, policyID string, targets ...string) {
	t.Helper()
	for chunk := range slices.Chunk(targets, iotda.MaxTargetsPerCall) {
		if _, err := srv.Bind("", policyID, device, chunk...); err != nil {
			t.Fatal(err)
		}
	}
}

func devices(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

// calls fails the test unless the mock counted these calls since the last
// reset, and resets the counters.
func calls(t *testing.T, srv *mock.TestServer, step string, list, bind, unbind int) {
	t.Helper()
	l, b, u := srv.Calls(mock.OpListTargets), srv.Calls(mock.OpBind), srv.Calls(mock.OpUnbind)
	if l != list || b != bind || u != unbind || srv.TotalCalls() != l+b+u {
		t.Fatalf("%s: %d listing, %d bind, %d unbind, %d calls in all; want %d, %d, %d and nothing else",
			step, l, b, u, srv.TotalCalls(), list, bind, unbind)
	}
	srv.ResetCalls()
}

// TestFight: an exclusive binding and a non-exclusive one of the same
// policy and type, as two states would hold them. Every refresh of the
// exclusive one finds the other's targets outside it, every plan says it
// unbinds them, and the apply does, at the minimum of calls.
func TestFight(t *testing.T) {
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, 2)
	policyID := newPolicy(t, srv)
	mine, theirs := devices("mine", 25), devices("theirs", 30)

	plan := binding.Plan(ctx, c, nil, binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: true, Targets: mine}, true)
	if plan.Takeover != binding.NoTakeover || plan.PolicyGone || plan.ListErr != nil {
		t.Fatalf("plan of a create over nothing: %+v", plan)
	}
	res := binding.Create(ctx, c, binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: true, Targets: mine})
	if res.Failed() || !slices.Equal(res.Targets, mine) || res.Outside != nil {
		t.Fatalf("create: %+v", res)
	}
	calls(t, srv, "plan and create", 1, 2, 0) // the create used the plan's listing
	exclusive := binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: true, Targets: res.Targets}

	for round := range 3 {
		other := binding.Create(ctx, c, binding.Binding{PolicyID: policyID, TargetType: device, Targets: theirs})
		if other.Failed() || !slices.Equal(other.Targets, theirs) {
			t.Fatalf("round %d: the non-exclusive create: %+v", round, other)
		}
		calls(t, srv, "non-exclusive bind", 0, 2, 0)

		refreshed, err := binding.Read(ctx, c, exclusive, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(refreshed.Outside, theirs) || len(refreshed.Targets) != len(mine)+len(theirs) {
			t.Fatalf("round %d: the refresh found %d outside of %d bound, want %d of %d", round, len(refreshed.Outside), len(refreshed.Targets), len(theirs), len(mine)+len(theirs))
		}
		next := binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: true, Targets: mine}
		plan := binding.Plan(ctx, c, &refreshed, next, true)
		if plan.Takeover != binding.TakeoverOutside || !slices.Equal(plan.Unbinds, theirs) {
			t.Fatalf("round %d: the plan says %+v, want the %d targets of the other binding unbound", round, plan, len(theirs))
		}
		calls(t, srv, "refresh and plan", 2, 0, 0) // 55 targets: two pages, and nothing to plan

		res := binding.Update(ctx, c, refreshed, next)
		if res.Failed() || !slices.Equal(res.Targets, mine) || res.Outside != nil || !slices.Equal(res.Removed, theirs) {
			t.Fatalf("round %d: update: %+v", round, res)
		}
		calls(t, srv, "update", 0, 0, 2)
		exclusive = binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: true, Targets: res.Targets}
	}
}

// TestFailuresKeepOwnership: after a failed apply the result records what
// the binding owns on the server, and, of an exclusive binding, which of
// it is still bound outside it.
func TestFailuresKeepOwnership(t *testing.T) {
	ctx := context.Background()
	for _, exclusive := range []bool{true, false} {
		t.Run(fmt.Sprintf("exclusive=%t", exclusive), func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			c := newClient(t, srv, 2)
			policyID := newPolicy(t, srv)
			mine, theirs := devices("mine", 40), devices("theirs", 3)
			bind(t, srv, policyID, slices.Concat(mine, theirs)...)
			prior, err := binding.Read(ctx, c, binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: exclusive, Targets: mine}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			// Every unbind call fails after its retry; binds succeed.
			srv.InjectFault(mock.OpUnbind, mock.Fault{Status: http.StatusInternalServerError, Count: 100})
			srv.ResetCalls()
			want := slices.Concat(mine[20:], devices("more", 5))
			res := binding.Update(ctx, c, prior, binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: exclusive, Targets: want})
			if !res.Failed() || res.CallErr == nil || res.ListErr != nil {
				t.Fatalf("update: %+v", res)
			}
			server := srv.Targets("", policyID, device)
			wantOutside := []string(nil)
			if exclusive {
				wantOutside = theirs
			} else {
				server = slices.DeleteFunc(server, func(id string) bool { return slices.Contains(theirs, id) })
			}
			if !slices.Equal(res.Targets, server) || !slices.Equal(res.Outside, wantOutside) {
				t.Fatalf("result records %d targets (%v outside), the server has %d of the binding's; want %v outside", len(res.Targets), res.Outside, len(server), wantOutside)
			}
			unbinds := 1 // the 20 mine dropped, one call (and its retry)
			if exclusive {
				unbinds = 2 // and the 3 bound outside it
			}
			calls(t, srv, "failed update", 1, 1, 2*unbinds)
		})
	}
}

// TestListingFailsToo: a bind call and the listing after it fail; the
// result records what is bound for certain and the targets the failed
// call may have bound, apart.
func TestListingFailsToo(t *testing.T) {
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, 1) // the faults hit the first call and its retry
	policyID := newPolicy(t, srv)
	want := devices("d", 60)
	srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	res := binding.Create(ctx, c, binding.Binding{PolicyID: policyID, TargetType: device, Targets: want})
	if res.CallErr == nil || res.ListErr == nil || len(res.Unsure) != iotda.MaxTargetsPerCall || len(res.Targets) != 40 {
		t.Fatalf("create: %d bound, %d unsure, call error %v, listing error %v", len(res.Targets), len(res.Unsure), res.CallErr, res.ListErr)
	}
	for _, id := range res.Unsure {
		if slices.Contains(res.Targets, id) {
			t.Fatalf("%s is both bound for certain and unsure", id)
		}
	}
}

// TestPolicyGone: each step says the policy is gone instead of failing
// in another way, and stops calling.
func TestPolicyGone(t *testing.T) {
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, 1) // one call at a time: no call after the first 404
	const gone = "0123456789abcdef01234567"
	b := binding.Binding{PolicyID: gone, TargetType: device, Exclusive: true, Targets: devices("d", 50)}
	if p := binding.Plan(ctx, c, nil, b, true); !p.PolicyGone {
		t.Errorf("exclusive plan: %+v", p)
	}
	nonExclusive := b
	nonExclusive.Exclusive = false
	if p := binding.Plan(ctx, c, nil, nonExclusive, true); !p.PolicyGone {
		t.Errorf("non-exclusive plan: %+v", p)
	}
	if res := binding.Create(ctx, c, b); !res.PolicyGone || res.BindCalls != 0 {
		t.Errorf("exclusive create: %+v", res)
	}
	if res := binding.Create(ctx, c, nonExclusive); !res.PolicyGone || res.BindCalls != 1 || res.Targets != nil {
		t.Errorf("non-exclusive create: %+v", res)
	}
	if res := binding.Delete(ctx, c, b, nil); !res.PolicyGone || res.UnbindCalls != 1 {
		t.Errorf("delete: %+v", res)
	}
}

// TestDeleteKeepsReplacement: a destroy whose replacement binds some of
// the same targets unbinds only the others.
func TestDeleteKeepsReplacement(t *testing.T) {
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, 2)
	policyID := newPolicy(t, srv)
	all := devices("d", 30)
	bind(t, srv, policyID, all...)
	srv.ResetCalls()
	prior := binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: true, Targets: all}
	res := binding.Delete(ctx, c, prior, &binding.Binding{PolicyID: policyID, TargetType: device, Targets: append(slices.Clone(all[:10]), "new")})
	if res.Failed() || !slices.Equal(res.Targets, all[:10]) || !slices.Equal(srv.Targets("", policyID, device), all[:10]) {
		t.Fatalf("delete kept %v, the server has %v; want the replacement's %v", res.Targets, srv.Targets("", policyID, device), all[:10])
	}
	calls(t, srv, "delete", 0, 0, 1)
}

// TestReadLag: reads lag behind writes. An exclusive binding of a policy
// the same client has just created lists its targets without finding the
// policy gone; after an update that adds and removes targets, a refresh
// that knows when the update was applied shows it, while one that does not
// shows the targets as they were. Without lag, such a refresh lists once.
func TestReadLag(t *testing.T) {
	ctx := context.Background()
	srv := mock.NewTestServer(t, mock.Config{ReadLag: 2 * time.Second})
	c := newClient(t, srv, 2)
	policy, err := c.CreatePolicy(ctx, iotda.CreatePolicyRequest{PolicyName: "lagged", Statement: []iotda.Statement{
		{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/a"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	first, second := devices("d", 25), devices("d", 35)[5:]
	created := binding.Create(ctx, c, binding.Binding{PolicyID: policy.PolicyID, TargetType: device, Exclusive: true, Targets: first})
	if created.Failed() || !slices.Equal(created.Targets, first) {
		t.Fatalf("create of a binding of a policy just created: %+v", created)
	}
	prior := binding.Binding{PolicyID: policy.PolicyID, TargetType: device, Exclusive: true, Targets: created.Targets}
	next := binding.Binding{PolicyID: policy.PolicyID, TargetType: device, Exclusive: true, Targets: second}
	updated := binding.Update(ctx, c, prior, next)
	if updated.Failed() || !slices.Equal(updated.Targets, second) {
		t.Fatalf("update: %+v", updated)
	}
	applied := time.Now()
	state := binding.Binding{PolicyID: policy.PolicyID, TargetType: device, Exclusive: true, Targets: updated.Targets}

	stale, err := binding.Read(ctx, c, state, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(stale.Targets, second) {
		t.Fatal("a refresh that does not know of the update shows it: the mock's reads do not lag")
	}
	fresh, err := binding.Read(ctx, c, state, applied)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fresh.Targets, second) || len(fresh.Outside) != 0 {
		t.Fatalf("the refresh after the update records %d targets, %v outside; want the %d applied, none outside", len(fresh.Targets), fresh.Outside, len(second))
	}

	now := mock.NewTestServer(t, mock.Config{})
	c = newClient(t, now, 2)
	policyID := newPolicy(t, now)
	bind(t, now, policyID, second...)
	now.ResetCalls()
	if _, err := binding.Read(ctx, c, binding.Binding{PolicyID: policyID, TargetType: device, Exclusive: true, Targets: second}, time.Now()); err != nil {
		t.Fatal(err)
	}
	calls(t, now, "refresh after an apply, without lag", 1, 0, 0)
}
