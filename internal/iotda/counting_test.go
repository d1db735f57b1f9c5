package iotda_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestCountTargets counts a policy's targets by type in one call when one
// page holds them all, and in four (one page per type) whatever their
// number otherwise, 100,000 targets included.
func TestCountTargets(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{})
	policyID := newPolicy(t, srv, "main")
	var counter iotda.CallCounter
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.CallCounter = &counter })
	bound := map[string]int{}
	bindN := func(targetType, prefix string, n int) {
		t.Helper()
		ids := make([]string, 0, n)
		for i := bound[targetType]; i < bound[targetType]+n; i++ {
			ids = append(ids, fmt.Sprintf("%s%06d", prefix, i))
		}
		if _, err := srv.Bind("", policyID, targetType, ids...); err != nil {
			t.Fatal(err)
		}
		bound[targetType] += n
	}
	for _, step := range []struct {
		name          string
		bind          func()
		want          map[string]int64
		calls         int
		allIDsOfTypes bool
	}{
		{"nothing bound", func() {}, map[string]int64{}, 1, true},
		{"one page", func() { bindN(iotda.TargetTypeDevice, "dev-", 40); bindN(iotda.TargetTypeProduct, "prod-", 2) },
			map[string]int64{"device": 40, "product": 2}, 1, true},
		{"a full page", func() { bindN(iotda.TargetTypeApp, "app", 8) },
			map[string]int64{"device": 40, "product": 2, "app": 8}, 1, true},
		{"more than a page", func() { bindN(iotda.TargetTypeDevice, "dev-", 1) },
			map[string]int64{"device": 41, "product": 2, "app": 8}, 4, false},
		{"100,000 targets", func() { bindN(iotda.TargetTypeDevice, "dev-", 100_000-41-2-8) },
			map[string]int64{"device": 100_000 - 10, "product": 2, "app": 8}, 4, false},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.bind()
			counter.Reset()
			got, err := c.CountTargets(context.Background(), policyID, 3)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.ByType, step.want) {
				t.Errorf("counts %v, want %v", got.ByType, step.want)
			}
			if calls := counter.Calls(iotda.OpListTargets); calls != step.calls || counter.Total() != calls {
				t.Errorf("%d list-targets calls (%v), want %d", calls, counter.Counts(), step.calls)
			}
			for typ, n := range step.want {
				ex := got.Examples[typ]
				if step.allIDsOfTypes && int64(len(ex)) != n || !step.allIDsOfTypes && len(ex) != min(int(n), 3) || !slices.IsSorted(ex) {
					t.Errorf("%s examples %v", typ, ex)
				}
			}
			if got.Total() != sum(step.want) {
				t.Errorf("total %d", got.Total())
			}
		})
	}
	if _, err := c.CountTargets(context.Background(), "5c90fa7d3c4e4405e8525079", 3); !errors.Is(err, iotda.ErrNotFound) {
		t.Errorf("unknown policy: %v", err)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
