package iotda_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func TestReadAfterWrite(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	cases := []struct {
		name      string
		written   time.Time
		answers   []error // nil: a value
		values    []int
		wantReads int
		wantErr   error
		wantValue int
	}{
		{"404 then found", time.Now(), []error{iotda.ErrNotFound, nil}, []int{0, 2}, 2, nil, 2},
		{"stale then settled", time.Now(), []error{nil, nil, nil}, []int{1, 1, 2}, 3, nil, 2},
		{"other error at once", time.Now(), []error{boom}, []int{0}, 1, boom, 0},
		{"no write known", time.Time{}, []error{iotda.ErrNotFound}, []int{0}, 1, iotda.ErrNotFound, 0},
		{"window over", time.Now().Add(-iotda.DefaultReadAfterWriteWindow), []error{nil}, []int{1}, 1, nil, 1},
		{"shorter window over", time.Now().Add(-2 * time.Second), []error{iotda.ErrNotFound}, []int{0}, 1, iotda.ErrNotFound, 0},
	}
	srv := mock.NewTestServer(t, mock.Config{})
	c := newClient(t, srv)
	short := newClient(t, srv, func(cfg *iotda.Config) { cfg.ReadAfterWriteWindow = time.Second })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reads := 0
			client := c
			if tc.name == "shorter window over" {
				client = short
			}
			v, err := iotda.ReadAfterWrite(context.Background(), client, tc.written, func(context.Context) (int, error) {
				i := min(reads, len(tc.answers)-1)
				reads++
				return tc.values[i], tc.answers[i]
			}, func(v int) bool { return v == 2 })
			if reads != tc.wantReads || !errors.Is(err, tc.wantErr) || v != tc.wantValue {
				t.Fatalf("reads %d, value %d, err %v; want %d, %d, %v", reads, v, err, tc.wantReads, tc.wantValue, tc.wantErr)
			}
		})
	}
}

// TestOwnWritesUnderReadLag: reads lag behind writes by half a second. The
// client finds at once the policy it has just created, lists its targets
// after binding some, and reads a policy it updated, each retried while
// the API answers 404; a policy it did not write, or deleted itself, is
// not found with one call.
func TestOwnWritesUnderReadLag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const lag = 500 * time.Millisecond
	srv := mock.NewTestServer(t, mock.Config{ReadLag: lag})
	c := newClient(t, srv)

	created, err := c.CreatePolicy(ctx, iotda.CreatePolicyRequest{PolicyName: "own", Statement: statements("topic:/a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPolicy(ctx, created.PolicyID); err != nil {
		t.Fatalf("reading the policy just created: %v", err)
	}
	if n := srv.Calls(mock.OpShow); n < 2 {
		t.Fatalf("%d show calls; want the 404 of the lagging read and a retry", n)
	}

	// The lag is over for the create; a second policy is bound at once.
	second, err := c.CreatePolicy(ctx, iotda.CreatePolicyRequest{PolicyName: "bound", Statement: statements("topic:/b")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BindPolicy(ctx, second.PolicyID, iotda.TargetTypeDevice, []string{"d1"}); err != nil {
		t.Fatal(err)
	}
	// Another client (another run) has no memory of these writes.
	if _, err := newClient(t, srv).GetPolicy(ctx, second.PolicyID); !errors.Is(err, iotda.ErrNotFound) {
		t.Fatalf("another client read the lagging policy as %v; want not found", err)
	}
	if _, err := c.ListTargets(ctx, second.PolicyID, iotda.TargetTypeDevice); err != nil {
		t.Fatalf("listing the targets of the policy just created and bound: %v", err)
	}

	other, err := srv.CreatePolicy("", mockPolicy("other", "topic:/c"))
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	if _, err := c.GetPolicy(ctx, other.PolicyID); !errors.Is(err, iotda.ErrNotFound) || srv.Calls(mock.OpShow) != 1 {
		t.Fatalf("a policy another client created: %v after %d calls; want not found after one", err, srv.Calls(mock.OpShow))
	}
	if err := c.DeletePolicy(ctx, created.PolicyID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(lag) // until reads show the delete
	srv.ResetCalls()
	if _, err := c.ListTargets(ctx, created.PolicyID, ""); !errors.Is(err, iotda.ErrNotFound) || srv.Calls(mock.OpListTargets) != 1 {
		t.Fatalf("a policy this client deleted: %v after %d calls; want not found after one", err, srv.Calls(mock.OpListTargets))
	}
}
