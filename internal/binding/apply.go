package binding

import (
	"context"
	"errors"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Read refreshes a binding from one listing of its policy's targets. An
// exclusive binding records every target bound, and those it does not
// claim become Outside; a non-exclusive one records the bound targets it
// claims. Unsure is settled by the listing and comes back empty. When the
// policy does not exist, the error wraps iotda.ErrNotFound.
//
// written is when an apply of this binding last succeeded (zero when not
// known). Where reads lag behind writes, a listing made soon after it may
// not show its bind and unbind calls yet, or not find a policy created in
// the same run; such a listing is made again, as iotda.ReadAfterWrite
// does, until it shows them (see Binding.shows), for at most
// the client's read after write window after written. Without lag the first listing
// shows them: one listing, as without written.
func Read(ctx context.Context, c *iotda.Client, prior Binding, written time.Time) (Binding, error) {
	prior = prior.normalized()
	bound, err := iotda.ReadAfterWrite(ctx, c, written, func(ctx context.Context) ([]string, error) {
		return listBound(ctx, c, prior.PolicyID, prior.TargetType)
	}, prior.shows)
	if err != nil {
		return prior, err
	}
	return prior.refreshed(bound), nil
}

// Create binds the targets of next. An exclusive binding first lists what
// is bound (or takes the listing its plan just made), and unbinds what it
// does not list. A non-exclusive one binds every target it lists without
// listing: binding a target that is bound already changes nothing, and
// listing a shared policy could cost more calls than it saves.
func Create(ctx context.Context, c *iotda.Client, next Binding) Result {
	next = next.normalized()
	var current []string
	if next.Exclusive {
		listed, err := listFirst(ctx, c, next)
		if err != nil {
			return Result{FirstListErr: err, PolicyGone: errors.Is(err, iotda.ErrNotFound)}
		}
		current = listed
	}
	return reconcile(ctx, c, next, nil, current, next.Targets)
}

// Update moves a binding from prior (its state) to next (its plan; same
// policy and type). Unsure targets count as bound when next drops them
// (unbinding a target that is not bound is harmless) and as missing when
// next keeps them (so they are bound for sure). A binding that stays or
// becomes exclusive unbinds everything bound that next does not list; one
// becoming exclusive lists first to know it. A non-exclusive next leaves
// the targets found bound outside the binding alone.
func Update(ctx context.Context, c *iotda.Client, prior, next Binding) Result {
	prior, next = prior.normalized(), next.normalized()
	current := updateFrom(prior, next)
	if next.Exclusive && !prior.Exclusive {
		listed, err := listFirst(ctx, c, next)
		if err != nil {
			return Result{FirstListErr: err, PolicyGone: errors.Is(err, iotda.ErrNotFound)}
		}
		current = union(current, listed)
	}
	return reconcile(ctx, c, next, prior.claimed(), current, next.Targets)
}

// Delete unbinds what the binding owns. replacement, when not nil, is the
// binding a create is about to put in its place (it was tainted, or
// replaced on request): the targets it binds stay bound instead of being
// unbound and bound again, which would lift the policy (and its DENY
// statements) from them in between.
func Delete(ctx context.Context, c *iotda.Client, prior Binding, replacement *Binding) Result {
	prior = prior.normalized()
	current, keep := deleteFrom(prior, replacement)
	return reconcile(ctx, c, prior, prior.claimed(), current, keep)
}

// reconcile moves the targets bound to b's policy from current to want.
// claimed are the targets b claimed before (see Binding.claimed). After a
// failure it lists what the API really did; a non-exclusive binding then
// records only current and want, the targets it owns.
func reconcile(ctx context.Context, c *iotda.Client, b Binding, claimed, current, want []string) Result {
	res := c.ReconcileTargets(ctx, b.PolicyID, b.TargetType, current, want)
	out := Result{
		Targets: res.Bound, Added: res.Added, Removed: res.Removed, Failures: res.Failures,
		CallErr: res.Err, BindCalls: res.BindCalls, UnbindCalls: res.UnbindCalls,
	}
	if errors.Is(res.Err, iotda.ErrNotFound) {
		out.PolicyGone, out.Targets = true, nil
		return out
	}
	if !out.Failed() {
		return out
	}
	listed, err := listBound(ctx, c, b.PolicyID, b.TargetType)
	if err == nil {
		out.Targets = ownedAfter(b.Exclusive, listed, current, want)
	} else {
		// Record only what is bound for certain, and what may still be
		// bound after a failed unbind, so that it is unbound again.
		out.ListErr, out.Unsure = err, res.Unsure
		out.Targets = minus(res.Bound, res.Unsure)
	}
	if b.Exclusive {
		out.Outside = outsideAfter(out.Targets, want, claimed)
	}
	return out
}

// listFirst lists what is bound before an apply takes it over, or takes
// the listing its plan made a moment before (see Plan).
func listFirst(ctx context.Context, c *iotda.Client, b Binding) ([]string, error) {
	if ids, ok := recent.take(c, b.PolicyID, b.TargetType); ok {
		return ids, nil
	}
	return listBound(ctx, c, b.PolicyID, b.TargetType)
}

// listBound lists the ids of the targets of one type bound to a policy,
// sorted.
func listBound(ctx context.Context, c *iotda.Client, policyID, targetType string) ([]string, error) {
	targets, err := c.ListTargets(ctx, policyID, targetType)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(targets))
	for _, t := range targets {
		ids = append(ids, t.TargetID)
	}
	return sortedSet(ids), nil
}
