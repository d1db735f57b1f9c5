package iotda_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestCallCounter counts what the endpoint counts: every request by
// operation, retries included, from concurrent calls.
func TestCallCounter(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	var counter iotda.CallCounter
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.CallCounter = &counter })
	ctx := context.Background()

	p, err := c.CreatePolicy(ctx, iotda.CreatePolicyRequest{PolicyName: "p", Statement: statements("topic:/a")})
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2})
	if _, err := c.GetPolicy(ctx, p.PolicyID); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.ListTargets(ctx, p.PolicyID, iotda.TargetTypeDevice); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := c.GetPolicy(ctx, "0123456789abcdef01234567"); err == nil {
		t.Fatal("GetPolicy of a missing policy succeeded")
	}

	want := map[iotda.Operation]int{iotda.OpCreate: 1, iotda.OpShow: 4, iotda.OpListTargets: 8}
	for op, n := range want {
		if got := counter.Calls(op); got != n || got != srv.Calls(mock.Operation(op)) {
			t.Errorf("%s: counted %d, the mock %d, want %d", op, got, srv.Calls(mock.Operation(op)), n)
		}
	}
	if counter.Total() != 13 || counter.Total() != srv.TotalCalls() || len(counter.Counts()) != 3 {
		t.Errorf("total %d, mock %d, counts %v; want 13 in 3 operations", counter.Total(), srv.TotalCalls(), counter.Counts())
	}
	counter.Reset()
	if counter.Total() != 0 || counter.Calls(iotda.OpShow) != 0 {
		t.Errorf("after Reset: %v", counter.Counts())
	}
}
