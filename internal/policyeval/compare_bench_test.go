package policyeval

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// largePolicy is a policy at the API's limits: 10 statements of 10
// resources, ALLOW and DENY, with wildcards and variables, shifted by k so
// that two versions differ everywhere.
func largePolicy(k int) []Statement {
	var out []Statement
	for i := range 10 {
		s := Statement{Effect: iotda.EffectAllow, Actions: pubSub}
		if i%3 == 2 {
			s.Effect = iotda.EffectDeny
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

// cpuTime is the CPU time the process has used, all threads (the garbage
// collector's too).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs f b.N times and reports, per run, the CPU time in
// milliseconds, the bytes allocated in megabytes, the most heap in use at
// once in megabytes (sampled every millisecond, so a bound of what a run
// holds) and the work in steps. The limits this project holds a plan to
// are 1000 cpu-ms/op and 100 MB of memory.
func measure(b *testing.B, f func() int) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	stop := samplePeakHeap()
	start := cpuTime()
	work := 0
	for b.Loop() {
		work = f()
	}
	cpu := cpuTime() - start
	peak := stop()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1e6/float64(b.N), "alloc-MB/op")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(work), "steps")
}

// samplePeakHeap samples the heap in use until the returned function is
// called, which returns the most it saw.
func samplePeakHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		return <-result
	}
}

// BenchmarkCompare compares two versions of a policy at the API's limits
// (100 resources each) and reports how many examples and undecided
// resources it found.
func BenchmarkCompare(b *testing.B) {
	old, updated := largePolicy(0), largePolicy(1)
	var diff Diff
	measure(b, func() int {
		bud := newBudget()
		diff = compare(old, updated, bud)
		return MaxWork - bud.left
	})
	b.ReportMetric(float64(len(diff.Widened)+len(diff.Narrowed)), "examples")
	b.ReportMetric(float64(len(diff.UndecidedWidened)+len(diff.UndecidedNarrowed)), "undecided")
}

// BenchmarkWorstCompare runs, on the hand-made worst shapes and on the
// worst inputs the cost search (TestCostSearch) kept in testdata, what a
// plan of the change runs: the review of the new statements and the
// comparison with the old ones.
func BenchmarkWorstCompare(b *testing.B) {
	for _, c := range append(worstShapes(), loadWorst(b)...) {
		b.Run(c.Name, func(b *testing.B) {
			var diff Diff
			measure(b, func() int {
				rb, cb := newBudget(), newBudget()
				review(c.New, rb)
				diff = compare(c.Old, c.New, cb)
				return 2*MaxWork - rb.left - cb.left
			})
			b.ReportMetric(float64(len(diff.UndecidedWidened)+len(diff.UndecidedNarrowed)), "undecided")
		})
	}
}
