package policyeval

import (
	"fmt"
	"testing"
)

// largePolicy is a policy at the API's limits: 10 statements of 10
// resources, ALLOW and DENY, with wildcards and variables, shifted by k so
// that two versions differ everywhere.
func largePolicy(k int) []Statement {
	var out []Statement
	for i := range 10 {
		s := Statement{Effect: effectAllow, Actions: pubSub}
		if i%3 == 2 {
			s.Effect = effectDeny
		}
		for j := range 10 {
			var r string
			switch (i + j + k) % 4 {
			case 0:
				r = fmt.Sprintf("topic:/v1/devices/${devices.deviceId}/s%d/r%d/*", i, j)
			case 1:
				r = fmt.Sprintf("topic:/v1/*/s%d/*/r%d", i, j+k)
			case 2:
				r = fmt.Sprintf("topic:/v1/products/${devices.productId}/?%d*%d", i, j)
			default:
				r = fmt.Sprintf("topic:*/s%d/r%d/*/events/??", i+k, j)
			}
			s.Resources = append(s.Resources, r)
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkCompare compares two versions of a policy at the API's limits
// (100 resources each) and reports how many examples and undecided
// resources it found.
func BenchmarkCompare(b *testing.B) {
	old, updated := largePolicy(0), largePolicy(1)
	var diff Diff
	for b.Loop() {
		var err error
		if diff, err = Compare(old, updated); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(diff.Widened)+len(diff.Narrowed)), "examples")
	b.ReportMetric(float64(len(diff.UndecidedWidened)+len(diff.UndecidedNarrowed)), "undecided")
}
