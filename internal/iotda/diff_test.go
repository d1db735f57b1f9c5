package iotda

import (
	"slices"
	"testing"
)

func TestDiff(t *testing.T) {
	cases := []struct {
		name                string
		current, desired    []string
		wantAdd, wantRemove []string
	}{
		{"both empty", nil, nil, nil, nil},
		{"create", nil, []string{"b", "a"}, []string{"a", "b"}, nil},
		{"delete", []string{"a", "b"}, nil, nil, []string{"a", "b"}},
		{"same", []string{"a", "b"}, []string{"b", "a"}, nil, nil},
		{"churn", []string{"a", "b", "c"}, []string{"b", "c", "d"}, []string{"d"}, []string{"a"}},
		{"duplicates", []string{"a", "a"}, []string{"b", "b", "a"}, []string{"b"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			add, remove := diff(tc.current, tc.desired)
			if !slices.Equal(add, tc.wantAdd) || !slices.Equal(remove, tc.wantRemove) {
				t.Fatalf("diff = +%v -%v, want +%v -%v", add, remove, tc.wantAdd, tc.wantRemove)
			}
		})
	}
}
