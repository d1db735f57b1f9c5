// Command iotda-mock serves the IoTDA device-policy mock over HTTP, for
// local use and the demo.
//
//	iotda-mock [-listen 127.0.0.1:0] [-project-id ID] [-keys-file FILE]
//	           [-access-key AK -secret-key SK] [-security-token TOKEN] [-token TOKEN]...
//	           [-latency 20ms] [-read-lag 2s] [-state FILE [-recover]] [-read-timeout 15s] [-idle-timeout 1m]
//	           [-body-wait 2s] [-url-file FILE]
//
// The keys it accepts come from the flags, else from the environment
// (IOTDA_MOCK_ACCESS_KEY, IOTDA_MOCK_SECRET_KEY, IOTDA_MOCK_SECURITY_TOKEN,
// IOTDA_MOCK_TOKEN), else from the keys file (lines NAME=VALUE with those
// names; blank lines and lines starting with # are ignored), else the
// mock package's test key pair. An access key without a secret key (or the
// reverse), or a name with an empty value in the keys file, is refused at
// start; a keys file that its group or others may read or write draws a
// warning. Flags are visible to every user of the
// machine in the process list: give secrets in the environment or the keys
// file (the program warns when a secret comes from a flag).
//
// A request must send its headers within 10 seconds and its whole body
// within -read-timeout (else it is answered 408, and a malformed body 400);
// an idle keep-alive connection is closed after -idle-timeout. At most 32
// requests have their bodies (1 MiB at most) in memory at once; a request
// that gets none of these buffers within -body-wait is answered 503 with
// Retry-After, and a request that cannot be authentic (no credentials, a
// bad token, an unknown access key, a stale date) is answered before its
// body is read.
//
// It prints one line, "iotda-mock listening on http://ADDR", to standard
// output once it accepts connections (ADDR is the bound address, so port 0
// works). With -url-file it also writes "http://ADDR" and a newline to FILE
// at that moment, atomically (a temporary file renamed into place), so a
// script can wait for FILE to exist and never reads half of it; the file is
// removed at shutdown. It logs every request (method, path, status, how it
// authenticates: SDK-HMAC-SHA256, V11-HMAC-SHA256, token or none; duration)
// to standard error, and serves until SIGINT or SIGTERM, then shuts down gracefully and
// exits 0. Without flags it accepts the mock package's test project and
// test key pair. Invalid flags or keys, and a state file it refuses, exit 2;
// a failure to listen or serve exits 1.
//
// With -read-lag D, show, list and list-targets see the state as it was D
// ago while writes act at once, as on a platform with eventual consistency.
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
	"slices"
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
	// maxKeysFileBytes bounds the keys file read.
	maxKeysFileBytes = 64 << 10
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
	opts, code, ok := parseFlags(args, stderr)
	if !ok {
		return code
	}
	creds, tokens, err := resolveKeys(opts, getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "iotda-mock: %v\n", err)
		return 2
	}
	srv, err := mock.New(mock.Config{
		ProjectID:   opts.projectID,
		Credentials: []mock.Credential{creds},
		Tokens:      tokens,
		Latency:     opts.latency,
		ReadLag:     opts.readLag,
		StatePath:   opts.statePath,
		Recover:     opts.recoverState,
		BodyWait:    opts.bodyWait,
	})
	if err != nil {
		fmt.Fprintf(stderr, "iotda-mock: %v\n", err)
		return 2
	}
	return serve(ctx, opts, srv, stdout, stderr)
}

// options are the program's flags.
type options struct {
	listen, projectID, keysFile, statePath, urlFile string
	accessKey, secretKey, securityToken             string
	tokens                                          []string
	recoverState                                    bool
	latency, readLag, readTimeout, idleTimeout      time.Duration
	bodyWait                                        time.Duration
	// set names the flags given on the command line.
	set map[string]bool
}

// parseFlags parses and checks the flags; when ok is false the program
// exits with code.
func parseFlags(args []string, stderr io.Writer) (opts options, code int, ok bool) {
	fs := flag.NewFlagSet("iotda-mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.listen, "listen", "127.0.0.1:0", "address to listen on (host:port; port 0 picks a free port)")
	fs.StringVar(&opts.projectID, "project-id", mock.TestProjectID, "the project id accepted in paths")
	fs.StringVar(&opts.keysFile, "keys-file", "", "file of NAME=VALUE lines giving "+envAccessKey+", "+envSecretKey+", "+envSecurityToken+" or "+envToken+" (readable by its owner only)")
	fs.StringVar(&opts.accessKey, "access-key", "", "access key (AK) accepted in signatures (else $"+envAccessKey+", the keys file, or the test key)")
	fs.StringVar(&opts.secretKey, "secret-key", "", "secret key (SK) of the access key; visible in the process list, prefer $"+envSecretKey+" or -keys-file")
	fs.StringVar(&opts.securityToken, "security-token", "", "makes the key pair temporary: requests must carry this X-Security-Token; prefer $"+envSecurityToken)
	fs.DurationVar(&opts.latency, "latency", 0, "latency added to every request, e.g. 20ms")
	fs.DurationVar(&opts.readLag, "read-lag", 0, "make show, list and list-targets see the state as it was this long ago (eventual consistency), e.g. 2s")
	fs.StringVar(&opts.statePath, "state", "", "file the state is kept in (a bbolt database, created when missing, with FILE.generation beside it), so it survives a restart")
	fs.BoolVar(&opts.recoverState, "recover", false, "with -state, use a state file that is older than, or other than, the one the mock last wrote, or start empty when it is missing, instead of refusing to start")
	fs.DurationVar(&opts.readTimeout, "read-timeout", 15*time.Second, "time a request may take to send its headers and body")
	fs.DurationVar(&opts.idleTimeout, "idle-timeout", time.Minute, "time an idle keep-alive connection is kept open")
	fs.DurationVar(&opts.bodyWait, "body-wait", mock.DefaultBodyWait, "time a request waits for one of the 32 body buffers before it is answered 503 with Retry-After")
	fs.StringVar(&opts.urlFile, "url-file", "", "file the mock's URL is written to, atomically, once it accepts connections (removed at shutdown)")
	fs.Func("token", "IAM token accepted in X-Auth-Token (repeatable); prefer $"+envToken, func(v string) error {
		if v == "" {
			return errors.New("a token must not be empty")
		}
		opts.tokens = append(opts.tokens, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return opts, 0, false
		}
		return opts, 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "iotda-mock: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return opts, 2, false
	}
	if opts.latency < 0 || opts.readLag < 0 {
		fmt.Fprintln(stderr, "iotda-mock: -latency and -read-lag must not be negative")
		return opts, 2, false
	}
	if opts.recoverState && opts.statePath == "" {
		fmt.Fprintln(stderr, "iotda-mock: -recover needs -state")
		return opts, 2, false
	}
	if opts.readTimeout <= 0 || opts.idleTimeout <= 0 || opts.bodyWait <= 0 {
		fmt.Fprintln(stderr, "iotda-mock: -read-timeout, -idle-timeout and -body-wait must be positive")
		return opts, 2, false
	}
	opts.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { opts.set[f.Name] = true })
	for _, name := range []string{"secret-key", "security-token", "token"} {
		if opts.set[name] {
			fmt.Fprintf(stderr, "iotda-mock: warning: -%s puts a secret in the process list; use the environment or -keys-file\n", name)
		}
	}
	return opts, 0, true
}

// serve listens and serves srv until ctx is done, then shuts down
// gracefully; it returns the exit code.
func serve(ctx context.Context, opts options, srv *mock.Server, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		logger.Error("cannot listen", "address", opts.listen, "error", err)
		return 1
	}
	hs := &http.Server{
		Handler:           logRequests(logger, srv),
		ReadHeaderTimeout: min(readHeaderTimeout, opts.readTimeout),
		ReadTimeout:       opts.readTimeout,
		IdleTimeout:       opts.idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	if opts.urlFile != "" {
		if err := writeFileAtomic(opts.urlFile, url+"\n"); err != nil {
			logger.Error("cannot write the URL file", "error", err)
			ln.Close()
			return 1
		}
		defer os.Remove(opts.urlFile)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "iotda-mock listening on %s\n", url)
	logger.Info("serving", "address", ln.Addr().String(), "project_id", opts.projectID, "state", opts.statePath)

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
			"auth", authKind(r), "duration", time.Since(start).Round(time.Microsecond).String())
	})
}

// authKind names how a request authenticates: the signing algorithm, a
// token, or none. A script reading the log can tell which signature a
// client really used; no value of the header is logged.
func authKind(r *http.Request) string {
	if r.Header.Get("X-Auth-Token") != "" {
		return "token"
	}
	algorithm, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch algorithm {
	case "":
		return "none"
	case "SDK-HMAC-SHA256", "V11-HMAC-SHA256":
		return algorithm
	}
	return "other"
}

// keyNames are the names of the keys, in the environment and a keys file.
var keyNames = []string{envAccessKey, envSecretKey, envSecurityToken, envToken}

// resolveKeys picks the credential and tokens the mock accepts: for each
// key, the flag, else the environment, else the keys file. An access key
// and its secret key come together: one without the other is refused, not
// completed with the test pair's, which anyone can read. With neither, the
// test pair is used.
func resolveKeys(opts options, getenv func(string) string, stderr io.Writer) (mock.Credential, []string, error) {
	file := map[string]string{}
	if opts.keysFile != "" {
		var err error
		if file, err = readKeysFile(opts.keysFile, stderr); err != nil {
			return mock.Credential{}, nil, err
		}
	}
	// pick returns a key's value and whether it was given at all.
	pick := func(flagName, flagValue, name string) (string, bool, error) {
		switch {
		case opts.set[flagName]:
			if flagValue == "" {
				return "", false, fmt.Errorf("-%s is empty", flagName)
			}
			return flagValue, true, nil
		case getenv(name) != "":
			return getenv(name), true, nil
		}
		v, ok := file[name]
		return v, ok, nil
	}
	ak, akGiven, err := pick("access-key", opts.accessKey, envAccessKey)
	if err != nil {
		return mock.Credential{}, nil, err
	}
	sk, skGiven, err := pick("secret-key", opts.secretKey, envSecretKey)
	if err != nil {
		return mock.Credential{}, nil, err
	}
	st, _, err := pick("security-token", opts.securityToken, envSecurityToken)
	if err != nil {
		return mock.Credential{}, nil, err
	}
	switch {
	case akGiven && !skGiven:
		return mock.Credential{}, nil, fmt.Errorf("an access key is given but no secret key: give %s (in the environment or the keys file) with %s; the mock does not complete a key pair with its public test secret", envSecretKey, envAccessKey)
	case skGiven && !akGiven:
		return mock.Credential{}, nil, fmt.Errorf("a secret key is given but no access key: give %s with %s", envAccessKey, envSecretKey)
	case !akGiven:
		ak, sk = mock.TestAccessKey, mock.TestSecretKey
	}
	tokens := opts.tokens
	if !opts.set["token"] {
		if tok, ok, _ := pick("token", "", envToken); ok {
			tokens = append(tokens, tok)
		}
	}
	return mock.Credential{AccessKey: ak, SecretKey: sk, SecurityToken: st}, tokens, nil
}

// readKeysFile reads a keys file. A name given with an empty value is
// refused (an empty secret would otherwise silently mean "not given"); a
// file that its group or others may read or write draws a warning, as ssh
// gives for a private key.
func readKeysFile(path string, stderr io.Writer) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the keys file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the keys file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		fmt.Fprintf(stderr, "iotda-mock: warning: keys file %s is accessible by others (mode %04o); it holds secrets: chmod 600 %s\n", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeysFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the keys file: %w", err)
	}
	if len(data) > maxKeysFileBytes {
		return nil, fmt.Errorf("keys file %s is larger than %d bytes", path, maxKeysFileBytes)
	}
	keys := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, fmt.Errorf("keys file %s, line %d: not NAME=VALUE", path, i+1)
		case !slices.Contains(keyNames, name):
			return nil, fmt.Errorf("keys file %s, line %d: unknown name %q (want %s)", path, i+1, name, strings.Join(keyNames, ", "))
		case value == "":
			return nil, fmt.Errorf("keys file %s, line %d: %s is empty", path, i+1, name)
		}
		keys[name] = value
	}
	return keys, nil
}
