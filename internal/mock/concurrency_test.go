package mock

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// workerTB lets the test helpers run in a goroutine of their own: Fatal
// reports the failure and ends that goroutine, whose caller waits for it.
type workerTB struct{ testing.TB }

func (w workerTB) Fatal(args ...any) {
	w.Helper()
	w.Error(args...)
	runtime.Goexit()
}

func (w workerTB) Fatalf(format string, args ...any) {
	w.Helper()
	w.Errorf(format, args...)
	runtime.Goexit()
}

// TestConcurrentClients runs many clients at once (meant for -race): the
// quota and the per-target limit must hold, and every call must count.
func TestConcurrentClients(t *testing.T) {
	const (
		workers   = 12
		perWorker = 5 // 60 creates for a quota of 50
	)
	ts := NewTestServer(t, Config{})
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		created        []string
		quotaFailures  int
		sharedBound    int
		sharedRejected int
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wt := workerTB{t}
			c := newClient(wt, ts)
			for i := range perWorker {
				r := c.do(http.MethodPost, "/device-policies", createRequest(fmt.Sprintf("w%d-%d", w, i)))
				if r.status == http.StatusBadRequest {
					mu.Lock()
					quotaFailures++
					mu.Unlock()
					continue
				}
				if r.status != http.StatusCreated {
					t.Errorf("create = %d %s", r.status, r.body)
					return
				}
				p := decodeAs[Policy](wt, r, http.StatusCreated)
				res := decodeAs[BindResult](wt, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind",
					bindBody("device", fmt.Sprintf("own-%d-%d", w, i), "shared")), http.StatusOK)
				c.do(http.MethodGet, "/device-policies?limit=50", nil)
				c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", nil)
				mu.Lock()
				created = append(created, p.PolicyID)
				if slices.Contains(res.SuccessTargets, "shared") {
					sharedBound++
				} else {
					sharedRejected++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(created) != maxPoliciesPerInstance || quotaFailures != workers*perWorker-maxPoliciesPerInstance {
		t.Errorf("%d created, %d over the quota", len(created), quotaFailures)
	}
	if sharedBound != maxPoliciesPerTarget || sharedRejected != len(created)-maxPoliciesPerTarget {
		t.Errorf("shared target bound %d times, rejected %d times", sharedBound, sharedRejected)
	}
	slices.Sort(created)
	if len(slices.Compact(created)) != len(created) {
		t.Error("two policies got the same id")
	}
	if got, want := ts.TotalCalls(), workers*perWorker+3*len(created); got != want {
		t.Errorf("TotalCalls = %d, want %d", got, want)
	}
}

// TestConcurrentHelpers mixes out-of-band helpers, fault injection and
// counters with API calls.
func TestConcurrentHelpers(t *testing.T) {
	ts := NewTestServer(t, Config{})
	p := mustCreate(t, ts.Server, "", "p")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(workerTB{t}, ts)
			for i := range 10 {
				id := fmt.Sprintf("d%d-%d", w, i)
				switch i % 4 {
				case 0:
					if _, err := ts.Bind("", p.PolicyID, "device", id); err != nil {
						t.Error(err)
					}
				case 1:
					c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", id))
				case 2:
					ts.InjectFault(OpShow, Fault{Status: http.StatusServiceUnavailable})
					c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil)
				case 3:
					ts.Targets("", p.PolicyID, "device")
					ts.Policies("")
					ts.Calls(OpBind)
					ts.SetLatency(0)
				}
			}
		}()
	}
	wg.Wait()
	if got := len(ts.Targets("", p.PolicyID, "device")); got != 8*6 {
		t.Errorf("%d targets, want 48", got)
	}
}

// TestCloseDuringChanges closes a mock with a state file while writers
// change its state: each change is either acknowledged, and then found
// after a restart, or refused because the mock is closed.
func TestCloseDuringChanges(t *testing.T) {
	s, path := stateServer(t)
	p := mustCreate(t, s, "", "p")
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.Bind("", p.PolicyID, "device", id); err != nil {
					if !isCode(err, codeInternal) || !strings.Contains(err.Error(), "closed") {
						t.Errorf("bind %s: %v, want acknowledged or refused as closed", id, err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); count() < 8 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	slices.Sort(acked)
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, acked) {
		t.Errorf("after Close and a restart: %d targets, want the %d acknowledged", len(got), len(acked))
	}
}
