package mock

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// heldDisk makes each commit wait for a release, and counts the commits.
type heldDisk struct {
	started chan struct{} // receives when a commit waits
	release chan error    // each value lets one commit go on, or fail with that error
	writes  atomic.Int32
}

func holdDisk(t *testing.T, s *Server) *heldDisk {
	d := &heldDisk{started: make(chan struct{}, 100), release: make(chan error)}
	// Runs before the server's own cleanup, which waits for the requests
	// under way: a test that failed half-way lets its commits go.
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	s.disk.beforeCommit = func() error {
		select {
		case d.started <- struct{}{}:
		default:
		}
		select {
		case err := <-d.release:
			if err != nil {
				return err
			}
		case <-stop:
		}
		d.writes.Add(1)
		return nil
	}
	return d
}

// durableTargets returns the ids of the targets of a policy that the state
// file holds: what is committed, so synced.
func durableTargets(t *testing.T, s *Server, policyID string) []string {
	t.Helper()
	<-s.disk.turn // the database is not swapped meanwhile
	defer func() { s.disk.turn <- struct{}{} }()
	var ids []string
	err := s.disk.db.View(func(tx *bolt.Tx) error {
		st, _, err := loadStore(tx)
		if err != nil {
			return err
		}
		for _, r := range bindingsOf(st.instance(TestProjectID, "", true), policyID, "") {
			ids = append(ids, r.target.TargetID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the state file: %v", err)
	}
	slices.Sort(ids)
	return ids
}

// stateServer is a mock with a state file in a fresh directory.
func stateServer(t *testing.T) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	return restart(t, path), path
}

// restart starts a mock on the state file at path, closed with the test.
func restart(t *testing.T, path string) *Server {
	t.Helper()
	s, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"tok"}, StatePath: path})
	if err != nil {
		t.Fatalf("starting on %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// notYet fails when ch receives within a short while.
func notYet(t *testing.T, ch <-chan response, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s was answered (%d %s) before its commit", what, r.status, r.body)
	case <-time.After(50 * time.Millisecond):
	}
}

// bindAsync binds the device to the policy in the background and sends
// the answer on answered.
func bindAsync(c *apiClient, policyID, deviceID string, answered chan<- response) {
	go func() {
		answered <- c.do(http.MethodPost, "/device-policies/"+policyID+"/bind", bindBody(targetTypeDevice, deviceID))
	}()
}

// TestWriteAnsweredOnlyOnDiskAndReadsGoOn holds the disk during a bind: the
// bind is not answered until its commit is done, reads (and a request
// without a body) are answered meanwhile, and writes that arrive during the
// held commit are committed together by one later commit.
func TestWriteAnsweredOnlyOnDiskAndReadsGoOn(t *testing.T) {
	ts := NewTestServer(t, Config{StatePath: filepath.Join(t.TempDir(), "state.db")})
	p := mustCreate(t, ts.Server, "", "durable")
	disk := holdDisk(t, ts.Server)
	c := newClient(t, ts)

	answered := make(chan response, 10)
	bindAsync(c, p.PolicyID, "first", answered)
	waitFor(t, disk.started, "the first commit")

	// The disk is held: reads are answered, the bind is not.
	start := time.Now()
	decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
	decodeAs[ListTargetsResponse](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", nil), http.StatusOK)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("reads took %s while the disk was held", d)
	}
	notYet(t, answered, "the bind")

	// Three more binds arrive while the first commit is held.
	for _, id := range []string{"second", "third", "fourth"} {
		bindAsync(c, p.PolicyID, id, answered)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(ts.Targets("", p.PolicyID, targetTypeDevice)) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	disk.release <- nil // the first commit
	decodeAs[BindResult](t, waitFor(t, answered, "the first bind"), http.StatusOK)
	waitFor(t, disk.started, "the second commit")
	disk.release <- nil // one commit for the three others
	for range 3 {
		decodeAs[BindResult](t, waitFor(t, answered, "the other binds"), http.StatusOK)
	}
	if n := disk.writes.Load(); n != 2 {
		t.Errorf("%d commits for 4 binds, want 2 (the last 3 together)", n)
	}
	if got, want := durableTargets(t, ts.Server, p.PolicyID), []string{"first", "fourth", "second", "third"}; !slices.Equal(got, want) {
		t.Errorf("the state file holds %v, want %v", got, want)
	}
}

// TestFailedWriteLeavesNoTrace fails the commit of a bind: it is answered
// 500 and gone from memory, so its retry changes the state again and must
// reach the disk, failing again while the disk fails (never a 200 on what
// memory alone holds).
func TestFailedWriteLeavesNoTrace(t *testing.T) {
	ts := NewTestServer(t, Config{StatePath: filepath.Join(t.TempDir(), "state.db")})
	p := mustCreate(t, ts.Server, "", "failing")
	disk := holdDisk(t, ts.Server)
	c := newClient(t, ts)
	answered := make(chan response, 1)
	for attempt := range 2 {
		bindAsync(c, p.PolicyID, "d1", answered)
		waitFor(t, disk.started, "the commit")
		disk.release <- errors.New("disk full")
		wantError(t, waitFor(t, answered, "the bind"), http.StatusInternalServerError, codeInternal, "state file", "disk full")
		if got := ts.Targets("", p.PolicyID, ""); len(got) != 0 {
			t.Fatalf("attempt %d: memory holds %v after the failed bind", attempt+1, got)
		}
		if got := ts.Policies(""); len(got) != 1 {
			t.Fatalf("attempt %d: memory holds %d policies, want the one committed", attempt+1, len(got))
		}
	}
	bindAsync(c, p.PolicyID, "d1", answered)
	waitFor(t, disk.started, "the commit of the retry")
	disk.release <- nil
	decodeAs[BindResult](t, waitFor(t, answered, "the retry"), http.StatusOK)
	if got := durableTargets(t, ts.Server, p.PolicyID); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("the state file holds %v after the retry, want d1", got)
	}
	// A retry that changes nothing now has nothing to wait for.
	decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody(targetTypeDevice, "d1")), http.StatusOK)
	if n := disk.writes.Load(); n != 1 {
		t.Errorf("%d commits, want 1", n)
	}
}

// TestDuplicateWaitsForTheFirst sends a bind and, while its commit is
// held, the same bind again: the duplicate finds nothing to change, yet is
// answered only with the first one's outcome, a failure when the first
// fails.
func TestDuplicateWaitsForTheFirst(t *testing.T) {
	ts := NewTestServer(t, Config{StatePath: filepath.Join(t.TempDir(), "state.db")})
	p := mustCreate(t, ts.Server, "", "duplicates")
	disk := holdDisk(t, ts.Server)
	c := newClient(t, ts)
	for _, fail := range []bool{true, false} {
		first, dup := make(chan response, 1), make(chan response, 1)
		bindAsync(c, p.PolicyID, "d1", first)
		waitFor(t, disk.started, "the first commit")
		bindAsync(c, p.PolicyID, "d1", dup)
		notYet(t, dup, "the duplicate")
		if fail {
			disk.release <- errors.New("injected")
			wantError(t, waitFor(t, first, "the first bind"), http.StatusInternalServerError, codeInternal, "injected")
			wantError(t, waitFor(t, dup, "the duplicate"), http.StatusInternalServerError, codeInternal, "injected")
			if got := ts.Targets("", p.PolicyID, ""); len(got) != 0 {
				t.Fatalf("memory holds %v after the failed binds", got)
			}
			continue
		}
		disk.release <- nil
		decodeAs[BindResult](t, waitFor(t, first, "the first bind"), http.StatusOK)
		decodeAs[BindResult](t, waitFor(t, dup, "the duplicate"), http.StatusOK)
	}
	if got := durableTargets(t, ts.Server, p.PolicyID); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("the state file holds %v, want d1", got)
	}
}

// TestConcurrentWritesAreDurable makes concurrent writes, duplicates
// included, against a real disk: every acknowledged bind is in the state
// file when it is answered.
func TestConcurrentWritesAreDurable(t *testing.T) {
	ts := NewTestServer(t, Config{StatePath: filepath.Join(t.TempDir(), "state.db")})
	p := mustCreate(t, ts.Server, "", "concurrent")
	c := newClient(t, ts)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 5 {
				id := fmt.Sprintf("w%d-%d", w/2, i) // two writers send each bind
				r := c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody(targetTypeDevice, id))
				if r.status != http.StatusOK {
					t.Errorf("bind %s = %d %s", id, r.status, r.body)
					return
				}
				if !slices.Contains(durableTargets(t, ts.Server, p.PolicyID), id) {
					t.Errorf("bind %s was answered before the state file held it", id)
				}
			}
		})
	}
	wg.Wait()
}

// TestDiskFullRecovers makes the database reach its size limit, a real
// failed commit: the writes are answered 500 and leave no trace, and once
// there is room again the next write succeeds without a restart.
func TestDiskFullRecovers(t *testing.T) {
	s, path := stateServer(t)
	p := mustCreate(t, s, "", "full")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s.disk.db.MaxSize = int(info.Size()) // no room to grow
	var acked []string
	var failed error
	for i := 0; failed == nil && i < 100; i++ {
		ids := make([]string, 100)
		for j := range ids {
			ids[j] = fmt.Sprintf("device-%03d-%03d-%s", i, j, strings.Repeat("x", 64))
		}
		if _, failed = s.Bind("", p.PolicyID, targetTypeDevice, ids...); failed == nil {
			acked = append(acked, ids...)
		}
	}
	if !isCode(failed, codeInternal) || !strings.Contains(failed.Error(), "maximum") {
		t.Fatalf("binding 10,000 targets into %d bytes: %v, want the size limit", info.Size(), failed)
	}
	if got := len(s.Targets("", p.PolicyID, "")); got != len(acked) {
		t.Fatalf("memory holds %d targets, want the %d acknowledged", got, len(acked))
	}
	s.disk.db.MaxSize = 0 // room again
	if _, err := s.Bind("", p.PolicyID, targetTypeDevice, "after"); err != nil {
		t.Fatalf("bind once there is room: %v", err)
	}
	acked = append(acked, "after")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(acked)
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, acked) {
		t.Errorf("after a restart: %d targets, want %d", len(got), len(acked))
	}
}

// TestFileLostWhileRunning removes the state file, then replaces it with
// another file, while the mock runs: the next write puts the state back
// at the path, so a restart finds every acknowledged change.
func TestFileLostWhileRunning(t *testing.T) {
	s, path := stateServer(t)
	p := mustCreate(t, s, "", "p")
	if _, err := s.Bind("", p.PolicyID, targetTypeDevice, "d1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bind("", p.PolicyID, targetTypeDevice, "d2"); err != nil {
		t.Fatalf("bind with the file removed: %v", err)
	}
	other := filepath.Join(filepath.Dir(path), "other")
	if err := os.WriteFile(other, []byte("another file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bind("", p.PolicyID, targetTypeDevice, "d3"); err != nil {
		t.Fatalf("bind with the file replaced: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, []string{"d1", "d2", "d3"}) {
		t.Errorf("targets after a restart = %v, want d1 d2 d3", got)
	}
}

// TestDirectoryLostWhileRunning removes the state file's directory: writes
// are answered 500 and leave no trace until the directory is back, then
// the next write puts the state back without a restart.
func TestDirectoryLostWhileRunning(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.db")
	ts := NewTestServer(t, Config{StatePath: path})
	c := newClient(t, ts)
	p := c.mustCreate("kept")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("lost")), http.StatusInternalServerError, codeInternal, "state file", "removed or replaced")
	if _, err := ts.CreatePolicy("", createRequest("lost")); !isCode(err, codeInternal) {
		t.Errorf("out-of-band create error = %v", err)
	}
	if got := ts.Policies(""); len(got) != 1 || got[0].PolicyID != p.PolicyID {
		t.Fatalf("memory holds %v after the failed creates", got)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	q := c.mustCreate("after")
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	got := restart(t, path).Policies("")
	if len(got) != 2 || got[0].PolicyID != q.PolicyID || got[1].PolicyID != p.PolicyID {
		t.Errorf("policies after a restart = %v, want %s and %s", got, q.PolicyID, p.PolicyID)
	}
}

func TestLeftoverTempFilesRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	leftovers := []string{".state.db.tmp-123", ".state.db.tmp-abc"}
	keep := []string{"state.db.tmp-1", ".other.db.tmp-1", "notes.txt"}
	for _, name := range append(append([]string{}, leftovers...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	restart(t, path)
	for _, name := range leftovers {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", name, err)
		}
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
}

// countingBody records how much of a body was read.
type countingBody struct {
	r    io.Reader
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestUnauthenticatedBodyNotRead checks that a request that cannot be
// authentic is answered 401 without its body being read, and one whose
// announced body is too large 400 without reading it.
func TestUnauthenticatedBodyNotRead(t *testing.T) {
	s, err := New(Config{ProjectID: TestProjectID, Credentials: []Credential{{AccessKey: TestAccessKey, SecretKey: TestSecretKey}}, Tokens: []string{"tok"}})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1<<20)
	cases := []struct {
		name   string
		header http.Header
		length int64
		status int
	}{
		{"no credentials", http.Header{"Content-Type": {"application/json"}}, int64(len(big)), http.StatusUnauthorized},
		{"bad token", http.Header{"X-Auth-Token": {"nope"}}, int64(len(big)), http.StatusUnauthorized},
		{"unknown access key", http.Header{"X-Sdk-Date": {time.Now().UTC().Format("20060102T150405Z")},
			"Authorization": {"SDK-HMAC-SHA256 Access=UNKNOWN, SignedHeaders=x-sdk-date, Signature=00"}}, int64(len(big)), http.StatusUnauthorized},
		{"announced too large", http.Header{"X-Auth-Token": {"tok"}}, maxBodyBytes + 1, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := &countingBody{r: strings.NewReader(big)}
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/v5/iot/"+TestProjectID+"/device-policies", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Body, req.ContentLength, req.Header = body, tc.length, tc.header
			rec := httptestRecorder(s, req)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if n := body.read.Load(); n != 0 {
				t.Errorf("%d bytes of the body were read", n)
			}
		})
	}
}

// TestBodiesInMemoryAreBounded holds the disk so that a bind keeps its body
// slot: with MaxBodies 1 a second request with a body waits for the slot,
// while a request without a body is answered.
func TestBodiesInMemoryAreBounded(t *testing.T) {
	ts := NewTestServer(t, Config{StatePath: filepath.Join(t.TempDir(), "state.db"), MaxBodies: 1})
	p := mustCreate(t, ts.Server, "", "bounded")
	disk := holdDisk(t, ts.Server)
	c := newClient(t, ts)
	answered := make(chan response, 2)
	go func() {
		answered <- c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody(targetTypeDevice, "a"))
	}()
	waitFor(t, disk.started, "the first commit")
	go func() {
		answered <- c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", `{"limit":5}`)
	}()
	decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
	select {
	case r := <-answered:
		t.Fatalf("a request with a body was answered (%d %s) while the only slot was taken", r.status, r.body)
	case <-time.After(100 * time.Millisecond):
	}
	disk.release <- nil
	for range 2 {
		if r := waitFor(t, answered, "the requests with bodies"); r.status != http.StatusOK {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	}
}

func httptestRecorder(s *Server, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// TestChunkedBodies checks bodies of unannounced length: read whole up to
// the limit, refused beyond it.
func TestChunkedBodies(t *testing.T) {
	s, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"tok"}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(body string) *httptest.ResponseRecorder {
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/v5/iot/"+TestProjectID+"/device-policies", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Body, req.ContentLength = io.NopCloser(strings.NewReader(body)), -1
		req.Header.Set("X-Auth-Token", "tok")
		req.Header.Set("Content-Type", "application/json")
		return httptestRecorder(s, req)
	}
	ok := `{"policy_name":"chunked","statement":[{"effect":"ALLOW","actions":["iotda:devices:publish"],"resources":["topic:/` + strings.Repeat("a", 100) + `"]}]}`
	if rec := send(ok); rec.Code != http.StatusCreated {
		t.Errorf("chunked create = %d %s", rec.Code, rec.Body)
	}
	rec := send(`{"policy_name":"` + strings.Repeat("a", maxBodyBytes) + `"}`)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "larger than") {
		t.Errorf("chunked body over the limit = %d %s", rec.Code, rec.Body)
	}
}
