package iotda_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func ceilDiv(n, d int) int { return (n + d - 1) / d }

func newPolicy(t *testing.T, srv *mock.TestServer, name string) string {
	t.Helper()
	p, err := srv.CreatePolicy("", mockPolicy(name, "topic:/a"))
	if err != nil {
		t.Fatal(err)
	}
	return p.PolicyID
}

// TestReconcileProperty checks, for random before and after sets, that a
// reconciliation turns the server's set into the desired one with exactly
// ceil(removed/20) unbind and ceil(added/20) bind calls.
func TestReconcileProperty(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	clients := make([]*iotda.Client, 5)
	for i := range clients {
		clients[i] = newClient(t, srv, func(cfg *iotda.Config) { cfg.BatchParallelism = 1 + i })
	}
	rng := rand.New(rand.NewPCG(1, 2))
	universe := make([]string, 120)
	for i := range universe {
		universe[i] = fmt.Sprintf("dev%03d", i)
	}
	pick := func() []string {
		var out []string
		p := rng.Float64()
		for _, id := range universe {
			if rng.Float64() < p {
				out = append(out, id)
			}
		}
		return out
	}
	for round := range 40 {
		policyID := newPolicy(t, srv, fmt.Sprintf("p%d", round))
		before, after := pick(), pick()
		if len(before) > 0 {
			if _, err := srv.Bind("", policyID, iotda.TargetTypeDevice, before...); err != nil {
				t.Fatal(err)
			}
		}
		srv.ResetCalls()
		res := clients[round%5].ReconcileTargets(context.Background(), policyID, iotda.TargetTypeDevice, before, after)
		if res.Err != nil || len(res.Failures) != 0 {
			t.Fatalf("round %d: %+v", round, res)
		}
		add, remove := missingFrom(before, after), missingFrom(after, before)
		if !slices.Equal(res.Added, add) || !slices.Equal(res.Removed, remove) {
			t.Fatalf("round %d: result says %d added and %d removed, want %d and %d", round, len(res.Added), len(res.Removed), len(add), len(remove))
		}
		if got := srv.Targets("", policyID, iotda.TargetTypeDevice); !slices.Equal(got, after) && len(got)+len(after) > 0 {
			t.Fatalf("round %d: server has %d targets, want the %d desired", round, len(got), len(after))
		}
		if !slices.Equal(res.Bound, after) && len(res.Bound)+len(after) > 0 {
			t.Fatalf("round %d: result says %d bound, want %d", round, len(res.Bound), len(after))
		}
		wantBind, wantUnbind := ceilDiv(len(add), 20), ceilDiv(len(remove), 20)
		if srv.Calls(mock.OpBind) != wantBind || srv.Calls(mock.OpUnbind) != wantUnbind || srv.TotalCalls() != wantBind+wantUnbind {
			t.Fatalf("round %d: %d bind, %d unbind, %d total calls; want %d bind, %d unbind, nothing else",
				round, srv.Calls(mock.OpBind), srv.Calls(mock.OpUnbind), srv.TotalCalls(), wantBind, wantUnbind)
		}
		if res.BindCalls != wantBind || res.UnbindCalls != wantUnbind {
			t.Fatalf("round %d: result counts %d/%d calls", round, res.BindCalls, res.UnbindCalls)
		}
		// Clean up so the next round's targets stay under the per-target limit.
		if err := srv.DeletePolicy("", policyID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReconcilePartialFailure(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.BatchParallelism = 2 })
	policyID := newPolicy(t, srv, "main")
	for i := range 5 {
		other := newPolicy(t, srv, fmt.Sprintf("other%d", i))
		if _, err := srv.Bind("", other, iotda.TargetTypeDevice, "busy"); err != nil {
			t.Fatal(err)
		}
	}
	desired := []string{"a", "b", "busy", "c"}
	res := c.ReconcileTargets(context.Background(), policyID, iotda.TargetTypeDevice, []string{"gone"}, desired)
	if res.Err != nil {
		t.Fatalf("a per-target failure became a call failure: %v", res.Err)
	}
	if !slices.Equal(res.Bound, []string{"a", "b", "c"}) {
		t.Errorf("Bound = %v, want a, b, c", res.Bound)
	}
	if len(res.Failures) != 1 || res.Failures[0].TargetID != "busy" || res.Failures[0].ErrorCode != iotda.CodeTargetPolicyLimit {
		t.Errorf("Failures = %+v, want busy with %s", res.Failures, iotda.CodeTargetPolicyLimit)
	}
	if got := srv.Targets("", policyID, iotda.TargetTypeDevice); !slices.Equal(got, res.Bound) {
		t.Errorf("server has %v, result says %v", got, res.Bound)
	}
}

// TestReconcileCallFailure exhausts the retries of one bind call in the
// middle of a run: the other batches still land and the result never
// forgets a target that may be bound.
func TestReconcileCallFailure(t *testing.T) {
	var desired []string
	for i := range 60 {
		desired = append(desired, fmt.Sprintf("dev%02d", i))
	}
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.MaxRetries = new(1); cfg.BatchParallelism = 1 })
	policyID := newPolicy(t, srv, "main")
	// The first call and its one retry fail; the two later calls succeed.
	srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	r := c.ReconcileTargets(context.Background(), policyID, iotda.TargetTypeDevice, nil, desired)
	if r.Err == nil {
		t.Fatalf("exhausted retries did not surface: %+v", r)
	}
	server := srv.Targets("", policyID, iotda.TargetTypeDevice)
	if len(server) != 40 {
		t.Fatalf("server has %d targets, want the 40 of the two calls that succeeded", len(server))
	}
	for _, id := range server {
		if !slices.Contains(r.Bound, id) {
			t.Errorf("target %s is bound but the result forgot it", id)
		}
	}
	if len(r.Bound) != 60 {
		t.Errorf("Bound has %d targets, want all 60 (20 of them possibly bound)", len(r.Bound))
	}
	if !slices.Equal(r.Unsure, desired[:20]) {
		t.Errorf("Unsure = %v, want the 20 targets of the call that failed", r.Unsure)
	}
}

func TestReconcileStopsWhenPolicyIsGone(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.BatchParallelism = 1 })
	var desired []string
	for i := range 100 {
		desired = append(desired, fmt.Sprintf("dev%03d", i))
	}
	res := c.ReconcileTargets(context.Background(), "0123456789abcdef01234567", iotda.TargetTypeDevice, nil, desired)
	if !errors.Is(res.Err, iotda.ErrNotFound) {
		t.Fatalf("Err = %v, want ErrNotFound", res.Err)
	}
	if res.BindCalls != 1 || len(res.Bound) != 0 {
		t.Fatalf("after a 404: %d bind calls, %d bound; want 1 call and nothing bound", res.BindCalls, len(res.Bound))
	}
}

// missingFrom returns the ids of b that a lacks, in the order of b.
func missingFrom(a, b []string) []string {
	var out []string
	for _, id := range b {
		if !slices.Contains(a, id) {
			out = append(out, id)
		}
	}
	return out
}
