package main

import (
	"encoding/json"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"
)

// limitStatements is a policy at the API's limits (internal/iotda/rules.go:
// 10 statements of 10 resources, topics of up to 128 bytes), varied by v.
func limitStatements(v int) []statementJSON {
	out := make([]statementJSON, 10)
	for i := range out {
		s := statementJSON{Effect: "ALLOW", Actions: []string{"iotda:devices:publish", "iotda:devices:subscribe"}}
		if i == 9 {
			s.Effect = "DENY"
		}
		for j := range 10 {
			s.Resources = append(s.Resources, fmt.Sprintf("topic:/v%d/devices/${devices.deviceId}/s%d/*/r%d/*/events/%0*d", v*(i+j)%3, i, j, 70, i*10+j))
		}
		out[i] = s
	}
	return out
}

// benchPlan is the golden bindings plan with the binding grown to 5,000
// targets (4,990 of them kept, 10 swapped) and two policies at the API's
// limits updated.
func benchPlan(b *testing.B) []byte {
	var p map[string]any
	if err := json.Unmarshal(golden(b, "bindings"), &p); err != nil {
		b.Fatal(err)
	}
	changes, ok := p["resource_changes"].([]any)
	if !ok {
		b.Fatal("no resource_changes")
	}
	var out []any
	for _, c := range changes {
		rc, ok := c.(map[string]any)
		if !ok {
			b.Fatal("a resource change is not an object")
		}
		change, ok := rc["change"].(map[string]any)
		if !ok {
			b.Fatal("a change is not an object")
		}
		if rc["type"] == "iotda_device_policy_binding" {
			for side, first := range map[string]int{"before": 0, "after": 10} {
				targets := map[string]string{}
				for n := first; n < first+5000; n++ {
					targets[fmt.Sprintf("64a7ba7ef9cb063d27e16b97_sensor-%05d", n)] = ""
				}
				obj, ok := change[side].(map[string]any)
				if !ok {
					b.Fatal("a binding side is not an object")
				}
				obj["targets"] = targets
			}
			out = append(out, rc)
			continue
		}
		for k, address := range []string{"iotda_device_policy.sensors", "iotda_device_policy.gateways"} {
			copied := map[string]any{}
			for key, v := range rc {
				copied[key] = v
			}
			copied["address"] = address
			prior, ok := change["before"].(map[string]any)
			if !ok {
				b.Fatal("the golden plan's policy has no prior state")
			}
			before, after := map[string]any{}, map[string]any{}
			for key, v := range prior {
				before[key], after[key] = v, v
			}
			if k == 1 {
				before["id"], after["id"] = "another-policy", "another-policy"
			}
			before["statement"], after["statement"] = limitStatements(1), limitStatements(2)
			copied["change"] = map[string]any{"actions": []string{"update"}, "before": before, "after": after}
			out = append(out, copied)
		}
	}
	p["resource_changes"] = out
	js, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	return js
}

// cpuTime is the CPU time the process has used, all threads: on a shared
// machine ns/op counts the waits for a core, cpu-ms/op does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReviewPlan reviews a plan of a 5,000-target binding and two
// policies at the API's limits, from the JSON to the Markdown (the goal is
// under a second for each, read and review).
func BenchmarkReviewPlan(b *testing.B) {
	js := benchPlan(b)
	var r report
	code, out, stderr := runCLI(b, js, "review", "--format", "json", "-")
	if code == exitUsage || json.Unmarshal([]byte(out), &r) != nil {
		b.Fatalf("exit %d: %s", code, stderr)
	}
	if len(r.Policies) != 2 || r.Policies[0].BlastRadius["device"]+r.Policies[1].BlastRadius["device"] != 5000 {
		b.Fatalf("policies %d, blast radius %v %v", len(r.Policies), r.Policies[0].BlastRadius, r.Policies[1].BlastRadius)
	}
	b.Run("read", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			if _, err := parsePlan(js); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
		b.ReportMetric(float64(len(js))/1e6, "plan_MB")
	})
	b.Run("review", func(b *testing.B) {
		start := cpuTime()
		for b.Loop() {
			run([]string{"review", "-"}, bytesReader(js), io.Discard, io.Discard)
		}
		b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
		b.ReportMetric(float64(len(r.Findings)), "findings")
	})
}
