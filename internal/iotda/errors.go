package iotda

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNotFound is matched (with errors.Is) by the error of a call that IoTDA
// answered with 404: the policy does not exist. A 404 from the API gateway
// (an unknown path, as a wrong endpoint gives) or without an IoTDA error
// body is not ErrNotFound, so a misconfigured endpoint never looks like
// deleted policies.
var ErrNotFound = errors.New("not found")

// ErrOutcomeUnknown is matched (with errors.Is) by the error of a call that
// must not be sent twice (a create) when it failed after the request was
// sent: the API may or may not have acted on it.
var ErrOutcomeUnknown = errors.New("the API may have acted on the request before it failed")

// errNoAnswer is matched (with errors.Is) by the error of a call whose
// endpoint took the request and did not answer in time: within the
// request timeout, or before the longest time of a call ran out.
var errNoAnswer = errors.New("the endpoint did not answer")

// noAnswer is the error of a call that timed out after the request was
// sent. It says which limit ended it, so a user knows what to raise if
// the endpoint is only slow.
type noAnswer struct {
	endpoint       *url.URL
	timeout, limit time.Duration
	// cut is true when the longest time of a call (limit) ended it, false
	// when its last attempt ran out of the request timeout.
	cut      bool
	attempts int
	err      error
}

func (e *noAnswer) Error() string {
	tries := ""
	if e.attempts > 1 {
		tries = fmt.Sprintf(", in %d attempts", e.attempts)
	}
	if e.cut {
		return fmt.Sprintf("the endpoint %s did not answer%s; gave up after %s, the longest time of one call with its retries", e.endpoint.Redacted(), tries, e.limit)
	}
	return fmt.Sprintf("the endpoint %s did not answer within %s, the request timeout%s", e.endpoint.Redacted(), e.timeout, tries)
}

func (e *noAnswer) Unwrap() []error { return []error{e.err, errNoAnswer} }

// timedOut reports whether a transport error is a timeout: the request
// timeout of an attempt, or the end of the call's time.
func timedOut(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// outcomeUnknown is the error of a call that may have been acted on: its
// text is the failure's followed by ErrOutcomeUnknown's in parentheses, and
// it matches both.
type outcomeUnknown struct{ err error }

func (e *outcomeUnknown) Error() string {
	return e.err.Error() + " (" + ErrOutcomeUnknown.Error() + ")"
}

func (e *outcomeUnknown) Unwrap() []error { return []error{e.err, ErrOutcomeUnknown} }

// APIError is every failure the API answered with a status other than the
// expected one. It carries what a user needs to act and to ask support.
type APIError struct {
	Operation  string // the API operation, e.g. "CreateDevicePolicy"
	StatusCode int
	Code       string // error_code, e.g. "IOTDA.000006"
	Message    string // error_msg
	RequestID  string // X-Request-Id
	Attempts   int    // how many times the call was sent
	// RetryAfter is set when the answer's Retry-After asked for a longer
	// wait than MaxRetryAfter, the longest the client honours: the call was
	// not retried.
	RetryAfter    time.Duration
	MaxRetryAfter time.Duration
}

// Error says what failed, with the API's own code and message.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Operation, e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if text := http.StatusText(e.StatusCode); text != "" {
		fmt.Fprintf(&b, ": %s", text)
	}
	if hint := e.hint(); hint != "" {
		fmt.Fprintf(&b, " (%s)", hint)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request id %s]", e.RequestID)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch {
	case e.RetryAfter > 0:
		return fmt.Sprintf("the API asked to retry after %s, longer than the longest wait allowed (%s), so the call was not retried; try again later or allow a longer Retry-After wait", e.RetryAfter, e.MaxRetryAfter)
	case e.StatusCode == http.StatusUnauthorized:
		return "the credentials were rejected: check the access key, secret key, security token or auth token, the signing algorithm and the system clock"
	case e.StatusCode == http.StatusForbidden:
		return "the credentials are valid but not allowed to do this: check the IAM permissions, the project id and the instance id"
	case e.StatusCode >= 300 && e.StatusCode < 400:
		return "the endpoint redirects, which the IoTDA API never does: check the endpoint"
	case e.StatusCode == http.StatusNotFound && !e.Is(ErrNotFound):
		return "the endpoint does not serve the IoTDA API: check the endpoint and the project id"
	case e.StatusCode == http.StatusTooManyRequests && e.Attempts > 1:
		return fmt.Sprintf("the API is throttling requests; gave up after %d attempts", e.Attempts)
	case e.StatusCode == http.StatusTooManyRequests:
		return "the API is throttling requests"
	case e.StatusCode >= 500 && e.Attempts > 1:
		return fmt.Sprintf("the service failed; gave up after %d attempts", e.Attempts)
	case e.StatusCode >= 500:
		return "the service failed"
	}
	return ""
}

// Is makes errors.Is(err, ErrNotFound) true for a 404 that IoTDA itself
// answered: one with an error code that is not the API gateway's.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound &&
		e.Code != "" && !strings.HasPrefix(e.Code, "APIGW.")
}
