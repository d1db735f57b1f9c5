package iotda_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestCreatePolicyResolved drives each way a create can lose its answer
// through the mock's fault injection.
func TestCreatePolicyResolved(t *testing.T) {
	want := iotda.CreatePolicyRequest{PolicyName: "fleet", AppID: "", Statement: statements("topic:/a", "topic:/b")}
	for name, tc := range map[string]struct {
		setup      func(*mock.TestServer)
		appID      string
		found      bool
		resent     int
		creates    int
		policies   int
		notCreated bool
		existing   int
		listFails  bool
		refused    bool // answered 400: the API did not act
	}{
		"one 503 before acting: sent again": {
			setup: func(s *mock.TestServer) {
				s.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable})
			},
			resent: 1, creates: 2, policies: 1,
		},
		"503 before acting every time: bounded": {
			setup: func(s *mock.TestServer) {
				s.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, Count: 100})
			},
			resent: 2, creates: 3, notCreated: true,
		},
		"503 after acting: found": {
			setup: func(s *mock.TestServer) {
				s.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true})
			},
			found: true, creates: 1, policies: 1,
		},
		"connection dropped after acting: found": {
			setup: func(s *mock.TestServer) { s.InjectFault(mock.OpCreate, mock.Fault{Drop: true, AfterAction: true}) },
			found: true, creates: 1, policies: 1,
		},
		"after acting in a named resource space: found": {
			setup: func(s *mock.TestServer) {
				s.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusBadGateway, AfterAction: true})
			},
			appID: "space-1", found: true, creates: 1, policies: 1,
		},
		"another space holds the name, no space asked for: not adopted": {
			setup: func(s *mock.TestServer) {
				if _, err := s.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: "fleet", AppID: "space-2", Statement: []mock.Statement{{Effect: "DENY", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/a"}}}}); err != nil {
					panic(err)
				}
				s.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable})
			},
			creates: 1, policies: 1, existing: 1,
		},
		"another space holds the name, a space asked for: sent again": {
			setup: func(s *mock.TestServer) {
				if _, err := s.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: "fleet", AppID: "space-2", Statement: []mock.Statement{{Effect: "DENY", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/a"}}}}); err != nil {
					panic(err)
				}
				s.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable})
			},
			appID: "space-1", resent: 1, creates: 2, policies: 2,
		},
		"the name is taken: named": {
			setup: func(s *mock.TestServer) {
				if _, err := s.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: "fleet", Statement: []mock.Statement{{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/a", "topic:/b"}}}}); err != nil {
					panic(err)
				}
			},
			creates: 1, policies: 1, existing: 1, refused: true,
		},
		"after acting, the listing fails too": {
			setup: func(s *mock.TestServer) {
				s.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true})
				s.InjectFault(mock.OpList, mock.Fault{Status: http.StatusServiceUnavailable, Count: 100})
			},
			creates: 1, policies: 1, listFails: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := mock.NewTestServer(t, mock.Config{})
			c := newClient(t, srv, func(cfg *iotda.Config) { cfg.MaxRetries = new(2) })
			tc.setup(srv)
			req := want
			req.AppID = tc.appID
			policy, outcome, err := c.CreatePolicyResolved(context.Background(), req)
			if got := srv.Calls(mock.OpCreate); got != tc.creates {
				t.Errorf("%d create calls, want %d", got, tc.creates)
			}
			if got := len(srv.Policies("")); got != tc.policies {
				t.Errorf("%d policies exist, want %d", got, tc.policies)
			}
			if outcome.Resent != tc.resent || outcome.Found != tc.found {
				t.Errorf("outcome %+v, want resent %d, found %v", outcome, tc.resent, tc.found)
			}
			failed := tc.notCreated || tc.existing > 0 || tc.listFails
			if !failed {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				server, ok := srv.Policy("", policy.PolicyID)
				if !ok || server.PolicyName != "fleet" || !iotda.SameStatements(policy.Statement, req.Statement) {
					t.Errorf("returned %+v, the server holds %+v", policy, server)
				}
				return
			}
			var failure *iotda.CreateError
			if !errors.As(err, &failure) {
				t.Fatalf("err = %v, want a *CreateError", err)
			}
			if failure.NotCreated != tc.notCreated || len(failure.Existing) != tc.existing || (failure.ListErr != nil) != tc.listFails {
				t.Errorf("failure %+v, want not created %v, %d existing, listing failed %v", failure, tc.notCreated, tc.existing, tc.listFails)
			}
			if failure.InstancePolicies != 0 {
				t.Errorf("failure counts %d policies in the instance; only a refusal with no policy of that name counts them", failure.InstancePolicies)
			}
			// Cause is the call's own failure: without the note that the
			// API may have acted, which the error carries when it may have.
			cause := failure.Cause()
			if errors.Is(cause, iotda.ErrOutcomeUnknown) || strings.Contains(cause.Error(), iotda.ErrOutcomeUnknown.Error()) {
				t.Errorf("Cause() = %q still says the API may have acted", cause)
			}
			want := cause.Error() + " (" + iotda.ErrOutcomeUnknown.Error() + ")"
			if tc.refused {
				want = cause.Error()
			}
			if errors.Is(err, iotda.ErrOutcomeUnknown) == tc.refused || err.Error() != want {
				t.Errorf("err = %q (may have acted: %v), want %q", err, errors.Is(err, iotda.ErrOutcomeUnknown), want)
			}
		})
	}
}

// cancelAfterListing cancels the call's context as soon as the body of the
// first listing has been read to the end: after the listing, before the
// wait to send the create again.
type cancelAfterListing struct {
	cancel context.CancelFunc
	next   http.RoundTripper
}

func (c *cancelAfterListing) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil && req.Method == http.MethodGet {
		resp.Body = &cancelAtEOF{ReadCloser: resp.Body, cancel: c.cancel}
	}
	return resp, err
}

type cancelAtEOF struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (r *cancelAtEOF) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF {
		r.cancel()
	}
	return n, err
}

// TestCreatePolicyResolvedCanceledWhileWaiting cancels a create while it
// waits to send the create again (after a lost answer and a listing that
// shows nothing was created): it stops at once, with the failure and
// without another create.
func TestCreatePolicyResolvedCanceledWhileWaiting(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClient(t, srv, func(cfg *iotda.Config) {
		cfg.MaxRetries = new(2)
		cfg.RetryWaitMin, cfg.RetryWaitMax = time.Hour, time.Hour
		cfg.Transport = &cancelAfterListing{cancel: cancel, next: http.DefaultTransport}
	})
	srv.InjectFault(mock.OpCreate, mock.Fault{Status: http.StatusServiceUnavailable})
	type result struct {
		outcome iotda.CreateOutcome
		err     error
	}
	done := make(chan result, 1)
	go func() {
		_, outcome, err := c.CreatePolicyResolved(ctx, iotda.CreatePolicyRequest{PolicyName: "fleet", Statement: statements("topic:/a")})
		done <- result{outcome, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the create still waits 30s after the cancel")
	}
	var failure *iotda.CreateError
	if !errors.As(r.err, &failure) || !failure.NotCreated {
		t.Fatalf("err = %v, want a *CreateError saying nothing was created", r.err)
	}
	if got := srv.Calls(mock.OpCreate); got != 1 || r.outcome.Resent != 0 {
		t.Errorf("%d create calls, %d resent after the cancel, want 1 and 0", got, r.outcome.Resent)
	}
	if got := srv.Calls(mock.OpList); got != 1 {
		t.Errorf("%d listings, want 1", got)
	}
}

func TestSameStatements(t *testing.T) {
	a := []iotda.Statement{
		{Effect: "ALLOW", Actions: []string{iotda.ActionPublish, iotda.ActionSubscribe}, Resources: []string{"topic:/a", "topic:/b"}},
		{Effect: "DENY", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/c"}},
	}
	reordered := []iotda.Statement{
		{Effect: "DENY", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/c"}},
		{Effect: "ALLOW", Actions: []string{iotda.ActionSubscribe, iotda.ActionPublish}, Resources: []string{"topic:/b", "topic:/a"}},
	}
	if !iotda.SameStatements(a, reordered) {
		t.Error("the same statements in another order differ")
	}
	for name, b := range map[string][]iotda.Statement{
		"one fewer":    a[:1],
		"other effect": {{Effect: "DENY", Actions: a[0].Actions, Resources: a[0].Resources}, a[1]},
		"duplicate":    {a[0], a[0]},
	} {
		if iotda.SameStatements(a, b) {
			t.Errorf("%s: reported the same", name)
		}
	}
}
