package iotda

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// createTimeLayout is the form of create_time, e.g. 20230810T070547Z.
const createTimeLayout = "20060102T150405Z"

// clockSkew is how far the API's create_time may lie before the client's
// clock at the start of a create and the policy still count as made by it.
const clockSkew = 10 * time.Minute

// CreateOutcome tells how CreatePolicyResolved came to its policy.
type CreateOutcome struct {
	// Found is true when the answer to the create was lost and a listing
	// found the policy: the only policy of that name (in that resource
	// space, or anywhere when no resource space was asked for), created
	// since the call started, with the statements asked for.
	Found bool
	// Resent counts the creates sent again after a listing proved that the
	// previous one had created nothing.
	Resent int
}

// CreateError is the failure of CreatePolicyResolved.
type CreateError struct {
	// Err is the error of the last create call.
	Err error
	// NotCreated is true when a listing after the last failure proved that
	// no policy of that name exists: nothing was created.
	NotCreated bool
	// Existing holds the policies of that name (in that resource space, or
	// anywhere when no resource space was asked for) the listing found
	// after a create whose outcome is unknown, or after one refused with
	// HTTP 400 (the name may be taken).
	Existing []PolicySummary
	// ListErr is the error of that listing, when it failed.
	ListErr error
	// InstancePolicies is how many policies the instance holds, counted
	// after a create refused with HTTP 400 when no policy holds the name
	// (0 otherwise, or when that listing failed): at
	// MaxPoliciesPerInstance, the refusal is the quota's (its error code is
	// not published).
	InstancePolicies int
}

func (e *CreateError) Error() string { return e.Err.Error() }

// Cause is the error of the last create call without the note that the API
// may have acted on it (ErrOutcomeUnknown), for a message that says what
// the listing after it showed instead.
func (e *CreateError) Cause() error {
	var unknown *outcomeUnknown
	if errors.As(e.Err, &unknown) {
		return unknown.err
	}
	return e.Err
}

func (e *CreateError) Unwrap() error { return e.Err }

// CreatePolicyResolved creates a policy and, when the answer is lost (the
// connection dropped or a 5xx came after the request was sent, so the API
// may have acted: ErrOutcomeUnknown), lists the policies of that name to
// learn what happened:
//   - none: the API created nothing, and the create is sent again, at most
//     Config.MaxRetries times in all, with the usual backoff;
//   - exactly one, created since the call started, with the statements
//     asked for: that is the policy, returned with CreateOutcome.Found;
//   - anything else: a *CreateError holding what exists.
//
// A create refused with HTTP 400 also lists the policies of that name, so
// that the *CreateError can name a policy that already holds the name, and
// when none does, every policy, to count them (the quota).
func (c *Client) CreatePolicyResolved(ctx context.Context, req CreatePolicyRequest) (*Policy, CreateOutcome, error) {
	var outcome CreateOutcome
	start := time.Now()
	for attempt := 0; ; attempt++ {
		policy, err := c.CreatePolicy(ctx, req)
		if err == nil {
			return policy, outcome, nil
		}
		var apiErr *APIError
		lost := errors.Is(err, ErrOutcomeUnknown)
		refused := errors.As(err, &apiErr) && apiErr.StatusCode == 400
		if !lost && !refused {
			return nil, outcome, err
		}
		existing, listErr := c.policiesNamed(ctx, req.AppID, req.PolicyName)
		failure := &CreateError{Err: err, Existing: existing, ListErr: listErr}
		if listErr != nil {
			return nil, outcome, failure
		}
		if !lost {
			if len(existing) == 0 {
				// Not the name: perhaps the quota. A listing without a
				// resource space counts the whole instance.
				if all, err := c.ListPolicies(ctx, ListPoliciesFilter{}); err == nil {
					failure.InstancePolicies = len(all)
				}
			}
			return nil, outcome, failure
		}
		if len(existing) == 0 {
			failure.NotCreated = true
			if attempt >= c.http.RetryMax {
				return nil, outcome, failure
			}
			if err := sleep(ctx, c.backoff(c.http.RetryWaitMin, c.http.RetryWaitMax, attempt, nil)); err != nil {
				return nil, outcome, failure
			}
			outcome.Resent++
			continue
		}
		if len(existing) == 1 && createdSince(existing[0], start) {
			found, err := c.GetPolicy(ctx, existing[0].PolicyID)
			if err == nil && sameStatements(found.Statement, req.Statement) {
				c.writes.wrote(found.PolicyID)
				outcome.Found = true
				return found, outcome, nil
			}
		}
		return nil, outcome, failure
	}
}

// policiesNamed lists the policies named name in the resource space appID,
// or in every resource space when appID is empty (the default resource
// space, whose id the client does not know). The listing is filtered on
// the server by both, as the API documents them.
func (c *Client) policiesNamed(ctx context.Context, appID, name string) ([]PolicySummary, error) {
	all, err := c.ListPolicies(ctx, ListPoliciesFilter{AppID: appID, PolicyName: name})
	if err != nil {
		return nil, err
	}
	// Checking again keeps a server that ignores a filter (or matches names
	// loosely) from widening the match.
	var out []PolicySummary
	for _, p := range all {
		if p.PolicyName == name && (appID == "" || p.AppID == appID) {
			out = append(out, p)
		}
	}
	return out, nil
}

// createdSince reports whether the policy was created after start, give or
// take clockSkew. An unreadable create_time is not proof.
func createdSince(p PolicySummary, start time.Time) bool {
	at, err := time.Parse(createTimeLayout, p.CreateTime)
	return err == nil && !at.Before(start.Add(-clockSkew))
}

// sameStatements reports whether a and b hold the same statements, in any
// order, each with the same effect, actions and resources in any order.
func sameStatements(a, b []Statement) bool {
	if len(a) != len(b) {
		return false
	}
	keys := func(stmts []Statement) []string {
		out := make([]string, len(stmts))
		for i, s := range stmts {
			out[i] = StatementKey(s)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(keys(a), keys(b))
}

// StatementKey identifies a statement whatever the order of its actions and
// resources.
func StatementKey(s Statement) string {
	actions, resources := slices.Sorted(slices.Values(s.Actions)), slices.Sorted(slices.Values(s.Resources))
	return s.Effect + "\x00" + strings.Join(actions, "\x01") + "\x00" + strings.Join(resources, "\x01")
}

// sleep waits for d, or until ctx is done and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
