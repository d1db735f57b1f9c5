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
)

// heldDisk makes each write to the disk wait for a release, and counts the
// writes.
type heldDisk struct {
	started chan struct{} // receives when a write waits
	release chan error    // each value lets one write go on, or fail with that error
	writes  atomic.Int32
}

func holdDisk(t *testing.T, s *Server) *heldDisk {
	d := &heldDisk{started: make(chan struct{}, 100), release: make(chan error)}
	// Runs before the server's own cleanup, which writes the state file.
	t.Cleanup(func() { s.beforeDurable = func() error { return nil } })
	s.beforeDurable = func() error {
		d.started <- struct{}{}
		if err := <-d.release; err != nil {
			return err
		}
		d.writes.Add(1)
		return nil
	}
	return d
}

// durableTargets returns the ids of the targets of a policy in what is on
// disk: the state file and its log.
func durableTargets(t *testing.T, path, policyID string) []string {
	t.Helper()
	st, _, err := loadDurable(path)
	if err != nil {
		t.Fatalf("loading what is on disk: %v", err)
	}
	var ids []string
	for _, r := range bindingsOf(st.instance(TestProjectID, "", true), policyID, "") {
		ids = append(ids, r.target.TargetID)
	}
	return ids
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

// bindAsync binds the device to the policy in the background and sends
// the answer on answered.
func bindAsync(c *apiClient, policyID, deviceID string, answered chan<- response) {
	go func() {
		answered <- c.do(http.MethodPost, "/device-policies/"+policyID+"/bind", bindBody(targetTypeDevice, deviceID))
	}()
}

// TestWriteAnsweredOnlyOnDiskAndReadsGoOn holds the disk during a bind: the
// bind is not answered until its state file is written, reads (and a
// request without a body) are answered meanwhile, and writes that arrive
// during the held write are committed together by one later write.
func TestWriteAnsweredOnlyOnDiskAndReadsGoOn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ts := NewTestServer(t, Config{StatePath: path})
	p := mustCreate(t, ts.Server, "", "durable")
	disk := holdDisk(t, ts.Server)
	c := newClient(t, ts)

	answered := make(chan response, 10)
	bindAsync(c, p.PolicyID, "first", answered)
	waitFor(t, disk.started, "the first write")

	// The disk is held: reads are answered, the bind is not.
	start := time.Now()
	decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
	decodeAs[ListTargetsResponse](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", nil), http.StatusOK)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("reads took %s while the disk was held", d)
	}
	select {
	case r := <-answered:
		t.Fatalf("the bind was answered (%d) before its state was on disk", r.status)
	case <-time.After(50 * time.Millisecond):
	}

	// Three more binds arrive while the first write is held.
	for _, id := range []string{"second", "third", "fourth"} {
		bindAsync(c, p.PolicyID, id, answered)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(ts.Targets("", p.PolicyID, targetTypeDevice)) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	disk.release <- nil // the first write
	decodeAs[BindResult](t, waitFor(t, answered, "the first bind"), http.StatusOK)
	waitFor(t, disk.started, "the second write")
	disk.release <- nil // one write for the three others
	for range 3 {
		decodeAs[BindResult](t, waitFor(t, answered, "the other binds"), http.StatusOK)
	}
	if n := disk.writes.Load(); n != 2 {
		t.Errorf("%d writes of the state file for 4 binds, want 2 (the last 3 together)", n)
	}
	onDisk := durableTargets(t, path, p.PolicyID)
	for _, id := range []string{"first", "second", "third", "fourth"} {
		if !slices.Contains(onDisk, id) {
			t.Errorf("the disk lacks %s: %v", id, onDisk)
		}
	}
}

// TestWriteFailureIsAnswered checks that a change whose state file cannot
// be written is answered 500 (it stays in memory), and the next change
// writes the file again.
func TestWriteFailureIsAnswered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ts := NewTestServer(t, Config{StatePath: path})
	p := mustCreate(t, ts.Server, "", "failing")
	disk := holdDisk(t, ts.Server)
	c := newClient(t, ts)
	answered := make(chan response, 1)
	bindAsync(c, p.PolicyID, "lost", answered)
	waitFor(t, disk.started, "the write")
	disk.release <- errors.New("disk full")
	wantError(t, waitFor(t, answered, "the bind"), http.StatusInternalServerError, codeInternal, "state file", "disk full")

	bindAsync(c, p.PolicyID, "kept", answered)
	waitFor(t, disk.started, "the next write")
	disk.release <- nil
	decodeAs[BindResult](t, waitFor(t, answered, "the next bind"), http.StatusOK)
	if onDisk := durableTargets(t, path, p.PolicyID); !slices.Contains(onDisk, "lost") || !slices.Contains(onDisk, "kept") {
		t.Errorf("the disk holds %v, want lost (in memory after the failure) and kept", onDisk)
	}
}

// TestConcurrentWritesAreDurable makes concurrent writes against a real
// disk: every acknowledged bind is in the state file when it is answered.
func TestConcurrentWritesAreDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ts := NewTestServer(t, Config{StatePath: path})
	p := mustCreate(t, ts.Server, "", "concurrent")
	c := newClient(t, ts)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 5 {
				id := fmt.Sprintf("w%d-%d", w, i)
				r := c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody(targetTypeDevice, id))
				if r.status != http.StatusOK {
					t.Errorf("bind %s = %d %s", id, r.status, r.body)
					return
				}
				if !slices.Contains(durableTargets(t, path, p.PolicyID), id) {
					t.Errorf("bind %s was answered before the disk held it", id)
				}
			}
		})
	}
	wg.Wait()
}

func TestLeftoverTempFilesRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	leftovers := []string{".state.json.tmp-123", ".state.json.tmp-abc"}
	keep := []string{"state.json.tmp-1", ".other.json.tmp-1", "notes.txt"}
	for _, name := range append(append([]string{}, leftovers...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path}); err != nil {
		t.Fatal(err)
	}
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
	path := filepath.Join(t.TempDir(), "state.json")
	ts := NewTestServer(t, Config{StatePath: path, MaxBodies: 1})
	p := mustCreate(t, ts.Server, "", "bounded")
	disk := holdDisk(t, ts.Server)
	c := newClient(t, ts)
	answered := make(chan response, 2)
	go func() {
		answered <- c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody(targetTypeDevice, "a"))
	}()
	waitFor(t, disk.started, "the first write")
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
