package mock

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// testClock is a clock a test moves forward; it starts at the real time so
// that signatures stay within the allowed skew.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lagged is what the API shows of one policy: whether show finds it, its
// name there, whether the list holds it, and the targets listed.
type lagged struct {
	shown   bool
	name    string
	listed  bool
	targets []string
}

func (c *apiClient) observe(policyID string) lagged {
	c.t.Helper()
	var out lagged
	r := c.do(http.MethodGet, "/device-policies/"+policyID, nil)
	switch r.status {
	case http.StatusOK:
		out.shown = true
		out.name = decodeAs[Policy](c.t, r, http.StatusOK).PolicyName
	case http.StatusNotFound:
		wantError(c.t, r, http.StatusNotFound, codePolicyNotFound)
	default:
		c.t.Fatalf("show = %d %s", r.status, r.body)
	}
	for _, p := range decodeAs[ListPoliciesResponse](c.t, c.do(http.MethodGet, "/device-policies?limit=50", nil), http.StatusOK).Policies {
		out.listed = out.listed || p.PolicyID == policyID
	}
	r = c.do(http.MethodPost, "/device-policies/"+policyID+"/list-targets", nil)
	if r.status == http.StatusOK {
		for _, t := range decodeAs[ListTargetsResponse](c.t, r, http.StatusOK).Targets {
			out.targets = append(out.targets, t.TargetID)
		}
	} else {
		wantError(c.t, r, http.StatusNotFound, codePolicyNotFound)
	}
	return out
}

func wantLagged(t *testing.T, when string, got, want lagged) {
	t.Helper()
	if got.shown != want.shown || got.name != want.name || got.listed != want.listed || len(got.targets) != len(want.targets) {
		t.Fatalf("%s: the API shows %+v, want %+v", when, got, want)
	}
	for i := range want.targets {
		if got.targets[i] != want.targets[i] {
			t.Fatalf("%s: the API shows %+v, want %+v", when, got, want)
		}
	}
}

// TestReadLag follows one policy through its life under a read lag: each
// write is answered at once and acts on the current state, and show, list
// and list-targets show it only once the lag has passed.
func TestReadLag(t *testing.T) {
	const lag = 5 * time.Second
	clock := newTestClock()
	ts := NewTestServer(t, Config{ReadLag: lag, Now: clock.Now})
	c := newClient(t, ts)

	p := c.mustCreate("lagging")
	wantLagged(t, "right after create", c.observe(p.PolicyID), lagged{})
	if _, ok := ts.Policy("", p.PolicyID); !ok {
		t.Fatal("the out-of-band helper does not see the policy just created")
	}
	// Writes act on the current state: the policy exists for them.
	decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "d-1")), http.StatusOK)
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("lagging")), http.StatusBadRequest, codeDuplicateName)
	clock.advance(lag - time.Second)
	wantLagged(t, "just before the lag", c.observe(p.PolicyID), lagged{})
	clock.advance(time.Second)
	wantLagged(t, "once the lag has passed", c.observe(p.PolicyID), lagged{shown: true, name: "lagging", listed: true, targets: []string{"d-1"}})

	decodeAs[Policy](t, c.do(http.MethodPut, "/device-policies/"+p.PolicyID, UpdatePolicyRequest{PolicyName: "renamed"}), http.StatusOK)
	clock.advance(time.Second)
	decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "d-2")), http.StatusOK)
	decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/unbind", bindBody("device", "d-1")), http.StatusOK)
	wantLagged(t, "after an update, a bind and an unbind", c.observe(p.PolicyID), lagged{shown: true, name: "lagging", listed: true, targets: []string{"d-1"}})
	clock.advance(lag - time.Second)
	wantLagged(t, "once the update's lag has passed", c.observe(p.PolicyID), lagged{shown: true, name: "renamed", listed: true, targets: []string{"d-1"}})
	clock.advance(time.Second)
	wantLagged(t, "once every lag has passed", c.observe(p.PolicyID), lagged{shown: true, name: "renamed", listed: true, targets: []string{"d-2"}})

	if r := c.do(http.MethodDelete, "/device-policies/"+p.PolicyID, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	// Writes see it gone at once.
	wantError(t, c.do(http.MethodPut, "/device-policies/"+p.PolicyID, UpdatePolicyRequest{PolicyName: "again"}), http.StatusNotFound, codePolicyNotFound)
	wantLagged(t, "right after delete", c.observe(p.PolicyID), lagged{shown: true, name: "renamed", listed: true, targets: []string{"d-2"}})
	clock.advance(lag)
	wantLagged(t, "once the delete's lag has passed", c.observe(p.PolicyID), lagged{})

	// The history holds the changes of the last lag only.
	mustCreate(t, ts.Server, "", "later")
	ts.stMu.RLock()
	kept := len(ts.history[""])
	ts.stMu.RUnlock()
	if kept != 1 {
		t.Errorf("%d past states kept once every earlier change is older than the lag, want 1", kept)
	}
}

// TestReadLagPerInstance checks that the lag of one instance's changes does
// not hide another's state, and that without ReadLag reads see every write
// at once.
func TestReadLagPerInstance(t *testing.T) {
	clock := newTestClock()
	ts := NewTestServer(t, Config{ReadLag: time.Minute, Now: clock.Now})
	old := mustCreate(t, ts.Server, "inst-a", "old")
	clock.advance(time.Minute)
	mustCreate(t, ts.Server, "inst-b", "new")
	c := newClient(t, ts)
	c.instance = "inst-a"
	wantLagged(t, "instance a", c.observe(old.PolicyID), lagged{shown: true, name: "old", listed: true})

	plain := NewTestServer(t, Config{})
	pc := newClient(t, plain)
	p := pc.mustCreate("at-once")
	wantLagged(t, "without a lag", pc.observe(p.PolicyID), lagged{shown: true, name: "at-once", listed: true})
}
