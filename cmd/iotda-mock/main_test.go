package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// runMainEnv makes the test binary act as the program (see TestMain).
const runMainEnv = "IOTDA_MOCK_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"iotda-mock"}, strings.Fields(os.Getenv(runMainEnv+"_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

var listeningLine = regexp.MustCompile(`^iotda-mock listening on (http://127\.0\.0\.1:[0-9]+)\n$`)

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
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

// readURL reads the one line the program prints and returns its URL.
func readURL(t *testing.T, r io.Reader) string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		m := listeningLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line %q is not the listening line", line)
		}
		return m[1]
	case <-time.After(30 * time.Second):
		t.Fatal("the program printed nothing in 30s")
	}
	return ""
}

// environment is the environment the program sees in a test.
type environment map[string]string

func (e environment) get(name string) string { return e[name] }

// call sends a request signed with the mock's test key pair.
func call(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	return callAs(t, signer.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey}, method, url, body)
}

// callAs sends a request signed with creds.
func callAs(t *testing.T, creds signer.Credentials, method, url string, body any) (int, []byte) {
	t.Helper()
	var data []byte
	if body != nil {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signer.Sign(req, data, creds, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// startRun runs the program in this process until the returned stop
// function is called; stop returns the exit code and what went to stderr.
func startRun(t *testing.T, env environment, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stdoutR, stdoutW := io.Pipe()
	stderr := &lockedBuffer{}
	codes := make(chan int, 1)
	go func() {
		codes <- run(ctx, args, env.get, stdoutW, stderr)
		stdoutW.Close()
	}()
	url := readURL(t, stdoutR)
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()
	stop := func() (int, string) {
		cancel()
		select {
		case code := <-codes:
			return code, stderr.String()
		case <-time.After(30 * time.Second):
			t.Fatal("the program did not stop in 30s")
		}
		return 0, ""
	}
	t.Cleanup(cancel)
	return url, stop
}

func TestRunServesAndKeepsState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	url, stop := startRun(t, nil, "-listen", "127.0.0.1:0", "-project-id", mock.TestProjectID,
		"-access-key", mock.TestAccessKey, "-secret-key", mock.TestSecretKey, "-latency", "5ms", "-state", state)
	base := url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	status, body := call(t, http.MethodPost, base, mock.CreatePolicyRequest{
		PolicyName: "demo",
		Statement:  []mock.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:demo/#"}}},
	})
	if status != http.StatusCreated {
		t.Fatalf("create = %d %s", status, body)
	}
	var p mock.Policy
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	code, logs := stop()
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, logs)
	}
	for _, want := range []string{"method=POST", "path=/v5/iot/" + mock.TestProjectID + "/device-policies", "status=201", "auth=SDK-HMAC-SHA256", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, mock.TestSecretKey) {
		t.Error("stderr shows the secret key")
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state file after shutdown: %v", err)
	}

	url, stop = startRun(t, nil, "-state", state)
	status, body = call(t, http.MethodGet, url+"/v5/iot/"+mock.TestProjectID+"/device-policies/"+p.PolicyID, nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"policy_name":"demo"`) {
		t.Errorf("show after restart = %d %s", status, body)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, logs)
	}
}

func TestRunWritesURLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mock.url")
	url, stop := startRun(t, nil, "-url-file", path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no URL file once the program printed its URL: %v", err)
	}
	if string(data) != url+"\n" {
		t.Errorf("URL file = %q, want %q", data, url+"\n")
	}
	if status, body := call(t, http.MethodGet, strings.TrimSpace(string(data))+"/v5/iot/"+mock.TestProjectID+"/device-policies", nil); status != http.StatusOK {
		t.Errorf("list at the URL of the file = %d %s", status, body)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, logs)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the URL file is still there after shutdown: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// tokenStatus GETs url authenticated by the IAM token and returns the status.
func tokenStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunTokenAndTemporaryKey(t *testing.T) {
	url, stop := startRun(t, nil, "-token", "tok-1", "-token", "tok-2", "-security-token", "sec")
	base := url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	for _, tc := range []struct {
		token string
		want  int
	}{
		{"tok-2", http.StatusOK},
		{"tok-3", http.StatusUnauthorized},
	} {
		if status := tokenStatus(t, base, tc.token); status != tc.want {
			t.Errorf("token %s: status %d, want %d", tc.token, status, tc.want)
		}
	}
	// The key pair is temporary now: without its security token it fails.
	if status, _ := call(t, http.MethodGet, base, nil); status != http.StatusUnauthorized {
		t.Errorf("temporary key without token = %d", status)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, logs)
	}
}

func TestRunBadFlags(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"unknown flag", []string{"-bogus"}, 2},
		{"extra argument", []string{"serve"}, 2},
		{"negative latency", []string{"-latency", "-1s"}, 2},
		{"bad duration", []string{"-latency", "soon"}, 2},
		{"bad project id", []string{"-project-id", "a/b"}, 2},
		{"empty access key", []string{"-access-key", ""}, 2},
		{"empty token", []string{"-token", ""}, 2},
		{"state in a missing directory", []string{"-state", filepath.Join(dir, "missing", "state.json")}, 2},
		{"broken state file", []string{"-state", broken}, 2},
		{"recover without a state file", []string{"-recover"}, 2},
		{"zero read timeout", []string{"-read-timeout", "0s"}, 2},
		{"negative idle timeout", []string{"-idle-timeout", "-1s"}, 2},
		{"zero body wait", []string{"-body-wait", "0s"}, 2},
		{"negative read lag", []string{"-read-lag", "-1s"}, 2},
		{"missing keys file", []string{"-keys-file", filepath.Join(dir, "missing.env")}, 2},
		{"keys file with a bad line", []string{"-keys-file", keysFile(t, dir, "IOTDA_MOCK_ACCESS_KEY")}, 2},
		{"keys file with an unknown name", []string{"-keys-file", keysFile(t, dir, "AWS_SECRET_ACCESS_KEY=x")}, 2},
		{"bad listen address", []string{"-listen", "127.0.0.1:notaport"}, 1},
		{"URL file in a missing directory", []string{"-url-file", filepath.Join(dir, "missing", "url")}, 1},
		{"help", []string{"-h"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			stderr := &lockedBuffer{}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if got := run(ctx, tc.args, environment(nil).get, &stdout, stderr); got != tc.want {
				t.Errorf("exit code %d, want %d; stderr:\n%s", got, tc.want, stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if tc.want != 0 && stderr.String() == "" {
				t.Error("no message on stderr")
			}
		})
	}
}

// TestProgramStopsOnSIGTERM runs the real program in a process of its own
// and stops it with SIGTERM.
func TestProgramStopsOnSIGTERM(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS=-listen 127.0.0.1:0 -state "+state)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	url := readURL(t, stdout)
	base := url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	status, body := call(t, http.MethodPost, base, mock.CreatePolicyRequest{
		PolicyName: "sigterm",
		Statement:  []mock.Statement{{Effect: "DENY", Actions: []string{"iotda:devices:subscribe"}, Resources: []string{"topic:x"}}},
	})
	if status != http.StatusCreated {
		t.Fatalf("create = %d %s", status, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the program did not exit 0 after SIGTERM: %v; stderr:\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("stderr lacks the shutdown:\n%s", stderr)
	}
	data, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(data), `"policy_name":"sigterm"`) {
		t.Errorf("state file after SIGTERM: %v\n%s", err, data)
	}
}

// keysFile writes a keys file and returns its path.
func keysFile(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "keys-*.env")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// TestRunKeysFromEnvironmentAndFile checks that the keys come from the
// flags, else the environment, else the keys file, and that a secret given
// as a flag draws a warning.
func TestRunKeysFromEnvironmentAndFile(t *testing.T) {
	dir := t.TempDir()
	file := keysFile(t, dir, "# the mock's keys", "", "IOTDA_MOCK_ACCESS_KEY=HPUAFROMTHEKEYSFILE0", "IOTDA_MOCK_SECRET_KEY = secret-from-the-file", "IOTDA_MOCK_TOKEN=token-from-the-file")
	fromFile := signer.Credentials{AccessKey: "HPUAFROMTHEKEYSFILE0", SecretKey: "secret-from-the-file"}
	fromEnv := signer.Credentials{AccessKey: "HPUAFROMTHEKEYSFILE0", SecretKey: "secret-from-the-environment"}
	test := signer.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey}
	cases := []struct {
		name      string
		env       environment
		args      []string
		accepted  signer.Credentials
		refused   signer.Credentials
		token     string
		warnsFlag string
	}{
		{"keys file", nil, []string{"-keys-file", file}, fromFile, test, "token-from-the-file", ""},
		{"environment over the keys file", environment{"IOTDA_MOCK_SECRET_KEY": "secret-from-the-environment"}, []string{"-keys-file", file}, fromEnv, fromFile, "token-from-the-file", ""},
		{"environment alone", environment{"IOTDA_MOCK_ACCESS_KEY": "HPUAFROMTHEKEYSFILE0", "IOTDA_MOCK_SECRET_KEY": "secret-from-the-environment", "IOTDA_MOCK_TOKEN": "env-token"}, nil, fromEnv, test, "env-token", ""},
		{"flags over both", environment{"IOTDA_MOCK_SECRET_KEY": "secret-from-the-environment"}, []string{"-keys-file", file, "-access-key", mock.TestAccessKey, "-secret-key", mock.TestSecretKey}, test, fromEnv, "token-from-the-file", "-secret-key"},
		{"no keys: the test pair", nil, nil, test, fromFile, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, stop := startRun(t, tc.env, append([]string{"-listen", "127.0.0.1:0"}, tc.args...)...)
			base := url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
			if status, body := callAs(t, tc.accepted, http.MethodGet, base, nil); status != http.StatusOK {
				t.Errorf("with the expected keys: %d %s", status, body)
			}
			if status, _ := callAs(t, tc.refused, http.MethodGet, base, nil); status != http.StatusUnauthorized {
				t.Errorf("with other keys: %d, want 401", status)
			}
			if tc.token != "" {
				if status := tokenStatus(t, base, tc.token); status != http.StatusOK {
					t.Errorf("token %s: %d", tc.token, status)
				}
			}
			code, logs := stop()
			if code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, logs)
			}
			if warned := strings.Contains(logs, "warning: "+tc.warnsFlag+" puts a secret in the process list"); warned != (tc.warnsFlag != "") {
				t.Errorf("warning about %q: %v; stderr:\n%s", tc.warnsFlag, warned, logs)
			}
			for _, secret := range []string{"secret-from-the-file", "secret-from-the-environment", "token-from-the-file"} {
				if strings.Contains(logs, secret) {
					t.Errorf("stderr shows %s", secret)
				}
			}
		})
	}
}

// TestRunReadTimeout checks that a client that sends its body too slowly
// is cut off after -read-timeout instead of holding a connection forever,
// with 408 or no answer, never a success.
func TestRunReadTimeout(t *testing.T) {
	url, stop := startRun(t, environment{"IOTDA_MOCK_TOKEN": "slow-token"}, "-listen", "127.0.0.1:0", "-read-timeout", "500ms", "-idle-timeout", "1h")
	addr := strings.TrimPrefix(url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /v5/iot/%s/device-policies HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Auth-Token: slow-token\r\n\r\n{", mock.TestProjectID, addr)
	closed := make(chan struct{})
	var answer bytes.Buffer
	go func() { _, _ = io.Copy(&answer, conn); close(closed) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-closed:
			done = true
		case <-tick.C:
			_, _ = conn.Write([]byte(" "))
		case <-time.After(10 * time.Second):
			t.Fatal("the slow sender was still connected after 10s")
		}
	}
	if held := time.Since(start); held < 400*time.Millisecond {
		t.Errorf("the connection was closed after %s, before the read timeout", held)
	}
	if line, _, _ := strings.Cut(answer.String(), "\r\n"); line != "" && !strings.HasPrefix(line, "HTTP/1.1 408 ") {
		t.Errorf("the slow sender got %q, want 408 or a closed connection", line)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, logs)
	}
}

// TestRunRefusesHalfAKeyPair checks that a key pair missing a half, or a
// keys file with an empty value, stops the program at start with a message
// that says what is missing, instead of completing the pair with the test
// secret that anyone can read.
func TestRunRefusesHalfAKeyPair(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		env  environment
		args []string
		want string
	}{
		{"keys file with an access key only", nil, []string{"-keys-file", keysFile(t, dir, "IOTDA_MOCK_ACCESS_KEY=HPUAONLYTHEACCESSKEY")}, "no secret key"},
		{"keys file with an empty secret", nil, []string{"-keys-file", keysFile(t, dir, "IOTDA_MOCK_ACCESS_KEY=HPUAONLYTHEACCESSKEY", "IOTDA_MOCK_SECRET_KEY=")}, "line 2: IOTDA_MOCK_SECRET_KEY is empty"},
		{"keys file with a blank secret", nil, []string{"-keys-file", keysFile(t, dir, "IOTDA_MOCK_ACCESS_KEY=HPUAONLYTHEACCESSKEY", "IOTDA_MOCK_SECRET_KEY =  ")}, "IOTDA_MOCK_SECRET_KEY is empty"},
		{"keys file with a secret only", nil, []string{"-keys-file", keysFile(t, dir, "IOTDA_MOCK_SECRET_KEY=a-secret-without-its-key")}, "no access key"},
		{"access key in the environment only", environment{"IOTDA_MOCK_ACCESS_KEY": "HPUAONLYTHEACCESSKEY"}, nil, "no secret key"},
		{"access key flag only", nil, []string{"-access-key", "HPUAONLYTHEACCESSKEY"}, "no secret key"},
		{"empty secret key flag", nil, []string{"-access-key", "HPUAONLYTHEACCESSKEY", "-secret-key", ""}, "-secret-key is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			stderr := &lockedBuffer{}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if got := run(ctx, tc.args, tc.env.get, &stdout, stderr); got != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", got, stderr)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if strings.Contains(stderr.String(), "a-secret-without-its-key") {
				t.Error("stderr shows the secret")
			}
			if stdout.Len() != 0 {
				t.Errorf("the program served: %q", stdout.String())
			}
		})
	}
}

// TestRunWarnsAboutAnOpenKeysFile checks the warning for a keys file that
// its group or others may read or write, and its absence for mode 0600.
func TestRunWarnsAboutAnOpenKeysFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o644, true},
		{0o602, true},
	} {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			file := keysFile(t, dir, "IOTDA_MOCK_ACCESS_KEY=HPUAFROMTHEKEYSFILE0", "IOTDA_MOCK_SECRET_KEY=secret-from-the-file")
			if err := os.Chmod(file, tc.mode); err != nil {
				t.Fatal(err)
			}
			url, stop := startRun(t, nil, "-keys-file", file)
			creds := signer.Credentials{AccessKey: "HPUAFROMTHEKEYSFILE0", SecretKey: "secret-from-the-file"}
			if status, body := callAs(t, creds, http.MethodGet, url+"/v5/iot/"+mock.TestProjectID+"/device-policies", nil); status != http.StatusOK {
				t.Errorf("with the keys of the file: %d %s", status, body)
			}
			code, logs := stop()
			if code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, logs)
			}
			want := fmt.Sprintf("warning: keys file %s is accessible by others (mode %04o)", file, tc.mode)
			if warned := strings.Contains(logs, want); warned != tc.warn {
				t.Errorf("warned %v, want %v; stderr:\n%s", warned, tc.warn, logs)
			}
			if strings.Contains(logs, "secret-from-the-file") {
				t.Error("stderr shows the secret")
			}
		})
	}
}

// TestRunSlowSendersDoNotStallABind checks the program's bounds on bodies:
// 32 slow senders that know only the access key hold every body buffer,
// and a legitimate bind is answered 503 with Retry-After within -body-wait
// instead of waiting behind them; the slow senders are cut at the read
// timeout with 408 or a closed connection, never 200; then the bind goes
// through.
func TestRunSlowSendersDoNotStallABind(t *testing.T) {
	url, stop := startRun(t, nil, "-read-timeout", "3s", "-body-wait", "200ms")
	addr := strings.TrimPrefix(url, "http://")
	base := url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	status, body := call(t, http.MethodPost, base, mock.CreatePolicyRequest{
		PolicyName: "slow",
		Statement:  []mock.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:slow"}}},
	})
	if status != http.StatusCreated {
		t.Fatalf("create = %d %s", status, body)
	}
	var p mock.Policy
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	bindURL := base + "/" + p.PolicyID + "/bind"

	// Signed with the access key and a wrong secret: it passes every
	// check that needs no body.
	head, err := http.NewRequest(http.MethodPost, bindURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	head.Header.Set("Content-Type", "application/json")
	if err := signer.Sign(head, []byte("{}"), signer.Credentials{AccessKey: mock.TestAccessKey, SecretKey: "only-the-access-key-is-known"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var raw strings.Builder
	fmt.Fprintf(&raw, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n", head.URL.RequestURI(), addr)
	for name := range head.Header {
		fmt.Fprintf(&raw, "%s: %s\r\n", name, head.Header.Get(name))
	}
	raw.WriteString("\r\n{")
	const slow = 32
	senders := make([]net.Conn, 0, slow)
	for range slow {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, raw.String()); err != nil {
			t.Fatal(err)
		}
		senders = append(senders, conn)
	}

	bind := mock.BindRequest{TargetType: "device", TargetIDs: []string{"d-1"}}
	busy := false
	for range 10 {
		status, body := call(t, http.MethodPost, bindURL, bind)
		if status == http.StatusServiceUnavailable {
			busy = true
			if !strings.Contains(string(body), "IOTDA.000503") {
				t.Errorf("503 body = %s", body)
			}
			break
		}
		if status != http.StatusOK {
			t.Fatalf("bind = %d %s", status, body)
		}
		time.Sleep(20 * time.Millisecond) // the senders are still taking their buffers
	}
	if !busy {
		t.Fatal("32 slow senders never held every body buffer")
	}

	var wg sync.WaitGroup
	answers := make([]string, slow)
	for i, conn := range senders {
		wg.Go(func() {
			_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
			data, _ := io.ReadAll(conn)
			answers[i], _, _ = strings.Cut(string(data), "\r\n")
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a != "" && !strings.HasPrefix(a, "HTTP/1.1 408 ") {
			t.Errorf("slow sender %d got %q, want 408 or a closed connection", i, a)
		}
	}
	if status, body := call(t, http.MethodPost, bindURL, bind); status != http.StatusOK {
		t.Errorf("bind once the slow senders are cut = %d %s", status, body)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, logs)
	}
}

// TestRunReadLag checks -read-lag: a policy just created is not found by
// show until the lag has passed, and then is.
func TestRunReadLag(t *testing.T) {
	url, stop := startRun(t, nil, "-read-lag", "2s")
	base := url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	status, body := call(t, http.MethodPost, base, mock.CreatePolicyRequest{
		PolicyName: "lagging",
		Statement:  []mock.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:lag"}}},
	})
	if status != http.StatusCreated {
		t.Fatalf("create = %d %s", status, body)
	}
	var p mock.Policy
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if status, body := call(t, http.MethodGet, base+"/"+p.PolicyID, nil); status != http.StatusNotFound {
		t.Errorf("show right after create = %d %s, want 404", status, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := call(t, http.MethodGet, base+"/"+p.PolicyID, nil)
		if status == http.StatusOK {
			break
		}
		if status != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("show = %d %s, 10s after create", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, logs)
	}
}
