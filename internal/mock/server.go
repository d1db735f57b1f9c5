package mock

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// Operation names one of the eight API operations.
type Operation string

// The eight operations, named as in the official SDK.
const (
	OpCreate      Operation = "CreateDevicePolicy"
	OpUpdate      Operation = "UpdateDevicePolicy"
	OpShow        Operation = "ShowDevicePolicy"
	OpDelete      Operation = "DeleteDevicePolicy"
	OpList        Operation = "ListDevicePolicies"
	OpBind        Operation = "BindDevicePolicy"
	OpUnbind      Operation = "UnbindDevicePolicy"
	OpListTargets Operation = "ShowTargetsInDevicePolicy"
)

// Credential is an AK/SK pair the mock accepts. A non-empty SecurityToken
// makes it a temporary key that must come with a matching X-Security-Token
// header.
type Credential struct{ AccessKey, SecretKey, SecurityToken string }

// Config configures a Server.
type Config struct {
	// ProjectID is required: the only project id accepted in paths.
	ProjectID string
	// Credentials are the AK/SK pairs accepted (both signing algorithms).
	Credentials []Credential
	// Tokens are the IAM tokens accepted in X-Auth-Token.
	Tokens []string
	// Latency is added to every request.
	Latency time.Duration
	// StatePath, when set, names the file the state is kept in (a bbolt
	// database, created when missing, with StatePath + ".generation"
	// beside it); a change is answered only once it is on disk. See the
	// package documentation.
	StatePath string
	// Recover accepts a state file that does not follow from the one the
	// mock last committed to (an older copy, another file, or none at
	// all), instead of refusing to start.
	Recover bool
	// MaxBodies bounds the requests whose bodies are in memory at once;
	// more wait for their turn before their body is read. Zero means
	// DefaultMaxBodies.
	MaxBodies int
	// BodyWait bounds that wait: a request that gets no body buffer within
	// it is answered 503 with Retry-After. Zero means DefaultBodyWait.
	BodyWait time.Duration
	// ReadLag, when positive, makes reads lag behind writes as on a
	// platform whose reads are served by replicas: ShowDevicePolicy,
	// ListDevicePolicies and ShowTargetsInDevicePolicy see each instance as
	// it was ReadLag ago (a policy created less than ReadLag ago is 404 on
	// show, a target bound since then is not listed), while writes act on
	// the current state. The out-of-band helpers see the current state.
	ReadLag time.Duration
	// Now is the clock; nil means time.Now. Times in answers, ids and the
	// signature check (X-Sdk-Date within 15 minutes of Now) all use it.
	Now func() time.Time
}

// Fault is a failure injected into calls of one operation.
type Fault struct {
	// Status is the status to answer with (e.g. 503, 500, 429); 0 with
	// Drop. Zero (or anything outside 100..599) without Drop means 500.
	Status int
	// RetryAfter, when positive, adds a Retry-After header in whole
	// seconds, rounded up.
	RetryAfter time.Duration
	// AfterAction carries out the operation first and then answers with
	// the fault: the server did act.
	AfterAction bool
	// Drop closes the connection without answering, a transport error for
	// the client. Go's http.Transport silently retries a GET that fails on
	// a reused keep-alive connection; NewTestServer disables keep-alives so
	// that a dropped call always reaches the client as an error.
	Drop bool
	// Count is how many calls of the operation the fault applies to; less
	// than 1 means 1.
	Count int
}

// DefaultMaxBodies is how many requests may have their bodies in memory at
// once when Config.MaxBodies is zero: at most 32 MiB of bodies.
const DefaultMaxBodies = 32

// DefaultBodyWait is how long a request waits for a body buffer when
// Config.BodyWait is zero.
const DefaultBodyWait = 2 * time.Second

// bodyBusyRetryAfter is the Retry-After, in seconds, of a request that
// found no body buffer: buffers come back as soon as requests are answered.
const bodyBusyRetryAfter = 1

// Server is the mock IoTDA API. It is an http.Handler.
type Server struct {
	projectID string
	creds     map[string]Credential
	tokens    []string
	now       func() time.Time
	verifier  signer.Verifier
	// bodies holds the body buffers: a request takes one before it reads
	// its body and gives it back when it is answered, so at most
	// cap(bodies) bodies are in memory at once and their memory is reused
	// instead of left to the garbage collector.
	bodies chan []byte
	// bodyWait bounds the wait for a body buffer.
	bodyWait time.Duration
	// readLag is Config.ReadLag; history holds, per instance id, its
	// states before the changes of the last readLag, oldest first
	// (guarded by stMu; see lag.go).
	readLag time.Duration
	history map[string][]pastState

	// stMu guards the state: writers hold it to change the state in
	// memory, readers share it. Nobody holds it while the state file is
	// written, so reads never wait on the disk.
	stMu sync.RWMutex
	st   *store
	// version counts the changes of st.
	version uint64
	// disk keeps the state in the state file (persist.go); nil without one.
	disk *disk

	// listings keeps, until the state next changes (listingsAt is the
	// version they were made at), the sorted bindings of each policy and
	// target type listed: the pages of one listing then sort the bindings
	// once instead of once a page, which made listing 5,000 targets cost
	// the mock more CPU than the client.
	listingsMu sync.Mutex
	listingsAt uint64
	listings   map[listingKey][]targetRecord

	// mu guards the test hooks and counters.
	mu             sync.Mutex
	latency        time.Duration
	calls          map[Operation]int
	faults         map[Operation][]Fault
	targetFailures map[target]TargetFailure
}

// orDefault refuses a negative setting and puts def in place of zero.
func orDefault[T ~int | ~int64](name string, v, def T) (T, error) {
	switch {
	case v < 0:
		return v, fmt.Errorf("mock: %s %v is negative", name, v)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// New validates cfg and loads the state file when one is configured.
func New(cfg Config) (*Server, error) {
	if cfg.ProjectID == "" || len(cfg.ProjectID) > maxInstanceIDChars || !isName(cfg.ProjectID) {
		return nil, fmt.Errorf("mock: project id %s must be 1 to %d letters, digits, underscores or hyphens", quote(cfg.ProjectID), maxInstanceIDChars)
	}
	if len(cfg.Credentials) == 0 && len(cfg.Tokens) == 0 {
		return nil, errors.New("mock: at least one credential or token is required")
	}
	if cfg.Latency < 0 {
		return nil, fmt.Errorf("mock: latency %s is negative", cfg.Latency)
	}
	var err error
	if cfg.MaxBodies, err = orDefault("MaxBodies", cfg.MaxBodies, DefaultMaxBodies); err != nil {
		return nil, err
	}
	if cfg.ReadLag < 0 {
		return nil, fmt.Errorf("mock: ReadLag %s is negative", cfg.ReadLag)
	}
	if cfg.BodyWait, err = orDefault("BodyWait", cfg.BodyWait, DefaultBodyWait); err != nil {
		return nil, err
	}
	s := &Server{
		projectID:      cfg.ProjectID,
		creds:          map[string]Credential{},
		now:            cfg.Now,
		latency:        cfg.Latency,
		calls:          map[Operation]int{},
		faults:         map[Operation][]Fault{},
		targetFailures: map[target]TargetFailure{},
		bodies:         make(chan []byte, cfg.MaxBodies),
		bodyWait:       cfg.BodyWait,
		readLag:        cfg.ReadLag,
		history:        map[string][]pastState{},
	}
	for range cfg.MaxBodies {
		s.bodies <- nil // allocated when first needed
	}
	if s.now == nil {
		s.now = time.Now
	}
	for i, c := range cfg.Credentials {
		if c.AccessKey == "" || c.SecretKey == "" {
			return nil, fmt.Errorf("mock: credential %d needs both an access key and a secret key", i)
		}
		if _, dup := s.creds[c.AccessKey]; dup {
			return nil, fmt.Errorf("mock: access key of credential %d appears twice", i)
		}
		s.creds[c.AccessKey] = c
	}
	for i, t := range cfg.Tokens {
		if t == "" {
			return nil, fmt.Errorf("mock: token %d is empty", i)
		}
		s.tokens = append(s.tokens, t)
	}
	s.verifier = signer.Verifier{
		SecretKey: func(ak string) (string, bool) {
			c, ok := s.creds[ak]
			return c.SecretKey, ok
		},
		Now: s.now,
	}
	s.st = newStore()
	if cfg.StatePath != "" {
		if err := s.openState(cfg.StatePath, cfg.Recover); err != nil {
			return nil, fmt.Errorf("mock: %w", err)
		}
	}
	return s, nil
}

// Calls returns how many requests were routed to op, whatever their
// outcome.
func (s *Server) Calls(op Operation) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls returns how many requests were routed to any operation.
// Requests for unknown paths or methods are not counted.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// ResetCalls sets every counter back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// InjectFault queues f for op: the next f.Count calls of op get it, after
// any fault queued before for op has been used up.
func (s *Server) InjectFault(op Operation, f Fault) {
	f.Count = max(f.Count, 1)
	if !f.Drop && (f.Status < 100 || f.Status > 599) {
		f.Status = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], f)
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// FailTarget makes every BindDevicePolicy call answer a failure for that
// target (in failure_targets, within a 200 answer) until
// ClearTargetFailures. The out-of-band Bind is not affected.
func (s *Server) FailTarget(targetType, targetID, errorCode, errorMsg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.targetFailures[target{typ: targetType, id: targetID}] = TargetFailure{TargetID: targetID, ErrorCode: errorCode, ErrorMsg: errorMsg}
}

// ClearTargetFailures removes every failure set by FailTarget.
func (s *Server) ClearTargetFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.targetFailures)
}

// SetLatency changes the latency added to every request from now on.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// nextFault takes the fault the next call of op gets, if any.
func (s *Server) nextFault(op Operation) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queue := s.faults[op]
	if len(queue) == 0 {
		return Fault{}, false
	}
	f := queue[0]
	queue[0].Count--
	if queue[0].Count == 0 {
		queue = queue[1:]
	}
	if len(queue) == 0 {
		delete(s.faults, op)
	} else {
		s.faults[op] = queue
	}
	return f, true
}

const (
	headerRequestID     = "X-Request-Id"
	headerInstanceID    = "Instance-Id"
	headerAuthToken     = "X-Auth-Token"
	headerSecurityToken = "X-Security-Token"
	headerProjectID     = "X-Project-Id"
)

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set(headerRequestID, requestID)
	rt := routeRequest(r.Method, r.URL.Path)
	if rt.err == nil {
		s.mu.Lock()
		s.calls[rt.op]++
		s.mu.Unlock()
	}
	if !s.sleep(r.Context()) {
		return
	}
	if rt.err != nil {
		if rt.allow != "" {
			w.Header().Set("Allow", rt.allow)
		}
		writeError(w, requestID, rt.err)
		return
	}
	signed, e := s.authenticateHeaders(r)
	if e != nil {
		writeError(w, requestID, e)
		return
	}
	if r.ContentLength > maxBodyBytes {
		writeError(w, requestID, bodyTooLarge())
		return
	}
	var body []byte
	if r.ContentLength != 0 {
		buf, ok := s.takeBodyBuffer(w, r, requestID)
		if !ok {
			return
		}
		var err error
		body, err = readBody(r, buf)
		defer func() { s.bodies <- body[:0] }() // nothing keeps the body once answered
		if err != nil {
			unreadableBody(w, requestID, err)
			return
		}
		if len(body) > maxBodyBytes {
			writeError(w, requestID, bodyTooLarge())
			return
		}
	}
	if signed {
		if e := s.verifySignature(r, body); e != nil {
			writeError(w, requestID, e)
			return
		}
	}
	if rt.params["project_id"] != s.projectID || (r.Header.Get(headerProjectID) != "" && r.Header.Get(headerProjectID) != s.projectID) {
		writeError(w, requestID, &Error{Status: http.StatusForbidden, Code: "IOTDA.000003",
			Msg: "Forbidden. The project id of the request is not the project of the credentials."})
		return
	}
	if f, ok := s.nextFault(rt.op); ok {
		s.fault(w, r, requestID, rt, body, f)
		return
	}
	status, out := s.perform(rt, r, body)
	writeResult(w, requestID, status, out)
}

// sleep waits for the latency; false means the client gave up.
func (s *Server) sleep(ctx context.Context) bool {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request, requestID string, rt routed, body []byte, f Fault) {
	if f.AfterAction {
		s.perform(rt, r, body)
	}
	if f.Drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler) // closes the stream without an answer
		}
		conn.Close()
		return
	}
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	e := &Error{Status: f.Status, Code: fmt.Sprintf("IOTDA.000%03d", f.Status), Msg: "Injected fault: " + http.StatusText(f.Status) + "."}
	if f.Status == http.StatusTooManyRequests {
		e.Code, e.Msg = "APIGW.0308", "The throttling threshold has been reached."
	}
	writeError(w, requestID, e)
}

const (
	msgAuth    = "Incorrect IAM authentication information: "
	msgAKSK    = msgAuth + "verify aksk signature fail"
	iotdmScope = signer.DefaultService
)

func authError(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: codeAuthenticationFail, Msg: msg}
}

// authenticateHeaders makes every authentication check that does not need
// the body, so that a request that cannot be authentic is answered before
// its body is read. It accepts a configured token (signed false), or
// checks what can be checked of an AK/SK signature without the body
// (signed true: verifySignature must follow). As the gateway does, it
// verifies the signature over the headers SignedHeaders names only:
// X-Project-Id, X-Security-Token and Instance-Id may come unsigned (the
// huaweicloud provider's HTTP library adds the first two after signing),
// and what they say is checked on its own merits (the project here and in
// ServeHTTP, the token against the key, the instance id when the operation
// reads it).
func (s *Server) authenticateHeaders(r *http.Request) (signed bool, e *Error) {
	if token := r.Header.Get(headerAuthToken); token != "" {
		for _, t := range s.tokens {
			if subtle.ConstantTimeCompare([]byte(token), []byte(t)) == 1 {
				return false, nil
			}
		}
		return false, authError(msgAuth + "the token in X-Auth-Token is not valid.")
	}
	if r.Header.Get(signer.HeaderAuthorization) == "" {
		return false, authError(msgAuth + "the request has neither an X-Auth-Token nor an AK/SK signature.")
	}
	auth, err := s.verifier.CheckHeaders(r)
	if err != nil {
		return true, authError(msgAKSK + "; " + err.Error())
	}
	if auth.Algorithm == signer.AlgorithmDerived {
		if svc := auth.Scope[strings.LastIndex(auth.Scope, "/")+1:]; svc != iotdmScope {
			return true, authError(fmt.Sprintf("%s; the derived signing scope names service %s, not %s.", msgAKSK, quote(svc), iotdmScope))
		}
	}
	cred := s.creds[auth.AccessKey]
	sent := r.Header.Get(headerSecurityToken)
	switch {
	case cred.SecurityToken == "" && sent != "":
		return true, authError(msgAKSK + "; an X-Security-Token was sent with a permanent access key.")
	case cred.SecurityToken != "" && sent == "":
		return true, authError(msgAKSK + "; a temporary access key needs its X-Security-Token.")
	case cred.SecurityToken != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(cred.SecurityToken)) != 1:
		return true, authError(msgAKSK + "; the X-Security-Token does not belong to the access key.")
	}
	return true, nil
}

// verifySignature checks an AK/SK signature over the body received.
func (s *Server) verifySignature(r *http.Request, body []byte) *Error {
	if _, err := s.verifier.Verify(r, body); err != nil {
		return authError(msgAKSK + "; " + err.Error())
	}
	return nil
}

// takeBodyBuffer waits for a body buffer, at most bodyWait: when every
// buffer stays taken that long (slow senders hold them until their read
// timeout) the request is answered 503 with Retry-After, so a client is
// told to come back instead of waiting behind them. false means the
// request was answered.
func (s *Server) takeBodyBuffer(w http.ResponseWriter, r *http.Request, requestID string) ([]byte, bool) {
	select {
	case buf := <-s.bodies:
		return buf, true
	default:
	}
	timer := time.NewTimer(s.bodyWait)
	defer timer.Stop()
	select {
	case buf := <-s.bodies:
		return buf, true
	case <-timer.C:
		w.Header().Set("Retry-After", strconv.Itoa(bodyBusyRetryAfter))
		w.Header().Set("Connection", "close") // its body is not read
		writeError(w, requestID, &Error{Status: http.StatusServiceUnavailable, Code: codeBodiesBusy,
			Msg: fmt.Sprintf("Service unavailable. Every request body buffer of the mock stayed in use for %s; retry after %d second.", s.bodyWait, bodyBusyRetryAfter)})
		return nil, false
	case <-r.Context().Done():
		panic(http.ErrAbortHandler) // the client is gone: close, answer nothing
	}
}

// unreadableBody answers a request whose body could not be read in full:
// 408 when the server's read timeout cut it, 400 when it was malformed
// (a broken chunked encoding, a body shorter than announced). Nothing
// after this reads the body, so no signature check and no operation can
// answer it with a success.
func unreadableBody(w http.ResponseWriter, requestID string, err error) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		writeError(w, requestID, &Error{Status: http.StatusRequestTimeout, Code: codeBodyTimeout,
			Msg: "Request timeout. The request body did not arrive within the server's read timeout."})
		return
	}
	writeError(w, requestID, badRequest("The request body cannot be read: %s.", err.Error()))
}

func bodyTooLarge() *Error {
	return badRequest("The request body is larger than %d bytes.", maxBodyBytes)
}

// readBody reads at most maxBodyBytes+1 bytes of the body into buf, grown
// once to the announced length when there is one (a body longer than
// announced is seen by the extra byte).
func readBody(r *http.Request, buf []byte) ([]byte, error) {
	buf = buf[:0]
	if r.ContentLength > 0 {
		buf = slices.Grow(buf, int(r.ContentLength)+1)
	}
	limited := io.LimitReader(r.Body, maxBodyBytes+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(len(buf), 512), maxBodyBytes+1-len(buf)))
		}
		n, err := limited.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

func writeError(w http.ResponseWriter, requestID string, e *Error) {
	body := ErrorBody{ErrorCode: e.Code, ErrorMsg: e.Msg}
	if strings.HasPrefix(e.Code, "APIGW.") {
		body.RequestID = requestID
	}
	writeJSON(w, e.Status, body)
}

func writeResult(w http.ResponseWriter, requestID string, status int, out any) {
	if e, ok := out.(*Error); ok {
		writeError(w, requestID, e)
		return
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error_code":"IOTDA.000500","error_msg":"Internal error: the answer cannot be encoded."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
