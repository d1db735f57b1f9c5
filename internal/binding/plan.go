package binding

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Takeover says why an apply unbinds targets bound outside a binding.
type Takeover int

// The reasons for a takeover.
const (
	// NoTakeover: the apply unbinds no target bound outside the binding.
	NoTakeover Takeover = iota
	// TakeoverCreate: an exclusive binding is created over targets bound
	// before it.
	TakeoverCreate
	// TakeoverSwitch: a binding becomes exclusive.
	TakeoverSwitch
	// TakeoverOutside: a refresh of an exclusive binding found targets
	// bound outside it since its last apply (by hand, or by another
	// binding of the same policy and type, which then fights this one).
	TakeoverOutside
)

// Planned is what applying a plan will do that the plan alone does not
// show.
type Planned struct {
	// Unbinds are the targets bound outside the binding that the apply
	// unbinds, sorted: those the configuration does not list, or, while
	// its targets are unknown, every one found.
	Unbinds []string
	// Takeover says where Unbinds come from; NoTakeover when it is empty.
	Takeover Takeover
	// Leaving are Unsure targets the configuration no longer lists. The
	// state does not hold them, yet the apply unbinds them.
	Leaving []string
	// PolicyGone is true when the policy does not exist: a create will
	// fail.
	PolicyGone bool
	// ListErr is the error of the listing that would tell what a create or
	// a switch to exclusive unbinds.
	ListErr error
}

// Plan tells what applying next over prior (nil for a create; same policy
// and type otherwise) will do beyond what the plan shows. known is false
// while next's targets are known only after the apply. It lists the
// targets when an exclusive binding is created or a binding becomes
// exclusive, and keeps that listing a few seconds for the Create or Update
// that follows (Terraform plans a resource again just before it applies
// it, so the apply would otherwise list twice in a row). It reads the
// policy when a non-exclusive binding is created, and calls nothing
// otherwise: what a refresh found bound outside an exclusive binding is in
// prior.Outside already.
func Plan(ctx context.Context, c *iotda.Client, prior *Binding, next Binding, known bool) Planned {
	next = next.normalized()
	var p Planned
	if prior == nil && !next.Exclusive {
		if _, err := c.GetPolicy(ctx, next.PolicyID); errors.Is(err, iotda.ErrNotFound) {
			p.PolicyGone = true
		}
		return p
	}
	if prior == nil || !prior.Exclusive && next.Exclusive {
		why := TakeoverCreate
		if prior != nil {
			why = TakeoverSwitch
			p.Leaving = leaving(prior.normalized(), next, known)
		}
		listed, err := listBound(ctx, c, next.PolicyID, next.TargetType)
		switch {
		case errors.Is(err, iotda.ErrNotFound):
			p.PolicyGone = true
		case err != nil:
			p.ListErr = err
		default:
			recent.put(c, next.PolicyID, next.TargetType, listed, len(next.Targets))
			p.setUnbinds(why, listed, next, known)
		}
		return p
	}
	pr := prior.normalized()
	p.Leaving = leaving(pr, next, known)
	if next.Exclusive {
		p.setUnbinds(TakeoverOutside, pr.Outside, next, known)
	}
	return p
}

// leaving are the Unsure targets of prior that next does not list.
func leaving(prior, next Binding, known bool) []string {
	if !known {
		return nil
	}
	return minus(prior.Unsure, next.Targets)
}

// setUnbinds records the targets of found that next does not list, or all
// of them while next's targets are unknown.
func (p *Planned) setUnbinds(why Takeover, found []string, next Binding, known bool) {
	if known {
		found = minus(found, next.Targets)
	}
	if len(found) > 0 {
		p.Unbinds, p.Takeover = found, why
	}
}

// recent keeps, for a few seconds, the listing that planning a create or a
// switch to exclusive made, for the apply that follows. Each listing is
// used once.
var recent = listingCache{entries: map[listingKey]listing{}}

// recentListingAge is how old a kept listing may be when an apply uses it:
// long enough for the step from planning a resource to applying it, short
// enough that it never stands for a listing made before a user approved a
// plan. The CLI takes that step in a time that grows with the targets the
// plan carries and the listing found (seconds at 100,000 targets), so each
// recentListingPerSecond of them add a second. (An apply plans each
// resource again just before it applies it, and that plan lists again, so
// a longer age never serves a listing from before an approval.)
const (
	recentListingAge       = 5 * time.Second
	recentListingPerSecond = 2000
)

type listingKey struct {
	client               *iotda.Client
	policyID, targetType string
}

type listing struct {
	ids     []string
	at      time.Time
	planned int // targets of the plan that made the listing
}

// expired reports whether the listing is too old for an apply to use at
// now.
func (l listing) expired(now time.Time) bool {
	age := recentListingAge + time.Duration((l.planned+len(l.ids))/recentListingPerSecond)*time.Second
	return now.Sub(l.at) > age
}

type listingCache struct {
	mu      sync.Mutex
	entries map[listingKey]listing
}

// put keeps the listing ids that the plan of a binding with planned
// targets made.
func (c *listingCache) put(client *iotda.Client, policyID, targetType string, ids []string, planned int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for k, l := range c.entries {
		if l.expired(now) {
			delete(c.entries, k)
		}
	}
	c.entries[listingKey{client, policyID, targetType}] = listing{ids: slices.Clone(ids), at: now, planned: planned}
}

// take returns the kept listing and forgets it; false when there is none
// recent enough.
func (c *listingCache) take(client *iotda.Client, policyID, targetType string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := listingKey{client, policyID, targetType}
	l, ok := c.entries[k]
	delete(c.entries, k)
	if !ok || l.expired(time.Now()) {
		return nil, false
	}
	return l.ids, true
}
