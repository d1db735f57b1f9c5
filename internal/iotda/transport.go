package iotda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// authenticator adds credentials to one attempt of a request.
type authenticator struct {
	creds     Credentials
	signing   signer.Credentials
	useToken  bool
	now       func() time.Time
	algorithm string
}

func newAuthenticator(cfg Config, host, region string) (*authenticator, error) {
	a := &authenticator{creds: cfg.Credentials, now: cfg.Now}
	if a.now == nil {
		a.now = time.Now
	}
	if cfg.Credentials.AuthToken != "" {
		a.useToken = true
		return a, nil
	}
	if cfg.Credentials.AccessKey == "" || cfg.Credentials.SecretKey == "" {
		return nil, errors.New("credentials are required: an access key and a secret key, or an auth token")
	}
	algorithm := cfg.SigningAlgorithm
	if algorithm == "" || algorithm == SigningAuto {
		algorithm = signingFor(host)
	}
	switch algorithm {
	case signer.AlgorithmBasic:
	case signer.AlgorithmDerived:
		if region == "" {
			return nil, errors.New("derived signing (" + signer.AlgorithmDerived + ") needs a region")
		}
	default:
		return nil, fmt.Errorf("signing algorithm %q is not one of %s, %s, %s", algorithm, SigningAuto, signer.AlgorithmBasic, signer.AlgorithmDerived)
	}
	a.algorithm = algorithm
	a.signing = signer.Credentials{
		AccessKey: cfg.Credentials.AccessKey,
		SecretKey: cfg.Credentials.SecretKey,
		Algorithm: algorithm,
		Region:    region,
	}
	return a, nil
}

func (a *authenticator) apply(req *http.Request, body []byte) error {
	if a.useToken {
		req.Header.Set("X-Auth-Token", a.creds.AuthToken)
		return nil
	}
	if a.creds.SecurityToken != "" {
		req.Header.Set("X-Security-Token", a.creds.SecurityToken)
	}
	return signer.Sign(req, body, a.signing, a.now())
}

// signingTransport authenticates every attempt afresh (a retry gets a new
// X-Sdk-Date and signature) and logs it without secrets.
type signingTransport struct {
	base      http.RoundTripper
	auth      *authenticator
	userAgent string
	logger    Logger
	projectID string
	instance  string
	counter   *CallCounter
}

func (t *signingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header.Set("X-Project-Id", t.projectID)
	if t.instance != "" {
		out.Header.Set("Instance-Id", t.instance)
	}
	if t.userAgent != "" {
		out.Header.Set("User-Agent", t.userAgent)
	}
	if err := t.auth.apply(out, body); err != nil {
		return nil, err
	}

	if n, ok := req.Context().Value(attemptsKey).(*atomic.Int32); ok {
		n.Add(1)
	}
	t.counter.add(operationFrom(req.Context()))
	start := time.Now()
	resp, err := t.base.RoundTrip(out)
	if t.logger != nil {
		fields := map[string]any{
			"operation":   string(operationFrom(req.Context())),
			"method":      req.Method,
			"path":        req.URL.Path,
			"duration_ms": time.Since(start).Milliseconds(),
		}
		if err != nil {
			fields["error"] = err.Error()
		} else {
			fields["status"] = resp.StatusCode
			fields["request_id"] = resp.Header.Get("X-Request-Id")
		}
		t.logger.Debug(req.Context(), "IoTDA API request", fields)
	}
	return resp, err
}

type contextKey int

const (
	operationKey contextKey = iota
	noReplayKey
	attemptsKey
)

func withOperation(ctx context.Context, op Operation) context.Context {
	return context.WithValue(ctx, operationKey, op)
}

func operationFrom(ctx context.Context) Operation {
	op, _ := ctx.Value(operationKey).(Operation)
	return op
}

// withAttempts counts in n every attempt of the call.
func withAttempts(ctx context.Context, n *atomic.Int32) context.Context {
	return context.WithValue(ctx, attemptsKey, n)
}

// attempts returns how many attempts of the call were sent.
func attempts(ctx context.Context) int {
	if n, ok := ctx.Value(attemptsKey).(*atomic.Int32); ok {
		return int(n.Load())
	}
	return 0
}

// withoutReplay marks a call that must not be sent twice if the server may
// have acted on it.
func withoutReplay(ctx context.Context) context.Context {
	return context.WithValue(ctx, noReplayKey, true)
}

func noReplay(ctx context.Context) bool {
	v, _ := ctx.Value(noReplayKey).(bool)
	return v
}

// checkRetry retries 429, 5xx and transport errors, bounded by the context.
// A call marked withoutReplay is retried only on 429 and on errors raised
// before the request was written (the connection could not be made). An
// answer whose Retry-After asks for more than maxRetryAfter is not retried:
// the caller gets the error at once instead of a call held for as long as
// the server likes. Nor is a call whose wait before the retry would end
// after its deadline (Config.MaxRetryTime, or the caller's).
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	select {
	case <-ctx.Done():
		// The caller's context or the call's time ended: do says which,
		// with the attempt's own error.
		return false, nil
	default:
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Add(c.longestWait(attempts(ctx), resp)).Before(deadline) {
		return false, nil // the wait before a retry would outlast the call's time
	}
	noReplay := noReplay(ctx)
	if err != nil {
		if errors.Is(err, http.ErrSchemeMismatch) {
			return false, nil // the same answer every time: the endpoint's scheme is wrong
		}
		if noReplay {
			return notSent(err), nil
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if _, tooLong := c.retryAfterTooLong(resp); tooLong {
		return false, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case noReplay:
		return false, nil
	case retryableStatus(resp.StatusCode):
		return true, nil
	}
	return false, nil
}

// longestWait is the longest backoff can wait before the retry that
// follows attempt n (counted from 1).
func (c *Client) longestWait(n int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return min(d, c.maxRetryAfter)
		}
	}
	if n-1 >= 30 {
		return c.http.RetryWaitMax
	}
	return min(c.http.RetryWaitMin<<(n-1), c.http.RetryWaitMax)
}

func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || (status >= 500 && status != http.StatusNotImplemented)
}

// retryAfterTooLong returns the wait a retryable answer's Retry-After asks
// for when it is longer than the client honours.
func (c *Client) retryAfterTooLong(resp *http.Response) (time.Duration, bool) {
	if resp == nil || !retryableStatus(resp.StatusCode) {
		return 0, false
	}
	d, ok := retryAfter(resp.Header.Get("Retry-After"))
	return d, ok && d > c.maxRetryAfter
}

// notSent reports whether a transport error happened while connecting,
// before any byte of the request was written: the connection could not be
// made, or an https endpoint answered the TLS handshake in plain HTTP.
func notSent(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial" || errors.Is(err, http.ErrSchemeMismatch)
}

// backoff waits what Retry-After asks for (checkRetry has refused waits
// longer than maxRetryAfter), otherwise an exponential delay with jitter: a
// random duration between half and all of min*2^attempt, capped at max.
func (c *Client) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			return min(d, c.maxRetryAfter)
		}
	}
	d := maxWait
	if attempt < 30 {
		d = min(minWait<<attempt, maxWait)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

func retryAfter(value string) (time.Duration, bool) {
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}
