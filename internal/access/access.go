// Package access decides whether the device policies bound on a live IoTDA
// instance let a device publish or subscribe to a topic: it lists the
// policies, lists each one's targets, reads those that reach the device,
// pools their statements and judges them with policyeval. It knows nothing
// of Terraform; the iotda_device_access data source maps its Result.
//
// # Cost
//
// With P policies of at most 50 targets each, R of which reach the device,
// and k the client's batch parallelism, one Evaluate makes 1 + P + R calls
// (one ListDevicePolicies, one ShowTargetsInDevicePolicy per policy and per
// further 50 of its targets, one ShowDevicePolicy per reaching policy) in
// 1 + ceil(P/k) + ceil(R/k) sequential round trips: the target listings run
// k at a time, then the reads k at a time. An instance holds at most 50
// policies, so at most 101 calls.
package access

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// Query is the device, the action and the topic to judge. An empty
// ProductID, AppID or ClientID means "not given": bindings to products or
// resource spaces then do not count, and patterns using the variable never
// match.
type Query struct {
	DeviceID  string
	ProductID string
	AppID     string
	ClientID  string
	// Action is publish or subscribe, in any form policyeval.NormalizeAction
	// accepts.
	Action string
	Topic  string
}

// Policy is a policy that reaches the device.
type Policy struct {
	PolicyID   string
	PolicyName string
	// BoundVia is how the policy reaches the device: iotda.TargetTypeDevice,
	// TargetTypeProduct or TargetTypeApp, the first that applies.
	BoundVia  string
	Statement []iotda.Statement
}

// Match is a statement that matched: the index of the statement within
// its policy's statement list.
type Match struct {
	PolicyID       string
	StatementIndex int
}

// Result is the outcome of Evaluate.
type Result struct {
	// Policies are the policies that reach the device, in the order of the
	// listing (newest first). A policy deleted while Evaluate ran is left
	// out.
	Policies []Policy
	// Allowed and Decision are policyeval's verdict on the pooled
	// statements of Policies.
	Allowed  bool
	Decision policyeval.Decision
	// Matched lists the statements whose actions contain the action and one
	// of whose resources matches the topic, ALLOW and DENY alike, in the
	// order of Policies.
	Matched []Match
	// Listed is how many policies the instance holds.
	Listed int
}

// Step names the step of Evaluate that failed.
type Step int

// The steps of Evaluate.
const (
	StepListPolicies Step = iota + 1
	StepListTargets
	StepReadPolicy
	StepEvaluate
)

// Error is a failure of one step of Evaluate, for one policy when the step
// is StepListTargets or StepReadPolicy.
type Error struct {
	Step       Step
	PolicyID   string
	PolicyName string
	Err        error
}

func (e *Error) Error() string {
	switch e.Step {
	case StepListPolicies:
		return fmt.Sprintf("listing the device policies: %s", e.Err)
	case StepListTargets:
		return fmt.Sprintf("listing the targets of device policy %s (%q): %s", e.PolicyID, e.PolicyName, e.Err)
	case StepReadPolicy:
		return fmt.Sprintf("reading device policy %s: %s", e.PolicyID, e.Err)
	}
	return fmt.Sprintf("judging the statements: %s", e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Evaluate judges q against the policies bound on the instance the client
// calls, running the per-policy calls client.BatchParallelism() at a time.
// The first failure (other than a policy deleted meanwhile) stops it and
// comes back as an *Error.
func Evaluate(ctx context.Context, client *iotda.Client, q Query) (*Result, error) {
	summaries, err := client.ListPolicies(ctx, iotda.ListPoliciesFilter{})
	if err != nil {
		return nil, &Error{Step: StepListPolicies, Err: err}
	}
	parallelism := client.BatchParallelism()

	via := make([]string, len(summaries))
	err = forEach(ctx, len(summaries), parallelism, func(ctx context.Context, i int) error {
		targets, err := client.ListTargets(ctx, summaries[i].PolicyID, "")
		switch {
		case errors.Is(err, iotda.ErrNotFound):
			return nil // deleted meanwhile: it reaches nobody
		case err != nil:
			return &Error{Step: StepListTargets, PolicyID: summaries[i].PolicyID, PolicyName: summaries[i].PolicyName, Err: err}
		}
		via[i] = BoundVia(targets, q.DeviceID, q.ProductID, q.AppID)
		return nil
	})
	if err != nil {
		return nil, err
	}

	var reaching []Policy
	for i, s := range summaries {
		if via[i] != "" {
			reaching = append(reaching, Policy{PolicyID: s.PolicyID, PolicyName: s.PolicyName, BoundVia: via[i]})
		}
	}
	found := make([]bool, len(reaching))
	err = forEach(ctx, len(reaching), parallelism, func(ctx context.Context, i int) error {
		policy, err := client.GetPolicy(ctx, reaching[i].PolicyID)
		switch {
		case errors.Is(err, iotda.ErrNotFound):
			return nil
		case err != nil:
			return &Error{Step: StepReadPolicy, PolicyID: reaching[i].PolicyID, PolicyName: reaching[i].PolicyName, Err: err}
		}
		reaching[i].PolicyName, reaching[i].Statement, found[i] = policy.PolicyName, policy.Statement, true
		return nil
	})
	if err != nil {
		return nil, err
	}

	res := &Result{Listed: len(summaries), Policies: make([]Policy, 0, len(reaching))}
	// The statements of every reaching policy are pooled; origin maps a
	// pooled index back to its policy and index there.
	var pool []policyeval.Statement
	var origin []Match
	for i, p := range reaching {
		if !found[i] {
			continue
		}
		res.Policies = append(res.Policies, p)
		for j, s := range p.Statement {
			pool = append(pool, policyeval.Statement{Effect: s.Effect, Actions: s.Actions, Resources: s.Resources})
			origin = append(origin, Match{PolicyID: p.PolicyID, StatementIndex: j})
		}
	}
	verdict, err := policyeval.Evaluate(pool, q.Action, q.Topic, policyeval.Identity{DeviceID: q.DeviceID, ProductID: q.ProductID, ClientID: q.ClientID})
	if err != nil {
		return nil, &Error{Step: StepEvaluate, Err: err}
	}
	res.Allowed, res.Decision = verdict.Allowed, verdict.Decision
	for _, i := range verdict.Matched {
		res.Matched = append(res.Matched, origin[i])
	}
	return res, nil
}

// BoundVia tells how targets reach the device: iotda.TargetTypeDevice,
// TargetTypeProduct or TargetTypeApp, the first that applies, or "" when
// none does. An empty productID or appID matches nothing.
func BoundVia(targets []iotda.Target, deviceID, productID, appID string) string {
	var device, product, app bool
	for _, t := range targets {
		switch t.TargetType {
		case iotda.TargetTypeDevice:
			device = device || t.TargetID == deviceID
		case iotda.TargetTypeProduct:
			product = product || (productID != "" && t.TargetID == productID)
		case iotda.TargetTypeApp:
			app = app || (appID != "" && t.TargetID == appID)
		}
	}
	switch {
	case device:
		return iotda.TargetTypeDevice
	case product:
		return iotda.TargetTypeProduct
	case app:
		return iotda.TargetTypeApp
	}
	return ""
}

// forEach calls fn for 0..n-1, at most parallelism at once, in index order
// of starting. After the first error no further call starts, the context
// of those running is cancelled, and that error is returned.
func forEach(ctx context.Context, n, parallelism int, fn func(context.Context, int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallelism, 1))
	for i := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			// g.Go waits for a slot after the check above: a call that
			// got one after the first error (or the caller's cancel)
			// does not start. Its error only counts when it is the first.
			if err := gctx.Err(); err != nil {
				return err
			}
			return fn(gctx, i)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
