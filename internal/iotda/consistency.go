package iotda

import (
	"context"
	"errors"
	"time"
)

// ReadAfterWriteWindow bounds how long a read made straight after the
// caller's own write waits for the API to show that write. IoTDA, like other
// platforms whose reads are served by replicas, may answer a show or a
// listing with the state as it was shortly before a write: a policy just
// created is 404, an update shows the old values. Within the window such a
// read is retried; after it, what the API shows is taken as the truth (an
// object deleted or changed by someone else).
const ReadAfterWriteWindow = 30 * time.Second

// Bounds of the wait between two reads of ReadAfterWrite.
const (
	readAfterWriteMinWait = 250 * time.Millisecond
	readAfterWriteMaxWait = 2 * time.Second
)

// ReadAfterWrite calls read until settled accepts its result, for an object
// the caller wrote at written. A result settled refuses, or ErrNotFound, is
// read again, with a growing wait, while less than ReadAfterWriteWindow has
// passed since written; after that the last answer is returned as it is.
// Any other error is returned at once. A zero written (no write known) reads
// once. settled nil accepts any result.
func ReadAfterWrite[T any](ctx context.Context, written time.Time, read func(context.Context) (T, error), settled func(T) bool) (T, error) {
	deadline := written.Add(ReadAfterWriteWindow)
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
