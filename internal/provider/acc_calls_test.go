package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Call budgets: the providers a target serves count their own API calls,
// each attempt as the API receives it, so that a budget holds on an
// instance as on the mock. Calls the test makes out of band are not
// counted.

// countCalls makes the client built from cfg count its calls in a's
// counter: the one place where the tests hook the client.
func (a *accTarget) countCalls(cfg *iotda.Config) {
	cfg.CallCounter = &a.calls
}

// callsTo counts the calls of op since the last reset.
func (a *accTarget) callsTo(op iotda.Operation) int { return a.calls.Calls(op) }

// totalCalls counts every call since the last reset.
func (a *accTarget) totalCalls() int { return a.calls.Total() }

// resetCalls sets the counters back to zero, before a step.
func (a *accTarget) resetCalls() { a.calls.Reset() }

// expectOpCalls checks the counters of the given operations.
func (a *accTarget) expectOpCalls(want map[iotda.Operation]int) resource.TestCheckFunc {
	return func(*terraform.State) error { return a.checkCalls(want) }
}

func (a *accTarget) checkCalls(want map[iotda.Operation]int) error {
	for op, n := range want {
		if got := a.callsTo(op); got != n {
			return fmt.Errorf("%d %s calls, want %d", got, op, n)
		}
	}
	return nil
}

// callsSoFar is a plan check of the counters of the given operations: the
// calls the step made up to that plan (PreApply: its refresh and plan).
type callsSoFar struct {
	a    *accTarget
	want map[iotda.Operation]int
}

func (c callsSoFar) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = c.a.checkCalls(c.want)
}

// expectPlanCalls checks the counters of the given operations at a plan.
func (a *accTarget) expectPlanCalls(want map[iotda.Operation]int) plancheck.PlanCheck {
	return callsSoFar{a: a, want: want}
}

// expectCalls checks the bind and unbind counters.
func (a *accTarget) expectCalls(bind, unbind int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if b, u := a.callsTo(iotda.OpBind), a.callsTo(iotda.OpUnbind); b != bind || u != unbind {
			return fmt.Errorf("%d bind and %d unbind calls, want %d and %d", b, u, bind, unbind)
		}
		return nil
	}
}

// expectNoCalls fails the test when anything reached the API.
func (a *accTarget) expectNoCalls(t *testing.T) {
	t.Helper()
	if calls := a.totalCalls(); calls != 0 {
		t.Errorf("invalid configurations reached the API %d times", calls)
	}
}

// testPlanErrors checks that every case fails at plan time without an API
// call.
func (a *accTarget) testPlanErrors(cases []planErrorCase) {
	a.t.Helper()
	resource.UnitTest(a.t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps:                    planErrorSteps(cases),
	})
	a.expectNoCalls(a.t)
}
