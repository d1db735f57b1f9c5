package provider

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestAdoptWithQuery runs the guide "Adopting existing policies and
// bindings" with the real CLI (Terraform 1.14+) on examples/adopt: three
// policies, a device binding and a product binding made outside
// Terraform; `terraform query -generate-config-out` writes their
// configuration; the plan shows only imports; after apply the plan is
// empty and nothing was changed on the API.
func TestAdoptWithQuery(t *testing.T) {
	t.Parallel()
	tf := terraformCLI(t)
	info := skipUnlessCLI(t, tf, "1.14.0", "")
	srv := mock.NewTestServer(t, mock.Config{})
	dir := copyExample(t, filepath.Join("..", "..", "examples", "adopt"))
	for _, name := range []string{"adopt.tfquery.hcl", "link-bindings.sh"} {
		copyFile(t, filepath.Join("..", "..", "examples", "adopt", name), filepath.Join(dir, name))
	}
	cliConfig := devOverridesConfig(t)
	env := mockEnv(srv)
	run := func(args ...string) string {
		t.Helper()
		out, err := runTerraform(tf, dir, cliConfig, env, append(args, "-no-color")...)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", info, strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// What exists before: made by examples/adopt/made-elsewhere, whose
	// state is then thrown away, as the guide does on the mock.
	elsewhere := filepath.Join(dir, "made-elsewhere")
	run("-chdir="+elsewhere, "apply", "-auto-approve")
	if err := os.Remove(filepath.Join(elsewhere, "terraform.tfstate")); err != nil {
		t.Fatal(err)
	}
	var sensors string
	for _, p := range srv.Policies("") {
		if p.PolicyName == "sensors" && p.AppID == "factory-1" {
			sensors = p.PolicyID
		}
	}

	listed := run("query")
	for _, want := range []string{
		"list.iotda_device_policy.policy", "gateways (resource space factory-1)",
		"list.iotda_device_policy_binding.binding", "sensors (resource space factory-1): 3 device target(s)",
		"gateways (resource space factory-1): 1 product target(s)",
	} {
		if !strings.Contains(listed, want) {
			t.Errorf("terraform query does not list %q:\n%s", want, listed)
		}
	}

	srv.ResetCalls()
	run("query", "-generate-config-out=generated.tf")
	if n := srv.Calls(mock.OpList) + srv.Calls(mock.OpShow) + srv.Calls(mock.OpListTargets); n != srv.TotalCalls() || n != 2+3+3 {
		t.Errorf("the query made %d calls (%d listings, reads and target listings), want 2 policy listings, 3 reads and 3 target listings", srv.TotalCalls(), n)
	}
	generatedPath := filepath.Join(dir, "generated.tf")
	generated := readFile(t, generatedPath)
	for _, want := range []string{
		// IoTDA variables escaped, statements in the API's order (DENY
		// first, as made).
		`resources = ["topic:/v1/firmware/*"]`,
		`resources = ["topic:/v1/devices/$${devices.deviceId}/*"]`,
		`target_type = "product"`,
		`gateway-product = ""`,
		`identity = {`,
	} {
		if !strings.Contains(generated, want) {
			t.Errorf("generated.tf does not hold %s:\n%s", want, generated)
		}
	}
	if deny, allow := strings.Index(generated, `"topic:/v1/firmware/*"`), strings.Index(generated, `"topic:/v1/devices/$${devices.deviceId}/*"`); deny > allow {
		t.Errorf("the statements are not in the API's order:\n%s", generated)
	}

	// The guide's one edit: bindings refer to their policies.
	script := exec.Command("sh", filepath.Join(dir, "link-bindings.sh"), generatedPath)
	if out, err := script.CombinedOutput(); err != nil {
		t.Fatalf("link-bindings.sh: %v\n%s", err, out)
	}
	linked := readFile(t, generatedPath)
	if n := strings.Count(linked, "policy_id   = iotda_device_policy.policy_"); n != 2 {
		t.Errorf("%d bindings refer to their policy, want 2:\n%s", n, linked)
	}
	run("fmt", "-check", "generated.tf")

	// The plan: 5 imports, nothing else.
	srv.ResetCalls()
	run("plan", "-out=adopt.tfplan")
	plan := showPlan(t, tf, dir, cliConfig, env, "adopt.tfplan")
	imports := 0
	for _, rc := range plan.ResourceChanges {
		if rc.Change.Importing == nil || !rc.Change.Actions.NoOp() {
			t.Errorf("the plan does %v on %s (importing: %v), want only imports", rc.Change.Actions, rc.Address, rc.Change.Importing != nil)
			continue
		}
		imports++
	}
	if imports != 5 {
		t.Errorf("the plan imports %d objects, want 3 policies and 2 bindings", imports)
	}
	run("apply", "adopt.tfplan")
	if out, err := runTerraform(tf, dir, cliConfig, env, "plan", "-detailed-exitcode", "-no-color"); err != nil {
		t.Fatalf("the plan after apply is not empty: %v\n%s", err, out)
	}
	for _, op := range []mock.Operation{mock.OpCreate, mock.OpUpdate, mock.OpDelete, mock.OpBind, mock.OpUnbind} {
		if n := srv.Calls(op); n != 0 {
			t.Errorf("adopting made %d %s calls", n, op)
		}
	}
	if got := srv.Targets("", sensors, iotda.TargetTypeDevice); len(got) != 3 {
		t.Errorf("after adoption %d devices are bound to the first policy, want 3", len(got))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
