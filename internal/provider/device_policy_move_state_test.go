package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func TestIsHuaweicloudProvider(t *testing.T) {
	t.Parallel()
	for address, want := range map[string]bool{
		"registry.terraform.io/huaweicloud/huaweicloud": true,
		"registry.opentofu.org/huaweicloud/huaweicloud": true,
		"huaweicloud/huaweicloud":                       true,
		"mirror.example.com/HuaweiCloud/huaweicloud":    true,
		"registry.terraform.io/hashicorp/huaweicloud":   false,
		"registry.terraform.io/huaweicloud/iotda":       false,
		"huaweicloud":                 false,
		"/huaweicloud/huaweicloud":    false,
		"a/b/huaweicloud/huaweicloud": false,
		"":                            false,
	} {
		if got := isHuaweicloudProvider(address); got != want {
			t.Errorf("isHuaweicloudProvider(%q) = %v, want %v", address, got, want)
		}
	}
}

// moveRequest is a move from huaweicloud_iotda_device_policy with the given
// raw state.
func moveRequest(typeName, address, rawState string) resource.MoveStateRequest {
	return resource.MoveStateRequest{
		SourceTypeName:        typeName,
		SourceProviderAddress: address,
		SourceRawState:        &tfprotov6.RawState{JSON: []byte(rawState)},
	}
}

// TestMoveHuaweicloudPolicy_errors: every state that cannot be moved gets an
// error that says what is wrong (the CLI tests below cover the moves that
// work).
func TestMoveHuaweicloudPolicy_errors(t *testing.T) {
	t.Parallel()
	const hw = "registry.terraform.io/huaweicloud/huaweicloud"
	cases := map[string]struct {
		req  resource.MoveStateRequest
		want string
	}{
		"another type": {moveRequest("huaweicloud_iotda_device", hw, `{"id":"5c90fa7d3c4e4405e8525079"}`),
			`not from huaweicloud_iotda_device of "registry.terraform.io/huaweicloud/huaweicloud"`},
		"another provider": {moveRequest(huaweicloudPolicyType, "registry.terraform.io/hashicorp/huaweicloud", `{"id":"5c90fa7d3c4e4405e8525079"}`),
			`of "registry.terraform.io/hashicorp/huaweicloud"`},
		"missing id":     {moveRequest(huaweicloudPolicyType, hw, `{"policy_name":"p"}`), `has id "", which is not a device policy id`},
		"malformed id":   {moveRequest(huaweicloudPolicyType, hw, `{"id":"p-1"}`), `has id "p-1"`},
		"flatmap state":  {moveRequest(huaweicloudPolicyType, hw, ``), "holds no attributes"},
		"not an object":  {moveRequest(huaweicloudPolicyType, hw, `[]`), "cannot be read"},
		"wrong id type":  {moveRequest(huaweicloudPolicyType, hw, `{"id":5}`), "cannot be read"},
		"statement type": {moveRequest(huaweicloudPolicyType, hw, `{"id":"5c90fa7d3c4e4405e8525079","statement":"x"}`), "cannot be read"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var resp resource.MoveStateResponse
			moveHuaweicloudPolicy(context.Background(), tc.req, &resp)
			if !resp.Diagnostics.HasError() {
				t.Fatal("no error")
			}
			if got := fmt.Sprint(resp.Diagnostics); !strings.Contains(got, tc.want) {
				t.Fatalf("diagnostics %s do not say %q", got, tc.want)
			}
		})
	}
}

// huaweicloudStateFile is a state holding one huaweicloud_iotda_device_policy
// named "migrated" exactly as the huaweicloud provider writes it.
func huaweicloudStateFile(providerHost string, p mock.Policy) string {
	statements := make([]map[string]any, 0, len(p.Statement))
	for _, s := range p.Statement {
		statements = append(statements, map[string]any{"actions": s.Actions, "effect": s.Effect, "resources": s.Resources})
	}
	state := map[string]any{
		"version": 4, "terraform_version": "1.9.8", "serial": 4, "lineage": "6f0f6a53-2b51-4c38-8d35-1f0b7e3c6a29",
		"outputs": map[string]any{},
		"resources": []any{map[string]any{
			"mode": "managed", "type": huaweicloudPolicyType, "name": "migrated",
			"provider": fmt.Sprintf(`provider["%s/%s"]`, providerHost, huaweicloudProviderSource),
			"instances": []any{map[string]any{
				"schema_version": 0,
				"attributes": map[string]any{
					"create_time": p.CreateTime, "enable_force_new": nil, "id": p.PolicyID, "policy_name": p.PolicyName,
					"region": "cn-north-4", "space_id": p.AppID, "statement": statements, "update_time": p.UpdateTime,
				},
				"sensitive_attributes": []any{},
				"private":              "bnVsbA==",
			}},
		}},
		"check_results": nil,
	}
	out, _ := json.MarshalIndent(state, "", "  ")
	return string(out)
}

// TestMoveFromHuaweicloud runs the example of the migration guide
// (examples/migrate-from-huaweicloud) with the real CLI (Terraform 1.8+,
// OpenTofu 1.10+) on a state written as the huaweicloud provider writes it:
// the plan shows the move and nothing else, the move calls no API, and
// after apply the plan is empty.
func TestMoveFromHuaweicloud(t *testing.T) {
	t.Parallel()
	tf := terraformCLI(t)
	info := skipUnlessCLI(t, tf, "1.8.0", "1.10.0")
	srv := mock.NewTestServer(t, mock.Config{})
	// The policy the example's configuration describes, made as the
	// huaweicloud provider would have made it.
	policy, err := srv.CreatePolicy("", mock.CreatePolicyRequest{
		PolicyName: "migrated-telemetry", AppID: "factory-1",
		Statement: []mock.Statement{
			{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/v1/devices/${devices.deviceId}/telemetry"}},
			{Effect: "DENY", Actions: []string{iotda.ActionPublish, iotda.ActionSubscribe}, Resources: []string{"topic:/v1/firmware/*"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	host := "registry.terraform.io"
	if info.tofu {
		host = "registry.opentofu.org"
	}
	dir := copyExample(t, filepath.Join("..", "..", "examples", "migrate-from-huaweicloud"))
	state := strings.ReplaceAll(huaweicloudStateFile(host, policy), `"migrated"`, `"telemetry"`)
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	cliConfig := devOverridesConfigWith(t, map[string]string{huaweicloudProviderSource: huaweicloudStandInDir(t)})
	env := append(mockEnv(srv), serveHuaweicloudEnv+"=1")
	run := func(args ...string) string {
		t.Helper()
		out, err := runTerraform(tf, dir, cliConfig, env, append(args, "-no-color")...)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", info, strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// Without a refresh, the plan shows exactly what the move made of the
	// state: the configuration must match it with no change, and nothing
	// reaches the API.
	run("plan", "-refresh=false", "-out=move.tfplan")
	if n := srv.TotalCalls(); n != 0 {
		t.Fatalf("planning the move made %d API calls", n)
	}
	plan := showPlan(t, tf, dir, cliConfig, env, "move.tfplan")
	if len(plan.ResourceChanges) != 1 {
		t.Fatalf("the plan has %d resource changes, want only the move: %+v", len(plan.ResourceChanges), plan.ResourceChanges)
	}
	rc := plan.ResourceChanges[0]
	if rc.Address != "iotda_device_policy.telemetry" || rc.PreviousAddress != "huaweicloud_iotda_device_policy.telemetry" ||
		!rc.Change.Actions.NoOp() {
		t.Fatalf("the plan shows %s (from %q) with actions %v, want only the move from huaweicloud_iotda_device_policy.telemetry", rc.Address, rc.PreviousAddress, rc.Change.Actions)
	}
	moved, _ := json.Marshal(rc.Change.Before)
	want := fmt.Sprintf(`{"app_id":"factory-1","create_time":%q,"id":%q,"policy_name":"migrated-telemetry","statement":[`+
		`{"actions":["iotda:devices:publish"],"effect":"ALLOW","resources":["topic:/v1/devices/${devices.deviceId}/telemetry"]},`+
		`{"actions":["iotda:devices:publish","iotda:devices:subscribe"],"effect":"DENY","resources":["topic:/v1/firmware/*"]}],"update_time":%q}`,
		policy.CreateTime, policy.PolicyID, policy.UpdateTime)
	if string(moved) != want {
		t.Fatalf("moved state:\n%s\nwant:\n%s", moved, want)
	}
	run("apply", "move.tfplan")
	if listed := strings.TrimSpace(run("state", "list")); listed != "iotda_device_policy.telemetry" {
		t.Fatalf("state after the move: %q", listed)
	}
	run("plan", "-detailed-exitcode")
	after, _ := srv.Policy("", policy.PolicyID)
	if after.UpdateTime != policy.UpdateTime || after.PolicyName != policy.PolicyName {
		t.Fatalf("the policy changed: %+v", after)
	}
}

// TestMoveFromHuaweicloud_invalidState: a state without an id gets a clear
// error from the real CLI, and the state file is left as it was.
func TestMoveFromHuaweicloud_invalidState(t *testing.T) {
	t.Parallel()
	tf := terraformCLI(t)
	info := skipUnlessCLI(t, tf, "1.8.0", "1.10.0")
	srv := mock.NewTestServer(t, mock.Config{})
	dir := t.TempDir()
	state := strings.Replace(huaweicloudStateFile("registry.terraform.io", mock.Policy{PolicyName: "p", AppID: "a"}), `"id": ""`, `"id": null`, 1)
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	config := requiredProviders + `
provider "iotda" {}

moved {
  from = huaweicloud_iotda_device_policy.migrated
  to   = iotda_device_policy.migrated
}

resource "iotda_device_policy" "migrated" {
  policy_name = "p"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/a"]
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cliConfig := devOverridesConfigWith(t, map[string]string{huaweicloudProviderSource: huaweicloudStandInDir(t)})
	out, err := runTerraform(tf, dir, cliConfig, append(mockEnv(srv), serveHuaweicloudEnv+"=1"), "plan", "-no-color")
	if err == nil {
		t.Fatalf("%s planned the move of a state without an id:\n%s", info, out)
	}
	if !expectError(`Invalid huaweicloud_iotda_device_policy State.*has id "", which is not a device policy id`).Match(out) {
		t.Fatalf("%s: the error does not say what is wrong:\n%s", info, out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "terraform.tfstate")); string(after) != state {
		t.Fatal("a failed plan changed the state file")
	}
}

// TestMoveFromHuaweicloud_otherRegion: a policy whose huaweicloud state
// names another region than the provider's is refused, naming both regions
// and the provider alias to use, with and without a refresh, before any API
// call and without touching the state; with the provider configured for
// its region, the same move plans.
func TestMoveFromHuaweicloud_otherRegion(t *testing.T) {
	t.Parallel()
	tf := terraformCLI(t)
	info := skipUnlessCLI(t, tf, "1.8.0", "1.10.0")
	srv := mock.NewTestServer(t, mock.Config{})
	policy, err := srv.CreatePolicy("", mock.CreatePolicyRequest{
		PolicyName: "migrated-telemetry", AppID: "factory-1",
		Statement: []mock.Statement{
			{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/v1/devices/${devices.deviceId}/telemetry"}},
			{Effect: "DENY", Actions: []string{iotda.ActionPublish, iotda.ActionSubscribe}, Resources: []string{"topic:/v1/firmware/*"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	host := "registry.terraform.io"
	if info.tofu {
		host = "registry.opentofu.org"
	}
	dir := copyExample(t, filepath.Join("..", "..", "examples", "migrate-from-huaweicloud"))
	state := strings.ReplaceAll(huaweicloudStateFile(host, policy), `"migrated"`, `"telemetry"`)
	state = strings.Replace(state, `"region": "cn-north-4"`, `"region": "cn-east-3"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	cliConfig := devOverridesConfigWith(t, map[string]string{huaweicloudProviderSource: huaweicloudStandInDir(t)})
	env := append(mockEnv(srv), serveHuaweicloudEnv+"=1")
	for _, args := range [][]string{{"plan"}, {"plan", "-refresh=false"}} {
		out, err := runTerraform(tf, dir, cliConfig, env, append(args, "-no-color")...)
		if err == nil {
			t.Fatalf("%s %s planned a move from another region:\n%s", info, strings.Join(args, " "), out)
		}
		if !expectError(`Device Policy Moved From Another Region.*region "cn-east-3".*configured for\s+region "cn-north-4".*provider = iotda.cn_east_3`).Match(out) {
			t.Fatalf("%s %s: the error does not name both regions and the remedy:\n%s", info, strings.Join(args, " "), out)
		}
	}
	if n := srv.TotalCalls(); n != 0 {
		t.Fatalf("the refused move made %d API calls", n)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "terraform.tfstate")); string(after) != state {
		t.Fatal("a refused move changed the state file")
	}
	// Configured for the policy's region, the move plans, and the refresh
	// reads the policy once.
	env = append(env, "HW_REGION_NAME=cn-east-3")
	if out, err := runTerraform(tf, dir, cliConfig, env, "plan", "-no-color"); err != nil {
		t.Fatalf("%s plan in the policy's region: %v\n%s", info, err, out)
	}
	if n := srv.Calls(mock.OpShow); n != 1 || srv.TotalCalls() != 1 {
		t.Fatalf("the plan made %d calls (%d reads), want one read", srv.TotalCalls(), n)
	}
}
