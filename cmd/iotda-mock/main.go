// Command iotda-mock serves the IoTDA device-policy mock over HTTP, for
// local use and the demo.
//
//	iotda-mock [-listen 127.0.0.1:0] [-project-id ID] [-keys-file FILE]
//	           [-access-key AK -secret-key SK] [-security-token TOKEN] [-token TOKEN]...
//	           [-latency 20ms] [-state FILE] [-read-timeout 15s] [-idle-timeout 1m]
//	           [-url-file FILE]
//
// The keys it accepts come from the flags, else from the environment
// (IOTDA_MOCK_ACCESS_KEY, IOTDA_MOCK_SECRET_KEY, IOTDA_MOCK_SECURITY_TOKEN,
// IOTDA_MOCK_TOKEN), else from the keys file (lines NAME=VALUE with those
// names; blank lines and lines starting with # are ignored), else the
// mock package's test key pair. Flags are visible to every user of the
// machine in the process list: give secrets in the environment or the keys
// file (the program warns when a secret comes from a flag).
//
// A request must send its headers within 10 seconds and its whole body
// within -read-timeout; an idle keep-alive connection is closed after
// -idle-timeout. At most 32 requests have their bodies (1 MiB at most) in
// memory at once; a request that cannot be authentic (no credentials, a
// bad token, an unknown access key, a stale date) is answered before its
// body is read.
//
// It prints one line, "iotda-mock listening on http://ADDR", to standard
// output once it accepts connections (ADDR is the bound address, so port 0
// works). With -url-file it also writes "http://ADDR" and a newline to FILE
// at that moment, atomically (a temporary file renamed into place), so a
// script can wait for FILE to exist and never reads half of it; the file is
// removed at shutdown. It logs every request (method, path, status,
// duration) to standard error, and serves until SIGINT or SIGTERM, then shuts down gracefully and
// exits 0. Without flags it accepts the mock package's test project and
// test key pair. Invalid flags exit 2; a failure to listen or serve exits 1.
//
// A signed request's body is hashed as received; X-Project-Id,
// X-Security-Token and Instance-Id may come unsigned, as the gateway
// accepts them (see the mock package's documentation).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// Server limits.
const (
	// shutdownTimeout bounds how long in-flight requests may take to finish.
	shutdownTimeout = 10 * time.Second
	// readHeaderTimeout bounds the time to send the request headers.
	readHeaderTimeout = 10 * time.Second
)

// The environment variables of the keys, also the names in a keys file.
const (
	envAccessKey     = "IOTDA_MOCK_ACCESS_KEY"
	envSecretKey     = "IOTDA_MOCK_SECRET_KEY"
	envSecurityToken = "IOTDA_MOCK_SECURITY_TOKEN"
	envToken         = "IOTDA_MOCK_TOKEN"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it serves until ctx is done and returns the
// exit code. getenv reads the environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("iotda-mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (host:port; port 0 picks a free port)")
	projectID := fs.String("project-id", mock.TestProjectID, "the project id accepted in paths")
	keysFile := fs.String("keys-file", "", "file of NAME=VALUE lines giving "+envAccessKey+", "+envSecretKey+", "+envSecurityToken+" or "+envToken)
	accessKey := fs.String("access-key", "", "access key (AK) accepted in signatures (else $"+envAccessKey+", the keys file, or the test key)")
	secretKey := fs.String("secret-key", "", "secret key (SK) of the access key; visible in the process list, prefer $"+envSecretKey+" or -keys-file")
	securityToken := fs.String("security-token", "", "makes the key pair temporary: requests must carry this X-Security-Token; prefer $"+envSecurityToken)
	latency := fs.Duration("latency", 0, "latency added to every request, e.g. 20ms")
	statePath := fs.String("state", "", "JSON file the state is loaded from and saved to (with FILE.log beside it), so it survives a restart")
	readTimeout := fs.Duration("read-timeout", 15*time.Second, "time a request may take to send its headers and body")
	idleTimeout := fs.Duration("idle-timeout", time.Minute, "time an idle keep-alive connection is kept open")
	urlFile := fs.String("url-file", "", "file the mock's URL is written to, atomically, once it accepts connections (removed at shutdown)")
	var tokens []string
	fs.Func("token", "IAM token accepted in X-Auth-Token (repeatable); prefer $"+envToken, func(v string) error {
		if v == "" {
			return errors.New("a token must not be empty")
		}
		tokens = append(tokens, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "iotda-mock: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	if *latency < 0 {
		fmt.Fprintf(stderr, "iotda-mock: -latency %s is negative\n", *latency)
		return 2
	}
	if *readTimeout <= 0 || *idleTimeout <= 0 {
		fmt.Fprintln(stderr, "iotda-mock: -read-timeout and -idle-timeout must be positive")
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"secret-key", "security-token", "token"} {
		if set[name] {
			fmt.Fprintf(stderr, "iotda-mock: warning: -%s puts a secret in the process list; use the environment or -keys-file\n", name)
		}
	}
	keys, err := resolveKeys(*keysFile, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "iotda-mock: %v\n", err)
		return 2
	}
	pick := func(flagName, flagValue, name, fallback string) string {
		switch {
		case set[flagName]:
			return flagValue
		case keys[name] != "":
			return keys[name]
		}
		return fallback
	}
	if !set["token"] && keys[envToken] != "" {
		tokens = append(tokens, keys[envToken])
	}
	srv, err := mock.New(mock.Config{
		ProjectID: *projectID,
		Credentials: []mock.Credential{{
			AccessKey:     pick("access-key", *accessKey, envAccessKey, mock.TestAccessKey),
			SecretKey:     pick("secret-key", *secretKey, envSecretKey, mock.TestSecretKey),
			SecurityToken: pick("security-token", *securityToken, envSecurityToken, ""),
		}},
		Tokens:    tokens,
		Latency:   *latency,
		StatePath: *statePath,
	})
	if err != nil {
		fmt.Fprintf(stderr, "iotda-mock: %v\n", err)
		return 2
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		logger.Error("cannot listen", "address", *listen, "error", err)
		return 1
	}
	hs := &http.Server{
		Handler:           logRequests(logger, srv),
		ReadHeaderTimeout: min(readHeaderTimeout, *readTimeout),
		ReadTimeout:       *readTimeout,
		IdleTimeout:       *idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	if *urlFile != "" {
		if err := writeFileAtomic(*urlFile, url+"\n"); err != nil {
			logger.Error("cannot write the URL file", "error", err)
			ln.Close()
			return 1
		}
		defer os.Remove(*urlFile)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "iotda-mock listening on %s\n", url)
	logger.Info("serving", "address", ln.Addr().String(), "project_id", *projectID, "state", *statePath)

	select {
	case err := <-served:
		logger.Error("serving failed", "error", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		logger.Error("shutdown was not graceful", "error", err)
		return 1
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serving failed", "error", err)
		return 1
	}
	if err := srv.Close(); err != nil {
		logger.Error("writing the state file", "error", err)
		return 1
	}
	return 0
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// to path, so a reader sees either no file or all of it.
func writeFileAtomic(path, data string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// statusRecorder remembers the status of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs the method, path, status and duration of every request;
// never headers or bodies, which carry credentials.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond).String())
	})
}

// resolveKeys reads the keys from the environment and then the keys file:
// for each name, the environment wins.
func resolveKeys(path string, getenv func(string) string) (map[string]string, error) {
	keys := map[string]string{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the keys file: %w", err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, value, ok := strings.Cut(line, "=")
			name = strings.TrimSpace(name)
			switch {
			case !ok:
				return nil, fmt.Errorf("keys file %s, line %d: not NAME=VALUE", path, i+1)
			case name != envAccessKey && name != envSecretKey && name != envSecurityToken && name != envToken:
				return nil, fmt.Errorf("keys file %s, line %d: unknown name %q (want %s, %s, %s or %s)",
					path, i+1, name, envAccessKey, envSecretKey, envSecurityToken, envToken)
			}
			keys[name] = strings.TrimSpace(value)
		}
	}
	for _, name := range []string{envAccessKey, envSecretKey, envSecurityToken, envToken} {
		if v := getenv(name); v != "" {
			keys[name] = v
		}
	}
	return keys, nil
}
