package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	policy := writeTemp(t, "p.json", `{"statement": [
	  {"effect": "ALLOW", "actions": ["iotda:devices:publish"], "resources": ["topic:/v1/devices/${devices.deviceId}/*"]},
	  {"effect": "DENY", "actions": ["iotda:devices:publish"], "resources": ["topic:/v1/devices/*/firmware"]}]}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--action", "publish", "--topic", "/v1/devices/d1/up", "--device-id", "d1"}, `{"allowed":true,"decision":"ALLOW","matched_statements":[0]}`},
		{[]string{"--action", "publish", "--topic", "/v1/devices/d1/firmware", "--device-id", "d1"}, `{"allowed":false,"decision":"DENY","matched_statements":[0,1]}`},
		{[]string{"--action", "subscribe", "--topic", "/v1/devices/d1/up", "--device-id", "d1"}, `{"allowed":false,"decision":"NO_MATCH","matched_statements":[]}`},
		{[]string{"--action", "publish", "--topic", "$oc/devices/d1/sys"}, `{"allowed":true,"decision":"NOT_GOVERNED","matched_statements":[]}`},
	} {
		code, out, stderr := runCLI(t, nil, append(append([]string{"evaluate"}, tc.args...), policy)...)
		var got, want any
		_ = json.Unmarshal([]byte(out), &got)
		_ = json.Unmarshal([]byte(tc.want), &want)
		if code != exitPass || !jsonEqual(got, want) {
			t.Errorf("%v: exit %d, %s%s, want %s", tc.args, code, out, stderr, tc.want)
		}
	}
	if code, _, stderr := runCLI(t, nil, "evaluate", "--action", "publish", "--topic", "topic:/a", policy); code != exitUsage || !strings.Contains(stderr, "without the prefix") {
		t.Errorf("topic with prefix: exit %d, %s", code, stderr)
	}
	if code, _, _ := runCLI(t, nil, "evaluate", "--action", "connect", "--topic", "/a", policy); code != exitUsage {
		t.Errorf("unknown action: exit %d", code)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestCompare(t *testing.T) {
	old := writeTemp(t, "old.json", `[{"effect": "ALLOW", "actions": ["iotda:devices:publish"], "resources": ["topic:/v1/a", "topic:/v1/b"]}]`)
	reordered := writeTemp(t, "new.json", `[{"effect": "ALLOW", "actions": ["iotda:devices:publish"], "resources": ["topic:/v1/b", "topic:/v1/a"]}]`)
	wider := writeTemp(t, "wider.json", `[{"effect": "ALLOW", "actions": ["iotda:devices:publish"], "resources": ["topic:/v1/*"]}]`)
	var r struct {
		Widened    []changeJSON `json:"widened"`
		Equivalent bool         `json:"equivalent"`
		NoLost     bool         `json:"no_lost_access"`
	}
	code, out, _ := runCLI(t, nil, "compare", old, reordered)
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != exitPass || !r.Equivalent {
		t.Errorf("reordered: exit %d, %s", code, out)
	}
	code, out, _ = runCLI(t, nil, "compare", old, wider)
	r.Widened = nil
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != exitPass || len(r.Widened) != 1 || !r.NoLost || r.Equivalent {
		t.Errorf("wider: exit %d, %s", code, out)
	}
	if code, _, _ := runCLI(t, nil, "compare", old); code != exitUsage {
		t.Errorf("one file: exit %d", code)
	}
}
