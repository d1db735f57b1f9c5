//go:build pprof

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// With the build tag pprof and IOTDA_PPROF_DIR set, each provider process
// writes into that folder, named after its process id: its CPU profile,
// its allocations from start to exit (allocs-*), and the heap in use when
// it was largest (heap-*, written again each time the heap grows by a
// tenth). The binding benchmark builds the provider so when
// IOTDA_BENCH_PROFILE is set (see
// internal/provider/device_policy_binding_bench_test.go); release builds
// have no such code.
func init() {
	dir := os.Getenv("IOTDA_PPROF_DIR")
	if dir == "" {
		return
	}
	write := func(name string, f func(*os.File) error) {
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, os.Getpid())))
		if err == nil {
			err = f(out)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
		}
	}
	cpu, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
	if err == nil {
		err = pprof.StartCPUProfile(cpu)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var peak uint64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak+peak/10 {
				peak = m.HeapInuse
				write("heap", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
			}
		}
	}()
	stopProfiling = func() {
		close(done)
		<-stopped
		pprof.StopCPUProfile()
		_ = cpu.Close()
		write("allocs", func(f *os.File) error { return pprof.Lookup("allocs").WriteTo(f, 0) })
	}
}
