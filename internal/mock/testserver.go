package mock

import (
	"net/http/httptest"
	"testing"
)

// Values NewTestServer uses when the Config leaves them out. They are not
// secrets: the mock is the only server that accepts them.
const (
	// TestProjectID is a project id in the form IAM gives them.
	TestProjectID = "0c6b6d6c1f4d4a2e9b7a3e5f8d1c2b4a"
	// TestAccessKey is an access key id in the form IAM gives them.
	TestAccessKey = "HPUAQ7MOCKIOTDA2TEST"
	// TestSecretKey is the secret key of TestAccessKey.
	TestSecretKey = "m0ck5ecretKeyF0rIoTDAtests0nlyN0tReal9xZ"
)

// TestServer is a mock server listening on 127.0.0.1 for one test.
type TestServer struct {
	*Server
	// URL is the base URL, like http://127.0.0.1:PORT.
	URL string
}

// NewTestServer starts the mock on 127.0.0.1 on a free port and closes it
// in t.Cleanup. A zero cfg.ProjectID gets TestProjectID and no
// cfg.Credentials get TestAccessKey and TestSecretKey. The server does not
// keep connections alive, so that every request has a connection of its
// own and a dropped call (Fault.Drop) always reaches the client as an
// error instead of being retried by the transport.
func NewTestServer(t testing.TB, cfg Config) *TestServer {
	t.Helper()
	return newTestServer(t, cfg, false)
}

// NewKeepAliveTestServer is NewTestServer with connections kept alive, as
// the API keeps them: for benchmarks, whose calls should not each pay for
// a new connection.
func NewKeepAliveTestServer(t testing.TB, cfg Config) *TestServer {
	t.Helper()
	return newTestServer(t, cfg, true)
}

func newTestServer(t testing.TB, cfg Config, keepAlive bool) *TestServer {
	t.Helper()
	if cfg.ProjectID == "" {
		cfg.ProjectID = TestProjectID
	}
	if len(cfg.Credentials) == 0 {
		cfg.Credentials = []Credential{{AccessKey: TestAccessKey, SecretKey: TestSecretKey}}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("starting the IoTDA mock: %v", err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Config.SetKeepAlivesEnabled(keepAlive)
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		// Every change is on disk already; Close closes the state file.
		if err := s.Close(); err != nil {
			t.Logf("closing the IoTDA mock: %v", err)
		}
	})
	return &TestServer{Server: s, URL: hs.URL}
}
