package provider

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// Call budgets: the providers a target serves count their own API calls,
// each attempt as the API receives it, so that a budget holds on an
// instance as on the mock. Calls the test makes out of band are not
// counted.

// callCounter counts calls by operation (the API's operation names).
type callCounter struct {
	mu sync.Mutex
	n  map[mock.Operation]int
}

// count makes the client built from cfg count its calls: the one place
// where the tests hook the client.
func (c *callCounter) count(cfg *iotda.Config) {
	next := cfg.Transport
	if next == nil {
		pooled := cleanhttp.DefaultPooledTransport()
		if cfg.Insecure {
			pooled.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the configuration asked for it.
		}
		next = pooled
	}
	cfg.Transport = countingTransport{c: c, next: next}
}

type countingTransport struct {
	c    *callCounter
	next http.RoundTripper
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.c.add(operationOf(r.Method, r.URL.Path))
	return t.next.RoundTrip(r)
}

// operationOf names the operation of a request by the API's paths:
// /v5/iot/{project_id}/device-policies[/{policy_id}[/bind|unbind|list-targets]].
func operationOf(method, path string) mock.Operation {
	_, rest, found := strings.Cut(path, "/device-policies")
	if !found {
		return mock.Operation(method + " " + path)
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "" || rest == "/":
		return map[string]mock.Operation{http.MethodGet: mock.OpList, http.MethodPost: mock.OpCreate}[method]
	case len(seg) == 1:
		return map[string]mock.Operation{http.MethodGet: mock.OpShow, http.MethodPut: mock.OpUpdate, http.MethodDelete: mock.OpDelete}[method]
	case len(seg) == 2:
		return map[string]mock.Operation{"bind": mock.OpBind, "unbind": mock.OpUnbind, "list-targets": mock.OpListTargets}[seg[1]]
	}
	return mock.Operation(method + " " + path)
}

func (c *callCounter) add(op mock.Operation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[mock.Operation]int{}
	}
	c.n[op]++
}

// callsTo counts the calls of op since the last reset.
func (a *accTarget) callsTo(op mock.Operation) int {
	a.calls.mu.Lock()
	defer a.calls.mu.Unlock()
	return a.calls.n[op]
}

// totalCalls counts every call since the last reset.
func (a *accTarget) totalCalls() int {
	a.calls.mu.Lock()
	defer a.calls.mu.Unlock()
	total := 0
	for _, n := range a.calls.n {
		total += n
	}
	return total
}

// resetCalls sets the counters back to zero, before a step.
func (a *accTarget) resetCalls() {
	a.calls.mu.Lock()
	defer a.calls.mu.Unlock()
	clear(a.calls.n)
}

// expectOpCalls checks the counters of the given operations.
func (a *accTarget) expectOpCalls(want map[mock.Operation]int) resource.TestCheckFunc {
	return func(*terraform.State) error { return a.checkCalls(want) }
}

func (a *accTarget) checkCalls(want map[mock.Operation]int) error {
	for op, n := range want {
		if got := a.callsTo(op); got != n {
			return fmt.Errorf("%d %s calls, want %d", got, op, n)
		}
	}
	return nil
}

// expectCalls checks the bind and unbind counters.
func (a *accTarget) expectCalls(bind, unbind int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if b, u := a.callsTo(mock.OpBind), a.callsTo(mock.OpUnbind); b != bind || u != unbind {
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
