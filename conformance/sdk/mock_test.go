package sdk

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	iotda "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iotda/v5"
)

// testRegion is the region the clients name; a derived signature carries it
// in its scope.
const testRegion = "cn-north-4"

// mockBinary is the iotda-mock program built from this repository by
// TestMain.
var mockBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests builds cmd/iotda-mock once for every test of the package: the
// tests drive the program users run, not a copy of its code.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "iotda-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	mockBinary = filepath.Join(dir, "iotda-mock")
	build := exec.Command("go", "build", "-o", mockBinary, "./cmd/iotda-mock")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building cmd/iotda-mock: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// mockKeys are the project and the key the mock accepts.
type mockKeys struct {
	ProjectID, AccessKey, SecretKey string
	// SecurityToken makes the key temporary: requests must carry it.
	SecurityToken string
}

// newKeys returns a fresh project and access key; with temporary set the
// key gets a security token too.
func newKeys(t *testing.T, temporary bool) mockKeys {
	t.Helper()
	k := mockKeys{
		ProjectID: randomHex(t, 16),
		AccessKey: "CONFORMANCE" + strings.ToUpper(randomHex(t, 5)),
		SecretKey: randomHex(t, 20),
	}
	if temporary {
		k.SecurityToken = "token-" + randomHex(t, 32)
	}
	return k
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// mockProcess is an iotda-mock program serving one test.
type mockProcess struct {
	URL  string
	Keys mockKeys
}

// startMock starts iotda-mock on 127.0.0.1 on a free port with keys and
// stops it when the test ends. The keys reach it through the environment,
// so no secret shows in the process list. Its request log (standard error)
// is shown when the test fails.
func startMock(t *testing.T, keys mockKeys) *mockProcess {
	t.Helper()
	urlFile := filepath.Join(t.TempDir(), "url")
	cmd := exec.Command(mockBinary, "-listen", "127.0.0.1:0", "-project-id", keys.ProjectID, "-url-file", urlFile)
	cmd.Env = append(os.Environ(),
		"IOTDA_MOCK_ACCESS_KEY="+keys.AccessKey,
		"IOTDA_MOCK_SECRET_KEY="+keys.SecretKey,
		"IOTDA_MOCK_SECURITY_TOKEN="+keys.SecurityToken,
		"IOTDA_MOCK_TOKEN=",
	)
	var log lockedBuffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting iotda-mock: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("iotda-mock did not stop cleanly: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Error("iotda-mock did not stop within 15s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("iotda-mock log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if data, err := os.ReadFile(urlFile); err == nil {
			return &mockProcess{URL: strings.TrimSpace(string(data)), Keys: keys}
		}
		select {
		case err := <-exited:
			t.Fatalf("iotda-mock exited before serving: %v\n%s", err, log.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("iotda-mock did not write %s within 30s\n%s", urlFile, log.String())
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sentRequest is what the SDK put on the wire, and the status it got.
type sentRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	Status       int
}

// recorder is the SDK's round tripper in these tests: it keeps a copy of
// every request, so a test can assert what the SDK really sent (an empty
// body, the algorithm and signed headers) rather than assume it.
type recorder struct {
	mu   sync.Mutex
	sent []sentRequest
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	s := sentRequest{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body}
	if err == nil {
		s.Status = resp.StatusCode
	}
	r.mu.Lock()
	r.sent = append(r.sent, s)
	r.mu.Unlock()
	return resp, err
}

// last returns the last request sent.
func (r *recorder) last(t *testing.T) sentRequest {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) == 0 {
		t.Fatal("the SDK sent no request")
	}
	return r.sent[len(r.sent)-1]
}

// all returns every request sent so far.
func (r *recorder) all() []sentRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentRequest(nil), r.sent...)
}

// clientOptions say how an SDK client signs.
type clientOptions struct {
	// Derived signs with V11-HMAC-SHA256 (the SDK's default predicate,
	// which picks derived signing for any endpoint that is not a classic
	// *.myhuaweicloud.com one, as for standard and enterprise instances).
	Derived bool
}

// newClient returns an SDK client of the mock that signs with keys, and
// the recorder of what it sends.
func newClient(t *testing.T, m *mockProcess, keys mockKeys, opts clientOptions) (*iotda.IoTDAClient, *recorder) {
	t.Helper()
	b := basic.NewCredentialsBuilder().
		WithAk(keys.AccessKey).
		WithSk(keys.SecretKey).
		WithProjectId(keys.ProjectID)
	if keys.SecurityToken != "" {
		b = b.WithSecurityToken(keys.SecurityToken)
	}
	if opts.Derived {
		b = b.WithDerivedPredicate(basic.DefaultDerivedPredicate)
	}
	creds, err := b.SafeBuild()
	if err != nil {
		t.Fatalf("building the SDK credentials: %v", err)
	}
	rec := &recorder{}
	hc, err := iotda.IoTDAClientBuilder().
		WithRegion(region.NewRegion(testRegion, m.URL)).
		WithCredential(creds).
		WithHttpConfig(config.DefaultHttpConfig().WithHttpRoundTripper(rec).WithTimeout(30 * time.Second)).
		SafeBuild()
	if err != nil {
		t.Fatalf("building the SDK client: %v", err)
	}
	return iotda.NewIoTDAClient(hc), rec
}
