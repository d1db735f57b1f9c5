package iotda_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
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
		{"window over", time.Now().Add(-iotda.ReadAfterWriteWindow), []error{nil}, []int{1}, 1, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reads := 0
			v, err := iotda.ReadAfterWrite(context.Background(), tc.written, func(context.Context) (int, error) {
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
