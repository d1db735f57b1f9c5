package iotda_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// inFlight is a transport that counts the requests under way at once.
type inFlight struct {
	next      http.RoundTripper
	now, peak atomic.Int64
	before    func(n int64) // called before the n-th request (from 1) is sent
	sent      atomic.Int64
}

func (f *inFlight) RoundTrip(req *http.Request) (*http.Response, error) {
	n := f.sent.Add(1)
	if f.before != nil {
		f.before(n)
	}
	cur := f.now.Add(1)
	defer f.now.Add(-1)
	for {
		p := f.peak.Load()
		if cur <= p || f.peak.CompareAndSwap(p, cur) {
			break
		}
	}
	return f.next.RoundTrip(req)
}

func bindMany(t *testing.T, srv *mock.TestServer, policyID string, ids []string) {
	t.Helper()
	for chunk := range slices.Chunk(ids, iotda.MaxTargetsPerCall) {
		if _, err := srv.Bind("", policyID, iotda.TargetTypeDevice, chunk...); err != nil {
			t.Fatal(err)
		}
	}
}

func targetIDs(targets []iotda.Target) []string {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.TargetID
	}
	return ids
}

// TestListTargetsParallel lists sizes around the page and round
// boundaries with several page sizes and parallelisms: every target once,
// in the API's order (newest first), in exactly ceil(n/limit) calls, with
// as many pages in flight as the parallelism and the offset limit allow.
func TestListTargetsParallel(t *testing.T) {
	srv := mock.NewTestServer(t, mock.Config{Latency: 5 * time.Millisecond})
	policyID := newPolicy(t, srv, "main")
	bound := 0
	for _, n := range []int{0, 1, 49, 50, 51, 100, 101, 549, 550, 551, 1234} {
		bindMany(t, srv, policyID, deviceRange(bound, n))
		bound = n
		// The API's order: newest binding first.
		want := deviceRange(0, n)
		slices.Reverse(want)
		for _, limit := range []int{50, 7} {
			for _, parallelism := range []int{1, 4, 16} {
				t.Run(fmt.Sprintf("n=%d/limit=%d/parallelism=%d", n, limit, parallelism), func(t *testing.T) {
					flight := &inFlight{next: http.DefaultTransport}
					c := newClient(t, srv, func(cfg *iotda.Config) {
						iotda.SetPageSize(cfg, limit)
						cfg.BatchParallelism, cfg.Transport = parallelism, flight
					})
					srv.ResetCalls()
					got, err := c.ListTargets(context.Background(), policyID, iotda.TargetTypeDevice)
					if err != nil {
						t.Fatal(err)
					}
					if ids := targetIDs(got); !slices.Equal(ids, want) {
						t.Fatalf("listed %d targets, want %d in the API's order", len(ids), len(want))
					}
					pages := max(1, (n+limit-1)/limit)
					if calls := srv.TotalCalls(); calls != pages {
						t.Fatalf("%d calls, want %d", calls, pages)
					}
					wantPeak := int64(min(parallelism, iotda.MaxOffset/limit+1, max(1, pages-1)))
					if p := flight.peak.Load(); p > wantPeak || pages > 1+4*parallelism && p != wantPeak {
						t.Fatalf("%d calls in flight at once, want %d", p, wantPeak)
					}
				})
			}
		}
	}
}

// TestListingKeepsItsConnections lists 40 pages at a batch_parallelism
// above what the pooled transport keeps by default (GOMAXPROCS+1 idle
// connections) from a server that keeps connections alive, as the API
// does: the client opens one connection per call that runs at once, and
// reuses them round after round instead of dialing (and, against the API,
// shaking hands) again.
func TestListingKeepsItsConnections(t *testing.T) {
	s, err := mock.New(mock.Config{ProjectID: mock.TestProjectID, Latency: 2 * time.Millisecond,
		Credentials: []mock.Credential{{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey}}})
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int64
	hs := httptest.NewUnstartedServer(s)
	hs.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			dials.Add(1)
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	srv := &mock.TestServer{Server: s, URL: hs.URL}
	policyID := newPolicy(t, srv, "main")
	bindMany(t, srv, policyID, deviceRange(0, 40*iotda.MaxPageSize))
	parallelism := min(runtime.GOMAXPROCS(0)+4, iotda.MaxBatchParallelism)
	c := newClient(t, srv, func(cfg *iotda.Config) { cfg.BatchParallelism = parallelism })
	got, err := c.ListTargets(context.Background(), policyID, iotda.TargetTypeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 40*iotda.MaxPageSize {
		t.Fatalf("listed %d targets, want %d", len(got), 40*iotda.MaxPageSize)
	}
	if n := dials.Load(); n > int64(parallelism) {
		t.Fatalf("40 pages at parallelism %d opened %d connections, want at most %d", parallelism, n, parallelism)
	}
}

// TestListTargetsChangedDuringListing: targets unbound and bound by someone
// else while a listing is under way shift the offsets of the later pages;
// the listing notices from page.count and reads again from the markers, so
// it returns exactly what is bound, once each.
func TestListTargetsChangedDuringListing(t *testing.T) {
	// 600 targets, newest first: dev-00599 ... dev-00000. The first page
	// holds 599..550; the first round of pages starts at 549.
	for name, tc := range map[string]struct {
		change func(srv *mock.TestServer, policyID string)
		want   []string
	}{
		// Within the first round: every later page shifts by 20.
		"unbound": {
			change: func(srv *mock.TestServer, policyID string) {
				if _, err := srv.Unbind("", policyID, iotda.TargetTypeDevice, deviceRange(520, 540)...); err != nil {
					t.Fatal(err)
				}
			},
			want: append(deviceRange(0, 520), deviceRange(540, 600)...),
		},
		// Newer than the first page: the listing is as of its first page;
		// the next one sees them.
		"bound": {
			change: func(srv *mock.TestServer, policyID string) { bindMany(t, srv, policyID, deviceRange(1000, 1010)) },
			want:   deviceRange(0, 600),
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			policyID := newPolicy(t, srv, "main")
			bindMany(t, srv, policyID, deviceRange(0, 600))
			var once sync.Once
			flight := &inFlight{next: http.DefaultTransport, before: func(n int64) {
				if n == 3 { // within the first round of parallel pages
					once.Do(func() { tc.change(srv, policyID) })
				}
			}}
			c := newClient(t, srv, func(cfg *iotda.Config) { cfg.BatchParallelism, cfg.Transport = 4, flight })
			got, err := c.ListTargets(context.Background(), policyID, iotda.TargetTypeDevice)
			if err != nil {
				t.Fatal(err)
			}
			ids := targetIDs(got)
			slices.Sort(ids)
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("listed %d targets (%d distinct), want %d", len(ids), len(slices.Compact(slices.Clone(ids))), len(tc.want))
			}
		})
	}
}

// deviceRange names devices from..to-1, sorted.
func deviceRange(from, to int) []string {
	ids := make([]string, 0, max(0, to-from))
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("dev-%05d", i))
	}
	return ids
}
