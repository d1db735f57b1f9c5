package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command with args and returns its exit code and output.
func runCLI(t testing.TB, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func reviewJSON(t *testing.T, plan []byte, args ...string) (int, report) {
	t.Helper()
	code, out, stderr := runCLI(t, plan, append(append([]string{"review", "--format", "json"}, args...), "-")...)
	var r report
	if code == exitUsage || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("exit %d, stderr %s, output %s", code, stderr, out)
	}
	return code, r
}

func onePolicy(t *testing.T, r report) policyReport {
	t.Helper()
	if len(r.Policies) != 1 {
		t.Fatalf("want 1 policy in the report, got %d: %+v", len(r.Policies), r.Policies)
	}
	return r.Policies[0]
}

// checkCase asserts the review of a plan of the named case of planCases.
func checkCase(t *testing.T, name string, plan []byte) {
	t.Helper()
	code, r := reviewJSON(t, plan, "--fail-on", "widened")
	if name == "reorder" {
		// The provider plans a reordering of statements as no change
		// (the order carries no meaning), so there is nothing to review.
		if code != exitPass || len(r.Policies) != 0 || len(r.Findings) != 0 {
			t.Errorf("reorder: exit %d, policies %+v, findings %+v", code, r.Policies, r.Findings)
		}
		return
	}
	p := onePolicy(t, r)
	wantFail := name == "create" || name == "widen" || name == "variables"
	if (code == exitFail) != wantFail {
		t.Errorf("%s: --fail-on widened exit %d, want failure %v", name, code, wantFail)
	}
	wantChange := map[string]string{"create": "create", "widen": "update", "narrow": "update", "reorder": "update",
		"variables": "update", "bindings": "no-op", "replace": "replace", "destroy": "destroy"}[name]
	if p.Change != wantChange {
		t.Errorf("%s: change %q, want %q", name, p.Change, wantChange)
	}
	wantDevices := 40
	if name == "destroy" {
		wantDevices = 0
	}
	if p.BlastRadius["device"] != wantDevices || p.BlastRadiusUnknown {
		t.Errorf("%s: blast radius %v (unknown %v), want %d devices", name, p.BlastRadius, p.BlastRadiusUnknown, wantDevices)
	}
	if _, md, _ := runCLI(t, plan, "review", "-"); wantDevices > 0 && !strings.Contains(md, fmt.Sprintf("Blast radius from the plan: %d devices\n", wantDevices)) {
		t.Errorf("%s: the Markdown does not say %d devices:\n%s", name, wantDevices, md)
	}
	switch name {
	case "widen":
		if len(p.Widened) != 1 || !strings.HasPrefix(p.Widened[0].Topic, "/v1/firmware/") || len(p.Narrowed) != 0 {
			t.Errorf("widen: widened %+v narrowed %+v", p.Widened, p.Narrowed)
		}
	case "variables":
		// The statements come from an input variable: the plan holds
		// their values, which the review reads like any others.
		if len(p.Widened) != 1 || p.Widened[0].Action != "iotda:devices:subscribe" || !strings.HasPrefix(p.Widened[0].Resource, "topic:/v1/devices/${devices.deviceId}/config") ||
			len(p.Narrowed) != 0 || len(p.Undecided) != 0 {
			t.Errorf("variables: widened %+v narrowed %+v undecided %+v", p.Widened, p.Narrowed, p.Undecided)
		}
	case "narrow", "destroy":
		if len(p.Narrowed) == 0 || len(p.Widened) != 0 {
			t.Errorf("%s: widened %+v narrowed %+v", name, p.Widened, p.Narrowed)
		}
	case "replace", "bindings":
		if len(p.Widened)+len(p.Narrowed)+len(p.Undecided) != 0 {
			t.Errorf("%s: want no access change, got %+v %+v %+v", name, p.Widened, p.Narrowed, p.Undecided)
		}
	}
	if name == "bindings" {
		if len(p.Bindings) != 1 || strings.Join(p.Bindings[0].Added, ",") != "64a7ba7ef9cb063d27e16b97_sensor-0041,64a7ba7ef9cb063d27e16b97_sensor-0042" ||
			strings.Join(p.Bindings[0].Removed, ",") != "64a7ba7ef9cb063d27e16b97_sensor-0001,64a7ba7ef9cb063d27e16b97_sensor-0002" {
			t.Errorf("bindings: %+v", p.Bindings)
		}
	}
}

// goldenPlans returns the stored plans of each CLI, by CLI and case.
func goldenPlans(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/plans/*/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden plans (go test -run TestPlansFromCLI -update): %v", err)
	}
	out := map[string]map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cli := filepath.Base(filepath.Dir(f))
		if out[cli] == nil {
			out[cli] = map[string][]byte{}
		}
		out[cli][strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	return out
}

func TestGoldenPlans(t *testing.T) {
	for cli, plans := range goldenPlans(t) {
		for _, c := range planCases {
			t.Run(cli+"/"+c.name, func(t *testing.T) {
				b, ok := plans[c.name]
				if !ok {
					t.Fatalf("no golden plan %s/%s.json", cli, c.name)
				}
				checkCase(t, c.name, b)
			})
		}
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
