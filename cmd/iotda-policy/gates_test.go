package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "plans", "terraform-1.11", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGateExitCodes(t *testing.T) {
	widen, narrow, reorder := golden(t, "widen"), golden(t, "narrow"), golden(t, "reorder")
	for _, tc := range []struct {
		name string
		plan []byte
		args []string
		want int
	}{
		{"no gate reports only", widen, nil, exitPass},
		{"widened fails a widening plan", widen, []string{"--fail-on", "widened"}, exitFail},
		{"widened passes a reorder-only plan", reorder, []string{"--fail-on", "widened"}, exitPass},
		{"widened passes a narrowing plan", narrow, []string{"--fail-on", "widened"}, exitPass},
		{"undecided passes a decided widening", widen, []string{"--fail-on", "undecided"}, exitPass},
		{"deny-topic granted fails", widen, []string{"--deny-topic", "/v1/firmware/*"}, exitFail},
		{"deny-topic not granted passes", narrow, []string{"--deny-topic", "/v1/firmware/*"}, exitPass},
		// Policies the plan does not change are checked too: the topic may
		// not be granted by any policy after the change.
		{"deny-topic checks unchanged policies", golden(t, "bindings"), []string{"--deny-topic", "/v1/devices/*/telemetry"}, exitFail},
		{"unknown fail-on", widen, []string{"--fail-on", "everything"}, exitUsage},
		{"unknown format", widen, []string{"--format", "xml"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.plan, append(append([]string{"review"}, tc.args...), "-")...)
			if code != tc.want {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.want, stderr)
			}
		})
	}
}

func TestBaseline(t *testing.T) {
	// Against a baseline that approves the firmware topic, the widening
	// plan grants nothing new.
	approved := `{"iotda_device_policy.sensors": [
	  {"effect": "ALLOW", "actions": ["iotda:devices:publish"], "resources": ["topic:/v1/devices/${devices.deviceId}/telemetry", "topic:/v1/firmware/*"]},
	  {"effect": "ALLOW", "actions": ["iotda:devices:subscribe"], "resources": ["topic:/v1/devices/${devices.deviceId}/commands"]}]}`
	code, r := reviewJSON(t, golden(t, "widen"), "--fail-on", "widened", "--baseline", writeTemp(t, "baseline.json", approved))
	p := onePolicy(t, r)
	if code != exitPass || p.ComparedTo != "baseline" || len(p.Widened) != 0 {
		t.Errorf("exit %d, compared to %q, widened %+v", code, p.ComparedTo, p.Widened)
	}
	// A baseline narrower than the prior state makes an unchanged policy
	// a finding.
	narrow := `{"iotda_device_policy.sensors": [{"effect": "ALLOW", "actions": ["iotda:devices:publish"], "resources": ["topic:/v1/devices/${devices.deviceId}/telemetry"]}]}`
	code, r = reviewJSON(t, golden(t, "bindings"), "--fail-on", "widened", "--baseline", writeTemp(t, "baseline.json", narrow))
	if p := onePolicy(t, r); code != exitFail || len(p.Widened) != 1 || p.Widened[0].Action != "iotda:devices:subscribe" {
		t.Errorf("exit %d, widened %+v", code, p.Widened)
	}
	if code, _, stderr := runCLI(t, nil, "review", "--baseline", writeTemp(t, "b.json", `{"iotda_device_policy.sensors": [{"effect": "ALLOW", "actions": ["publish"], "resources": ["topic:/a"]}]}`), "-"); code != exitUsage || !strings.Contains(stderr, "never match") {
		t.Errorf("bad baseline: exit %d, stderr %s", code, stderr)
	}
}

func TestWaivers(t *testing.T) {
	waivers := writeTemp(t, "waivers.json", `[{"address": "iotda_device_policy.sensors", "finding": "widened", "reason": "firmware pull approved in SEC-42"}]`)
	code, r := reviewJSON(t, golden(t, "widen"), "--fail-on", "widened", "--waivers", waivers)
	if code != exitPass || len(r.Findings) != 1 || !r.Findings[0].Waived || r.Findings[0].Reason != "firmware pull approved in SEC-42" {
		t.Errorf("exit %d, findings %+v", code, r.Findings)
	}
	// The waiver is shown, never dropped.
	_, out, _ := runCLI(t, golden(t, "widen"), "review", "--fail-on", "widened", "--waivers", waivers, "-")
	if !strings.Contains(out, "waived: firmware pull approved in SEC-42") {
		t.Errorf("markdown does not show the waiver:\n%s", out)
	}
	// A waiver of another finding does not pass the gate.
	other := writeTemp(t, "other.json", `[{"address": "iotda_device_policy.sensors", "finding": "undecided", "reason": "r"}]`)
	if code, _ := reviewJSON(t, golden(t, "widen"), "--fail-on", "widened", "--waivers", other); code != exitFail {
		t.Errorf("waiver of another finding: exit %d", code)
	}
	noReason := writeTemp(t, "noreason.json", `[{"address": "iotda_device_policy.sensors", "finding": "widened", "reason": " "}]`)
	if code, _, stderr := runCLI(t, golden(t, "widen"), "review", "--waivers", noReason, "-"); code != exitUsage || !strings.Contains(stderr, "reason") {
		t.Errorf("waiver without reason: exit %d, stderr %s", code, stderr)
	}
}

func TestBadInput(t *testing.T) {
	state := `{"format_version": "1.0", "terraform_version": "1.11.4", "values": {"root_module": {}}}`
	future := strings.Replace(string(golden(t, "widen")), `"format_version":"1.2"`, `"format_version":"2.0"`, 1)
	if future == string(golden(t, "widen")) {
		t.Fatal("the golden plan's format_version is not 1.2")
	}
	big := bytes.Repeat([]byte(" "), maxInput+1)
	for _, tc := range []struct {
		name, input, want string
	}{
		{"not JSON", "Plan: 1 to add", "not JSON of a saved plan"},
		{"state, not plan", state, "not the JSON of a saved plan"},
		{"unknown format version", future, `format_version "2.0" is not supported`},
		{"oversized", string(big), "larger than the limit of 64 MiB"},
		{"empty", "", "not JSON of a saved plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, []byte(tc.input), "review", "--fail-on", "widened", "-")
			if code != exitUsage || !strings.Contains(stderr, tc.want) || out != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 and %q", code, stderr, out, tc.want)
			}
		})
	}
	if code, _, stderr := runCLI(t, nil, "review", filepath.Join(t.TempDir(), "missing.json")); code != exitUsage || stderr == "" {
		t.Errorf("missing file: exit %d", code)
	}
}

// TestSARIF checks the structure code scanning requires of SARIF 2.1.0.
func TestSARIF(t *testing.T) {
	waivers := writeTemp(t, "w.json", `[{"address": "iotda_device_policy.sensors", "finding": "deny-topic", "reason": "known"}]`)
	code, out, stderr := runCLI(t, golden(t, "widen"), "review", "--format", "sarif", "--fail-on", "widened", "--deny-topic", "/v1/firmware/*", "--waivers", waivers, "-")
	if code != exitFail {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	// Decoded with the property names of the SARIF 2.1.0 specification,
	// independently of the types that write it.
	var log struct {
		Schema  *string `json:"$schema"`
		Version string  `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID  string `json:"ruleId"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					LogicalLocations []struct {
						FullyQualifiedName string `json:"fullyQualifiedName"`
					} `json:"logicalLocations"`
				} `json:"locations"`
				Suppressions []json.RawMessage `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || log.Schema == nil || !strings.Contains(*log.Schema, "sarif-2.1.0") {
		t.Errorf("version %q, $schema %v", log.Version, log.Schema)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("runs: %d", len(log.Runs))
	}
	driver := log.Runs[0].Tool.Driver
	if driver.Name != "iotda-policy" {
		t.Errorf("driver name %q", driver.Name)
	}
	ruleIDs := map[string]bool{}
	for _, r := range driver.Rules {
		ruleIDs[r.ID] = true
	}
	results := log.Runs[0].Results
	if len(results) != 2 {
		t.Fatalf("want 2 results (widened, deny-topic), got %d", len(results))
	}
	suppressed := 0
	for _, res := range results {
		if !ruleIDs[res.RuleID] {
			t.Errorf("ruleId %q not among the driver's rules", res.RuleID)
		}
		if res.Message.Text == "" {
			t.Error("a result without message.text")
		}
		if len(res.Locations) == 0 || len(res.Locations[0].LogicalLocations) == 0 ||
			res.Locations[0].LogicalLocations[0].FullyQualifiedName != "iotda_device_policy.sensors" {
			t.Errorf("locations %+v", res.Locations)
		}
		if len(res.Suppressions) > 0 {
			suppressed++
		}
	}
	if suppressed != 1 {
		t.Errorf("want the waived finding suppressed, got %d suppressed", suppressed)
	}
}

func TestVersion(t *testing.T) {
	if code, out, _ := runCLI(t, nil, "--version"); code != exitPass || out != "iotda-policy dev\n" {
		t.Errorf("exit %d, %q", code, out)
	}
}
