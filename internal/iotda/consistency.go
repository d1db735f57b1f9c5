package iotda

import (
	"context"
	"errors"
	"sync"
	"time"
)

// defaultReadAfterWriteWindow bounds, unless Config.ReadAfterWriteWindow
// says otherwise, how long a read made straight after the caller's own
// write waits for the API to show that write. IoTDA, like other
// platforms whose reads are served by replicas, may answer a show or a
// listing with the state as it was shortly before a write: a policy just
// created is 404, an update shows the old values. Within the window such a
// read is retried; after it, what the API shows is taken as the truth (an
// object deleted or changed by someone else).
const defaultReadAfterWriteWindow = 30 * time.Second

// Bounds of the wait between two reads of ReadAfterWrite.
const (
	readAfterWriteMinWait = 250 * time.Millisecond
	readAfterWriteMaxWait = 2 * time.Second
)

// ReadAfterWrite calls read until settled accepts its result, for an object
// the caller wrote at written through c. A result settled refuses, or
// ErrNotFound, is read again, with a growing wait, while less than c's read
// after write window has passed since written; after that the last answer
// is returned as it is. Any other error is returned at once. A zero written
// (no write known) reads once. settled nil accepts any result.
func ReadAfterWrite[T any](ctx context.Context, c *Client, written time.Time, read func(context.Context) (T, error), settled func(T) bool) (T, error) {
	deadline := written.Add(c.writes.window)
	wait := readAfterWriteMinWait
	for {
		v, err := read(ctx)
		pending := errors.Is(err, ErrNotFound) || err == nil && settled != nil && !settled(v)
		if !pending || written.IsZero() {
			return v, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return v, err
		}
		if sleep(ctx, min(wait, left)) != nil {
			return v, err
		}
		wait = min(2*wait, readAfterWriteMaxWait)
	}
}

// writeLog remembers when this client last wrote each policy (created,
// updated, bound or unbound targets of it), for window, so
// that a read of a policy it wrote a moment ago takes a 404 for what it is:
// the API not showing the write yet (see Client.readAfterOwnWrite). It
// holds at most the policies written within the window.
type writeLog struct {
	window time.Duration
	mu     sync.Mutex
	at     map[string]time.Time
}

// wrote records a write of policyID now, and forgets the writes older than
// the window.
func (w *writeLog) wrote(policyID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if w.at == nil {
		w.at = map[string]time.Time{}
	}
	for id, at := range w.at {
		if now.Sub(at) >= w.window {
			delete(w.at, id)
		}
	}
	w.at[policyID] = now
}

// deleted forgets policyID: after its own delete, a 404 is the truth.
func (w *writeLog) deleted(policyID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.at, policyID)
}

// writtenAt is when policyID was last written; zero when not within the
// window.
func (w *writeLog) writtenAt(policyID string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := w.at[policyID]
	if time.Since(at) >= w.window {
		return time.Time{}
	}
	return at
}

// readAfterOwnWrite runs read, a read of policyID, and, when this client
// wrote that policy less than its window ago and read answers
// 404, reads again as ReadAfterWrite does. A policy created and bound in
// one run is thus found by the calls that follow the create at once,
// where reads lag behind writes. Without a recent write of this client
// read runs once.
func readAfterOwnWrite[T any](ctx context.Context, c *Client, policyID string, read func(context.Context) (T, error)) (T, error) {
	return ReadAfterWrite(ctx, c, c.writes.writtenAt(policyID), read, nil)
}
