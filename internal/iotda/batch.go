package iotda

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// DefaultBatchParallelism is how many calls of a batch run at once unless
// Config.BatchParallelism says otherwise.
const DefaultBatchParallelism = 4

// ReconcileResult is what a reconciliation did.
type ReconcileResult struct {
	// Bound is the set of targets bound after the run, sorted. When Err is
	// not nil it assumes the worst for calls that failed as a whole: their
	// targets are counted as still bound (for unbinds) or as possibly bound
	// (for binds); list the targets to know.
	Bound []string
	// Failures are the targets the API refused one by one. Unbinding a
	// target that is not bound is not a failure: the target is not bound.
	Failures []TargetFailure
	// Unsure lists the targets of bind calls that failed as a whole,
	// sorted: the API may or may not have bound them. They are in Bound.
	Unsure []string
	// Err joins the errors of calls that failed as a whole: the API may or
	// may not have acted on their targets.
	Err error
	// Added and Removed are the difference the run set out to make: the
	// targets of desired missing from current, and those of current missing
	// from desired, each sorted.
	Added, Removed []string
	// BindCalls and UnbindCalls count the calls made.
	BindCalls, UnbindCalls int
}

// diff returns the targets of desired missing from current (to bind) and
// those of current missing from desired (to unbind), each sorted and
// without duplicates.
func diff(current, desired []string) (add, remove []string) {
	have := make(map[string]bool, len(current))
	for _, id := range current {
		have[id] = true
	}
	want := make(map[string]bool, len(desired))
	for _, id := range desired {
		want[id] = true
	}
	for id := range want {
		if !have[id] {
			add = append(add, id)
		}
	}
	for id := range have {
		if !want[id] {
			remove = append(remove, id)
		}
	}
	slices.Sort(add)
	slices.Sort(remove)
	return add, remove
}

// ReconcileTargets makes the targets of one type bound to a policy go from
// current (what is bound now) to desired, with the fewest calls:
// ceil(removed/20) unbind calls, then ceil(added/20) bind calls, at most
// Config.BatchParallelism of them at a time. It stops starting calls once the policy
// turns out not to exist.
func (c *Client) ReconcileTargets(ctx context.Context, policyID, targetType string, current, desired []string) ReconcileResult {
	add, remove := diff(current, desired)
	bound := make(map[string]bool, len(current)+len(add))
	for _, id := range current {
		bound[id] = true
	}
	res := ReconcileResult{Added: add, Removed: remove}
	var errs []error

	unbind := c.runBatches(ctx, remove, func(ctx context.Context, ids []string) (*BindResult, error) {
		return c.UnbindPolicy(ctx, policyID, targetType, ids)
	})
	res.UnbindCalls = unbind.calls
	for _, r := range unbind.results {
		for _, id := range r.SuccessTargets {
			delete(bound, id)
		}
		for _, f := range r.FailureTargets {
			if f.ErrorCode == codeTargetNotBound {
				delete(bound, f.TargetID)
				continue
			}
			res.Failures = append(res.Failures, f)
		}
	}
	errs = append(errs, unbind.errs...)

	if !errors.Is(errors.Join(unbind.errs...), ErrNotFound) {
		bind := c.runBatches(ctx, add, func(ctx context.Context, ids []string) (*BindResult, error) {
			return c.BindPolicy(ctx, policyID, targetType, ids)
		})
		res.BindCalls = bind.calls
		for _, r := range bind.results {
			for _, id := range r.SuccessTargets {
				bound[id] = true
			}
			res.Failures = append(res.Failures, r.FailureTargets...)
		}
		for _, ids := range bind.failedBatches {
			for _, id := range ids {
				bound[id] = true // the API may have bound them: never forget a binding
			}
			res.Unsure = append(res.Unsure, ids...)
		}
		errs = append(errs, bind.errs...)
	}

	res.Err = errors.Join(errs...)
	for id := range bound {
		res.Bound = append(res.Bound, id)
	}
	slices.Sort(res.Bound)
	slices.Sort(res.Unsure)
	slices.SortFunc(res.Failures, func(a, b TargetFailure) int { return cmp.Compare(a.TargetID, b.TargetID) })
	return res
}

type batchRun struct {
	calls         int
	results       []*BindResult
	errs          []error
	failedBatches [][]string // chunks whose call failed as a whole, other than not found
}

// runBatches calls fn on chunks of at most MaxTargetsPerCall ids, at most
// Config.BatchParallelism at once. After a not-found error no further chunk
// starts.
func (c *Client) runBatches(ctx context.Context, ids []string, fn func(context.Context, []string) (*BindResult, error)) batchRun {
	var (
		run     batchRun
		mu      sync.Mutex
		stopped atomic.Bool
		g       errgroup.Group
	)
	g.SetLimit(c.parallelism)
	for chunk := range slices.Chunk(ids, MaxTargetsPerCall) {
		if err := ctx.Err(); err != nil {
			mu.Lock()
			run.errs = append(run.errs, err)
			mu.Unlock()
			break
		}
		if stopped.Load() {
			break
		}
		// Go waits for a free slot; a chunk whose slot comes after a
		// not-found answer does not start.
		g.Go(func() error {
			if stopped.Load() {
				return nil
			}
			mu.Lock()
			run.calls++
			mu.Unlock()
			r, err := fn(ctx, chunk)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				run.errs = append(run.errs, fmt.Errorf("targets %s: %w", summarizeIDs(chunk), err))
				if errors.Is(err, ErrNotFound) {
					stopped.Store(true) // the policy is gone: nothing was or will be bound to it
				} else {
					run.failedBatches = append(run.failedBatches, chunk)
				}
				return nil
			}
			run.results = append(run.results, r)
			return nil
		})
	}
	_ = g.Wait() // every call reports into run, none returns an error
	return run
}

// summarizeIDs names the first and last id of a batch and its size.
func summarizeIDs(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}
	return fmt.Sprintf("%s..%s (%d)", ids[0], ids[len(ids)-1], len(ids))
}
