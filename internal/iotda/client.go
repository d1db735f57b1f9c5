// Package iotda is the client of the Huawei Cloud IoTDA device-policy API:
// typed methods for the eight operations, AK/SK or token authentication,
// retries with backoff, paging and batching. It knows nothing of Terraform.
package iotda

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// Defaults of the settings a Config leaves unset.
const (
	DefaultMaxRetries   = 4
	defaultRetryWaitMin = 500 * time.Millisecond
	defaultRetryWaitMax = 30 * time.Second
	// DefaultRequestTimeout bounds one HTTP attempt: an endpoint that
	// accepts a request and never answers fails it in this time.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultMaxRetryTime bounds one call, its retries and the waits
	// between them included. With DefaultRequestTimeout, a create sent to
	// an endpoint that never answers fails in 2.5 minutes: 30 s for the
	// create, which is not resent, and 2 minutes for the listing that looks
	// for what it may have created.
	DefaultMaxRetryTime = 2 * time.Minute
	// DefaultMaxRetryAfter is the longest wait a Retry-After header can ask
	// for and still be honoured.
	DefaultMaxRetryAfter = time.Minute
)

// Bounds of the settings.
const (
	MaxMaxRetries       = 20
	MaxBatchParallelism = 16
)

// The signing algorithms. SigningAuto picks SigningDerived for standard and
// enterprise instance endpoints (host contains ".iotda-app.") and
// SigningBasic otherwise.
const (
	SigningAuto    = "auto"
	SigningBasic   = signer.AlgorithmBasic
	SigningDerived = signer.AlgorithmDerived
)

// Credentials authenticate the client: an IAM token, or an AK/SK pair (with a
// security token for temporary keys).
type Credentials struct {
	AccessKey     string
	SecretKey     string
	SecurityToken string
	AuthToken     string
}

// Logger receives one debug event per HTTP attempt. Fields never contain
// secrets.
type Logger interface {
	Debug(ctx context.Context, msg string, fields map[string]any)
}

// Config configures a Client.
type Config struct {
	// Endpoint is the base URL, e.g. https://iotda.cn-north-4.myhuaweicloud.com;
	// empty means DefaultEndpoint(Region).
	Endpoint   string
	ProjectID  string
	InstanceID string
	// Region names the derived-signing scope; empty means the region an
	// instance access address names (regionFromEndpoint).
	Region      string
	Credentials Credentials
	// SigningAlgorithm is SigningAuto (or empty), SigningBasic or
	// SigningDerived.
	SigningAlgorithm string
	// MaxRetries bounds the retries after the first attempt (429, 5xx and
	// network errors), 0 to MaxMaxRetries; nil means DefaultMaxRetries and
	// 0 means none.
	MaxRetries *int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff between
	// attempts; zero means defaultRetryWaitMin and defaultRetryWaitMax.
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// MaxRetryAfter is the longest wait a Retry-After header may ask for
	// before a retry; zero means DefaultMaxRetryAfter. A call whose answer
	// asks for longer is not retried, and its *APIError says what the API
	// asked for (RetryAfter).
	MaxRetryAfter time.Duration
	// RequestTimeout bounds one HTTP attempt; zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxRetryTime bounds one call: no retry starts that could not be
	// waited for within it, and an attempt still running when it ends is
	// cut. Zero means DefaultMaxRetryTime.
	MaxRetryTime time.Duration
	// Insecure skips the verification of the endpoint's TLS certificate.
	Insecure bool
	// BatchParallelism is how many calls of a batch (bind and unbind
	// chunks, per-policy listings) run at once, 1 to MaxBatchParallelism;
	// zero means DefaultBatchParallelism.
	BatchParallelism int
	// Transport carries the requests; nil means a pooled transport built
	// from Insecure. Tests use it to wrap or fail the connection.
	Transport http.RoundTripper
	// CallCounter, when set, counts every request sent. Only tests set it:
	// it lets a call budget hold on a real instance, which has no counters
	// to read.
	CallCounter *CallCounter
	// ReadAfterWriteWindow bounds how long a read straight after this
	// client's own write waits for the API to show it (see
	// ReadAfterWrite); zero means defaultReadAfterWriteWindow. Tests that
	// change objects out of band right after an apply shorten it.
	ReadAfterWriteWindow time.Duration
	UserAgent            string
	Logger               Logger
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
	// pageSize is the limit of each page of a listing: 1 to MaxPageSize,
	// zero means MaxPageSize. Smaller pages only cost more calls; the
	// tests set it (SetPageSize in export_test.go) to list many pages of
	// few targets.
	pageSize int
}

// Client calls the IoTDA device-policy API. It is safe for concurrent use.
type Client struct {
	base        *url.URL
	region      string
	projectID   string
	instanceID  string
	pageSize    int
	parallelism int
	// maxRetryAfter is the longest Retry-After wait honoured.
	maxRetryAfter time.Duration
	// requestTimeout bounds one attempt, maxRetryTime one call.
	requestTimeout, maxRetryTime time.Duration
	http                         *retryablehttp.Client
	// writes are the policies this client wrote lately (see writeLog).
	writes writeLog
}

// New checks cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	base, region, err := resolveEndpoint(cfg.Endpoint, cfg.Region)
	if err != nil {
		return nil, err
	}
	if cfg.ProjectID == "" {
		return nil, errors.New("a project id is required")
	}
	auth, err := newAuthenticator(cfg, base.Hostname(), region)
	if err != nil {
		return nil, err
	}

	retries := DefaultMaxRetries
	if cfg.MaxRetries != nil {
		retries = *cfg.MaxRetries
	}
	if retries < 0 || retries > MaxMaxRetries {
		return nil, fmt.Errorf("max retries %d is not between 0 and %d", retries, MaxMaxRetries)
	}
	parallelism := cmp.Or(cfg.BatchParallelism, DefaultBatchParallelism)
	if parallelism < 1 || parallelism > MaxBatchParallelism {
		return nil, fmt.Errorf("batch parallelism %d is not between 1 and %d", parallelism, MaxBatchParallelism)
	}
	if cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("request timeout %s is negative", cfg.RequestTimeout)
	}
	if cfg.MaxRetryTime < 0 {
		return nil, fmt.Errorf("longest time of a call %s is negative", cfg.MaxRetryTime)
	}
	requestTimeout := cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	if cfg.MaxRetryAfter < 0 {
		return nil, fmt.Errorf("longest Retry-After wait %s is negative", cfg.MaxRetryAfter)
	}
	maxRetryAfter := cmp.Or(cfg.MaxRetryAfter, DefaultMaxRetryAfter)

	transport := cfg.Transport
	if transport == nil {
		pooled := cleanhttp.DefaultPooledTransport()
		// Keep a connection for every call that may run at once: with
		// fewer idle ones than batch_parallelism (cleanhttp keeps
		// GOMAXPROCS+1), each round of parallel calls closes some and
		// dials them again, a TLS handshake each against the API.
		pooled.MaxIdleConnsPerHost = max(pooled.MaxIdleConnsPerHost, parallelism)
		if cfg.Insecure {
			pooled.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it with Insecure.
		}
		transport = pooled
	}
	httpClient := &http.Client{
		// One attempt may not hang forever; maxRetryTime and the caller's
		// context bound the whole call.
		Timeout: requestTimeout,
		// The API never redirects; following a redirect would send fresh
		// credentials to wherever it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &signingTransport{
			base:      transport,
			auth:      auth,
			userAgent: cfg.UserAgent,
			logger:    cfg.Logger,
			projectID: cfg.ProjectID,
			instance:  cfg.InstanceID,
			counter:   cfg.CallCounter,
		},
	}

	waitMin, waitMax := cfg.RetryWaitMin, cfg.RetryWaitMax
	if waitMin <= 0 {
		waitMin = defaultRetryWaitMin
	}
	if waitMax <= 0 {
		waitMax = defaultRetryWaitMax
	}
	if waitMax < waitMin {
		waitMax = waitMin
	}

	pageSize := cfg.pageSize
	if pageSize <= 0 || pageSize > MaxPageSize {
		pageSize = MaxPageSize
	}

	c := &Client{
		base:           base,
		region:         region,
		pageSize:       pageSize,
		parallelism:    parallelism,
		maxRetryAfter:  maxRetryAfter,
		requestTimeout: requestTimeout,
		maxRetryTime:   cmp.Or(cfg.MaxRetryTime, DefaultMaxRetryTime),
		projectID:      cfg.ProjectID,
		instanceID:     cfg.InstanceID,
		writes:         writeLog{window: cmp.Or(cfg.ReadAfterWriteWindow, defaultReadAfterWriteWindow)},
	}
	c.http = &retryablehttp.Client{
		HTTPClient:   httpClient,
		RetryWaitMin: waitMin,
		RetryWaitMax: waitMax,
		RetryMax:     retries,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

// Endpoint is the base URL the client calls.
func (c *Client) Endpoint() string {
	return c.base.Redacted()
}

// Region is the region of the client's endpoint: Config.Region, else the
// one its access address names, else "".
func (c *Client) Region() string {
	return c.region
}

// BatchParallelism is how many calls of a batch the client runs at once
// (Config.BatchParallelism, or its default): callers that fan out per-policy
// calls use the same bound.
func (c *Client) BatchParallelism() int {
	return c.parallelism
}

// path lists the path segments of an operation under the project.
func (c *Client) path(segments ...string) []string {
	return append([]string{"v5", "iot", c.projectID, "device-policies"}, segments...)
}

// do sends one API call and decodes the answer into out when the status is
// the expected one; any other answer becomes an *APIError.
func (c *Client) do(ctx context.Context, op Operation, method string, segments []string, query url.Values, in any, want int, out any) error {
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/")
	u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/")
	for _, s := range segments {
		u.Path += "/" + s
		u.RawPath += "/" + url.PathEscape(s)
	}
	u.RawQuery = query.Encode()

	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s: encoding the request: %w", op, err)
		}
	}
	attempts := new(atomic.Int32)
	callCtx, cancel := context.WithTimeout(withAttempts(withOperation(ctx, op), attempts), c.maxRetryTime)
	defer cancel()
	req, err := retryablehttp.NewRequestWithContext(callCtx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		} else if !notSent(err) && timedOut(err) {
			err = &noAnswer{endpoint: c.base, timeout: c.requestTimeout, limit: c.maxRetryTime, cut: callCtx.Err() != nil, attempts: int(attempts.Load()), err: err}
		}
		if noReplay(ctx) && !notSent(err) {
			return &outcomeUnknown{fmt.Errorf("%s: %w", op, err)}
		}
		if notSent(err) && ctx.Err() == nil {
			return fmt.Errorf("%s: %w (%s)", op, err, unreachableHint(err, c.base, int(attempts.Load())))
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s: reading the response: %w", op, err)
	}
	if resp.StatusCode != want {
		apiErr := newAPIError(string(op), resp, data)
		apiErr.Attempts = int(attempts.Load())
		if wait, ok := c.retryAfterTooLong(resp); ok {
			apiErr.RetryAfter, apiErr.MaxRetryAfter = wait, c.maxRetryAfter
		}
		if noReplay(ctx) && resp.StatusCode >= 500 {
			return &outcomeUnknown{apiErr}
		}
		return apiErr
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decoding the response (HTTP %d, request id %s): %w", op, resp.StatusCode, resp.Header.Get("X-Request-Id"), err)
	}
	return nil
}

// unreachableHint says what to check when no connection to the endpoint
// could be made (refused, unknown host, no route), or when an https
// endpoint answers in plain HTTP.
func unreachableHint(err error, endpoint *url.URL, attempts int) string {
	if errors.Is(err, http.ErrSchemeMismatch) {
		return fmt.Sprintf("the endpoint %s answers plain HTTP, not HTTPS: check its scheme (http:// for a local mock) and port; nothing was sent", endpoint.Redacted())
	}
	tries := ""
	if attempts > 1 {
		tries = fmt.Sprintf(" in %d attempts", attempts)
	}
	return fmt.Sprintf("could not connect to the endpoint %s%s: check the endpoint's scheme, host and port, and that it is reachable from here", endpoint.Redacted(), tries)
}

func newAPIError(op string, resp *http.Response, data []byte) *APIError {
	e := &APIError{Operation: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var body errorBody
	if json.Unmarshal(data, &body) == nil {
		e.Code, e.Message = body.ErrorCode, body.ErrorMsg
		if e.RequestID == "" {
			e.RequestID = body.RequestID
		}
	} else if text := strings.TrimSpace(string(bytes.ToValidUTF8(data, nil))); text != "" {
		if len(text) > 200 {
			text = text[:200] + "..."
		}
		e.Message = text
	}
	return e
}
