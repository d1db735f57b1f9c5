// Command iotda-mock serves the IoTDA device-policy mock over HTTP, for
// local use and the demo.
//
//	iotda-mock [-listen 127.0.0.1:0] [-project-id ID] [-access-key AK -secret-key SK]
//	           [-security-token TOKEN] [-token TOKEN]... [-latency 20ms] [-state FILE]
//
// It prints one line, "iotda-mock listening on http://ADDR", to standard
// output once it accepts connections (ADDR is the bound address, so port 0
// works), logs every request (method, path, status, duration) to standard
// error, and serves until SIGINT or SIGTERM, then shuts down gracefully and
// exits 0. Without flags it accepts the mock package's test project and
// test key pair. Invalid flags exit 2; a failure to listen or serve exits 1.
//
// A signed request must sign Instance-Id, X-Project-Id and X-Security-Token
// when it carries them, and its body is hashed as received (see the mock
// package's documentation).
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
	"syscall"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// shutdownTimeout bounds how long in-flight requests may take to finish.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it serves until ctx is done and returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("iotda-mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (host:port; port 0 picks a free port)")
	projectID := fs.String("project-id", mock.TestProjectID, "the project id accepted in paths")
	accessKey := fs.String("access-key", mock.TestAccessKey, "access key (AK) accepted in signatures")
	secretKey := fs.String("secret-key", mock.TestSecretKey, "secret key (SK) of the access key")
	securityToken := fs.String("security-token", "", "makes the key pair temporary: requests must carry this X-Security-Token")
	latency := fs.Duration("latency", 0, "latency added to every request, e.g. 20ms")
	statePath := fs.String("state", "", "JSON file the state is loaded from and saved to, so it survives a restart")
	var tokens []string
	fs.Func("token", "IAM token accepted in X-Auth-Token (repeatable)", func(v string) error {
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
	srv, err := mock.New(mock.Config{
		ProjectID:   *projectID,
		Credentials: []mock.Credential{{AccessKey: *accessKey, SecretKey: *secretKey, SecurityToken: *securityToken}},
		Tokens:      tokens,
		Latency:     *latency,
		StatePath:   *statePath,
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
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "iotda-mock listening on http://%s\n", ln.Addr())
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
	return 0
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
