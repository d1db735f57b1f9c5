package iotda

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNotFound is matched (with errors.Is) by the error of any call that the
// API answered with 404: the policy does not exist.
var ErrNotFound = errors.New("not found")

// APIError is every failure the API answered with a status other than the
// expected one. It carries what a user needs to act and to ask support.
type APIError struct {
	Operation  string // the API operation, e.g. "CreateDevicePolicy"
	StatusCode int
	Code       string // error_code, e.g. "IOTDA.000006"
	Message    string // error_msg
	RequestID  string // X-Request-Id
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
	case e.StatusCode == http.StatusUnauthorized:
		return "the credentials were rejected: check the access key, secret key, security token or auth token, the signing algorithm and the system clock"
	case e.StatusCode == http.StatusForbidden:
		return "the credentials are valid but not allowed to do this: check the IAM permissions, the project id and the instance id"
	case e.StatusCode == http.StatusTooManyRequests:
		return "the API is throttling requests; retries were exhausted"
	case e.StatusCode >= 500:
		return "the service failed; retries were exhausted"
	}
	return ""
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// IsAuthError reports whether err is the API rejecting the credentials.
func IsAuthError(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized
}
