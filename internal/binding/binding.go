// Package binding keeps the targets of one type bound to one device policy
// in line with what a configuration wants. It decides which targets a
// binding owns, lists what is bound, reconciles with the fewest bind and
// unbind calls, and returns what happened as data: what is bound after,
// what may be bound, the targets the API refused, whether the policy is
// gone, and which listing failed. It knows nothing of Terraform; the
// iotda_device_policy_binding resource maps its plan, state and private
// state to a Binding and renders diagnostics from the results.
//
// # Ownership
//
// A binding claims the targets its state records, less those a refresh
// found bound outside it (Outside), plus those a failed bind call may have
// bound (Unsure). An exclusive binding owns every target of its type bound
// to the policy: a refresh records them all, the targets it did not claim
// become Outside, and an apply unbinds whatever the configuration does not
// list. A non-exclusive binding owns only what it claims: it records,
// binds and unbinds nothing else. A destroy keeps bound the targets that
// the create replacing it binds.
//
// # Cost
//
// A reconciliation makes ceil(removed/20) unbind calls, then ceil(added/20)
// bind calls, the client's batch parallelism at a time (see
// iotda.Client.ReconcileTargets), and lists the targets once more only after
// a failure, to record what the API really did. Creating an exclusive
// binding lists once; the listing its plan made a moment before is reused
// (see Plan and Create).
package binding

import (
	"errors"
	"slices"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Binding is one binding: the targets of one type bound to one policy as
// a state records them, or as a configuration wants them.
type Binding struct {
	PolicyID   string
	TargetType string
	// Exclusive is true when the binding owns every target of its type
	// bound to the policy, false when it owns only those it claims.
	Exclusive bool
	// Targets are the target ids the state records as bound, or the ones a
	// configuration wants.
	Targets []string
	// Unsure are targets of bind calls that failed as a whole when the
	// listing that would tell failed too: the API may or may not have bound
	// them. They are not in Targets.
	Unsure []string
	// Outside are the Targets of an exclusive binding that a refresh found
	// bound and that the binding did not bind: by hand, or by another
	// binding of the same policy and type. The next apply unbinds those the
	// configuration does not list.
	Outside []string
}

// normalized returns b with every list sorted and without duplicates, so
// that the set operations below can search them.
func (b Binding) normalized() Binding {
	b.Targets, b.Unsure, b.Outside = sortedSet(b.Targets), sortedSet(b.Unsure), sortedSet(b.Outside)
	return b
}

// Result is what a Create, Update or Delete did.
type Result struct {
	// Targets are the targets the binding owns afterwards. After any
	// failure they come from a listing, not from the answers; none when the
	// policy is gone. When that listing failed too (ListErr), they are the
	// targets bound for certain and those whose unbinding may have failed.
	Targets []string
	// Unsure are the targets of bind calls that failed as a whole when the
	// listing after them failed too. They are not in Targets, so the next
	// plan binds them again.
	Unsure []string
	// Outside are the Targets of an exclusive binding bound outside it
	// that are still bound: unbinding them failed, or they were bound
	// while the apply ran.
	Outside []string
	// Added and Removed are the difference the apply set out to make.
	Added, Removed []string
	// Failures are the targets the API refused one by one.
	Failures []iotda.TargetFailure
	// PolicyGone is true when the policy does not exist: nothing is bound.
	PolicyGone bool
	// FirstListErr is the error of the listing an apply needed before any
	// call (creating an exclusive binding, or switching to exclusive): no
	// call was made.
	FirstListErr error
	// CallErr joins the errors of the calls that failed as a whole.
	CallErr error
	// ListErr is the error of the listing after a failure, which would
	// have told what the calls did.
	ListErr error
	// BindCalls and UnbindCalls count the calls made.
	BindCalls, UnbindCalls int
}

// Failed reports whether the apply fell short: a listing it needed first,
// a call, or a target failed.
func (r Result) Failed() bool {
	return r.FirstListErr != nil || r.CallErr != nil || len(r.Failures) > 0
}

// Err is the error that stopped the apply short of any target: the first
// listing's, else the calls'.
func (r Result) Err() error {
	return errors.Join(r.FirstListErr, r.CallErr)
}

// sortedSet returns ids sorted and without duplicates, in a new slice.
func sortedSet(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// union returns the sorted union of two sorted sets.
func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	return sortedSet(slices.Concat(a, b))
}

// minus returns the ids of a not in the sorted set b, in the order of a.
func minus(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	var out []string
	for _, id := range a {
		if _, found := slices.BinarySearch(b, id); !found {
			out = append(out, id)
		}
	}
	return out
}

// intersect returns the ids of a in the sorted set b, in the order of a.
func intersect(a, b []string) []string {
	var out []string
	for _, id := range a {
		if _, found := slices.BinarySearch(b, id); found {
			out = append(out, id)
		}
	}
	return out
}
