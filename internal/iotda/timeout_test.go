package iotda_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// hungEndpoint is an endpoint that accepts every connection, reads what is
// sent and never answers. It returns its URL and the number of connections
// it accepted; everything is closed when the test ends.
func hungEndpoint(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		accepted atomic.Int32
		mu       sync.Mutex
		conns    []net.Conn
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(io.Discard, conn) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String(), &accepted
}

func hungClient(t *testing.T, endpoint string, change func(*iotda.Config)) *iotda.Client {
	t.Helper()
	cfg := iotda.Config{
		Endpoint:     endpoint,
		ProjectID:    mock.TestProjectID,
		Credentials:  iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
		RetryWaitMin: 5 * time.Millisecond,
		RetryWaitMax: 20 * time.Millisecond,
		MaxRetries:   new(2),
	}
	change(&cfg)
	c, err := iotda.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHungEndpoint fails a call to an endpoint that never answers within
// the request timeout of each attempt, and says so.
func TestHungEndpoint(t *testing.T) {
	endpoint, accepted := hungEndpoint(t)
	c := hungClient(t, endpoint, func(cfg *iotda.Config) { cfg.RequestTimeout = 100 * time.Millisecond })
	start := time.Now()
	_, err := c.GetPolicy(context.Background(), "0123456789abcdef01234567")
	if !errors.Is(err, iotda.ErrNoAnswer) || errors.Is(err, iotda.ErrNotFound) {
		t.Fatalf("error %v, want ErrNoAnswer", err)
	}
	want := "ShowDevicePolicy: the endpoint " + endpoint + " did not answer within 100ms, the request timeout, in 3 attempts"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d connections for 3 attempts", n)
	}
	// Three attempts of 100 ms and two short waits; the bound is loose so
	// that a busy machine does not fail the test.
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("the call took %s", elapsed)
	}
}

// TestMaxRetryTime ends a call when its time runs out: an attempt still
// waiting is cut, and no retry starts whose wait would outlast it.
func TestMaxRetryTime(t *testing.T) {
	t.Run("cuts a waiting attempt", func(t *testing.T) {
		endpoint, accepted := hungEndpoint(t)
		c := hungClient(t, endpoint, func(cfg *iotda.Config) {
			cfg.RequestTimeout = time.Minute
			cfg.MaxRetryTime = 200 * time.Millisecond
		})
		_, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
		if !errors.Is(err, iotda.ErrNoAnswer) {
			t.Fatalf("error %v, want ErrNoAnswer", err)
		}
		want := "ListDevicePolicies: the endpoint " + endpoint + " did not answer; gave up after 200ms, the longest time of one call with its retries"
		if !strings.HasPrefix(err.Error(), want) || accepted.Load() != 1 {
			t.Errorf("error %q after %d connections, want one connection and %q", err, accepted.Load(), want)
		}
	})
	t.Run("no retry that would outlast it", func(t *testing.T) {
		srv := mock.NewTestServer(t, mock.Config{})
		srv.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 5 * time.Second, Count: 1})
		c := newClient(t, srv, func(cfg *iotda.Config) { cfg.MaxRetryTime = time.Second })
		_, err := c.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
		var apiErr *iotda.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("error %v, want the 503 at once", err)
		}
		if n := srv.Calls(mock.OpList); n != 1 {
			t.Errorf("%d calls, want 1: a 5 s wait does not fit in 1 s", n)
		}
	})
	t.Run("the caller's context is not the call's time", func(t *testing.T) {
		endpoint, _ := hungEndpoint(t)
		c := hungClient(t, endpoint, func(cfg *iotda.Config) { cfg.RequestTimeout = time.Minute })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.ListPolicies(ctx, iotda.ListPoliciesFilter{})
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, iotda.ErrNoAnswer) {
			t.Fatalf("error %v, want the caller's deadline", err)
		}
	})
}

// TestCreateOnHungEndpoint sends a create once to an endpoint that never
// answers: its outcome is unknown, and the listing that would tell fails
// the same way, within the limits.
func TestCreateOnHungEndpoint(t *testing.T) {
	endpoint, accepted := hungEndpoint(t)
	c := hungClient(t, endpoint, func(cfg *iotda.Config) {
		cfg.RequestTimeout = 100 * time.Millisecond
		cfg.MaxRetryTime = 250 * time.Millisecond
	})
	_, _, err := c.CreatePolicyResolved(context.Background(), iotda.CreatePolicyRequest{PolicyName: "p", Statement: statements("topic:/a")})
	var failure *iotda.CreateError
	if !errors.As(err, &failure) || !errors.Is(err, iotda.ErrOutcomeUnknown) || !errors.Is(err, iotda.ErrNoAnswer) {
		t.Fatalf("error %v, want a CreateError whose outcome is unknown because the endpoint did not answer", err)
	}
	if failure.NotCreated || !errors.Is(failure.ListErr, iotda.ErrNoAnswer) {
		t.Errorf("NotCreated %v, listing error %v; want an unknown outcome and a listing that got no answer", failure.NotCreated, failure.ListErr)
	}
	if !strings.HasPrefix(err.Error(), "CreateDevicePolicy: the endpoint "+endpoint+" did not answer within 100ms, the request timeout (") {
		t.Errorf("error %q", err)
	}
	// One create, never resent, and the listing's attempts.
	if n := accepted.Load(); n < 2 || n > 4 {
		t.Errorf("%d connections, want 1 create and 1 to 3 listing attempts", n)
	}
}
