package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// twoPolicyPlan is the golden widening plan with a second policy,
// iotda_device_policy.gateways, updated to stop granting the firmware topics
// that the first starts to grant, and a broadcast topic.
func twoPolicyPlan(t *testing.T) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(golden(t, "widen"), &p); err != nil {
		t.Fatal(err)
	}
	changes, _ := p["resource_changes"].([]any)
	var second map[string]any
	for _, c := range changes {
		if rc, _ := c.(map[string]any); rc["type"] == "iotda_device_policy" {
			b, err := json.Marshal(rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &second); err != nil {
				t.Fatal(err)
			}
		}
	}
	if second == nil {
		t.Fatal("no iotda_device_policy in the golden widening plan")
	}
	broadcast := map[string]any{"effect": "ALLOW", "actions": []string{"iotda:devices:subscribe"}, "resources": []string{"topic:/v1/broadcast"}}
	firmware := map[string]any{"effect": "ALLOW", "actions": []string{"iotda:devices:publish"}, "resources": []string{"topic:/v1/firmware/*"}}
	status := map[string]any{"effect": "ALLOW", "actions": []string{"iotda:devices:publish"}, "resources": []string{"topic:/v1/gateways/status"}}
	second["address"], second["name"] = "iotda_device_policy.gateways", "gateways"
	change, _ := second["change"].(map[string]any)
	for side, stmts := range map[string][]any{"before": {status, broadcast, firmware}, "after": {status}} {
		values, ok := change[side].(map[string]any)
		if !ok {
			t.Fatalf("the policy's %s is not an object", side)
		}
		values["id"], values["policy_name"], values["statement"] = "64a7ba7ef9cb063d27e16b98", "gateways", stmts
	}
	p["resource_changes"] = append(changes, second)
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestAccessMatrix shows, for a plan that changes two policies, the example
// topics by policy: the firmware topic the sensors gain is one the gateways
// lose, and the broadcast topic the gateways lose the sensors never had.
func TestAccessMatrix(t *testing.T) {
	_, r := reviewJSON(t, twoPolicyPlan(t))
	m := r.Matrix
	if m == nil || len(m.Columns) != 2 || m.Columns[0] != "iotda_device_policy.sensors" || m.Columns[1] != "iotda_device_policy.gateways" {
		t.Fatalf("matrix %+v", m)
	}
	// The firmware example is both widened and narrowed: one row.
	want := []matrixRow{
		{Action: "iotda:devices:publish", Topic: "/v1/firmware/x", Cells: []matrixCell{{"denied", "allowed"}, {"allowed", "denied"}}},
		{Action: "iotda:devices:subscribe", Topic: "/v1/broadcast", Cells: []matrixCell{{"denied", "denied"}, {"allowed", "denied"}}},
	}
	if !reflect.DeepEqual(m.Rows, want) {
		t.Errorf("rows %+v, want %+v", m.Rows, want)
	}

	// The Markdown, against its golden file (-update rewrites it).
	code, md, stderr := runCLI(t, twoPolicyPlan(t), "review", "--fail-on", "widened", "-")
	if code != exitFail {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	goldenMD := filepath.Join("testdata", "review", "two-policies.md")
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenMD), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenMD, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantMD, err := os.ReadFile(goldenMD)
	if err != nil {
		t.Fatal(err)
	}
	if md != string(wantMD) {
		t.Errorf("the Markdown differs from %s (go test -run TestAccessMatrix -args -update):\n%s", goldenMD, md)
	}

	// One policy: its own table says it all, no matrix.
	if _, r := reviewJSON(t, golden(t, "widen")); r.Matrix != nil {
		t.Errorf("a one-policy plan has a matrix: %+v", r.Matrix)
	}
}
