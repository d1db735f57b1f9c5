package access

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestForEachStartsNothingAfterAnError: a call waiting for a slot when an
// earlier call fails is not started, and the first error is returned.
func TestForEachStartsNothingAfterAnError(t *testing.T) {
	errFirst := errors.New("first call failed")
	var later atomic.Int32
	err := forEach(context.Background(), 3, 1, func(_ context.Context, i int) error {
		if i == 0 {
			// Long enough for the loop to be waiting for this call's slot.
			time.Sleep(100 * time.Millisecond)
			return errFirst
		}
		later.Add(1)
		return nil
	})
	if !errors.Is(err, errFirst) {
		t.Errorf("err = %v, want the first call's", err)
	}
	if n := later.Load(); n != 0 {
		t.Errorf("%d calls started after the first one failed, want none", n)
	}
}

// TestForEachStopsOnCancel: a call waiting for a slot when the caller
// cancels is not started, and the cancellation is returned.
func TestForEachStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var later atomic.Int32
	err := forEach(ctx, 3, 1, func(_ context.Context, i int) error {
		if i == 0 {
			cancel()
			time.Sleep(100 * time.Millisecond)
			return nil
		}
		later.Add(1)
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the cancellation", err)
	}
	if n := later.Load(); n != 0 {
		t.Errorf("%d calls started after the cancel, want none", n)
	}
}
