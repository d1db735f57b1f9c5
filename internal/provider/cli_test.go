package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// terraformCLI finds the CLI the acceptance tests use.
func terraformCLI(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		tb.Fatal("no terraform CLI: run the tests through make, which provides one")
	}
	return p
}

// devOverridesConfig builds the provider and writes a CLI configuration that
// runs it in place of a registry download (no init, no network).
func devOverridesConfig(tb testing.TB) string {
	tb.Helper()
	return devOverridesConfigWith(tb, nil)
}

// devOverridesConfigWith is devOverridesConfig with more providers: source
// address -> folder of its binary.
func devOverridesConfigWith(tb testing.TB, more map[string]string) string {
	tb.Helper()
	work := tb.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(work, "bin", "terraform-provider-iotda"), "../..")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building the provider: %v\n%s", err, out)
	}
	overrides := map[string]string{"iotda-terraform/iotda": filepath.Join(work, "bin")}
	for source, dir := range more {
		overrides[source] = dir
	}
	sources := make([]string, 0, len(overrides))
	for source := range overrides {
		sources = append(sources, source)
	}
	sort.Strings(sources)
	var b strings.Builder
	b.WriteString("provider_installation {\n  dev_overrides {\n")
	for _, source := range sources {
		fmt.Fprintf(&b, "    %q = %q\n", source, overrides[source])
	}
	b.WriteString("  }\n  direct {}\n}\n")
	path := filepath.Join(work, "cli.tfrc")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// mockEnv is the provider's environment for srv.
func mockEnv(srv *mock.TestServer) []string {
	return []string{
		"HW_IOTDA_ENDPOINT=" + srv.URL, "HW_REGION_NAME=cn-north-4", "HW_PROJECT_ID=" + mock.TestProjectID,
		"HW_ACCESS_KEY=" + mock.TestAccessKey, "HW_SECRET_KEY=" + mock.TestSecretKey,
	}
}

// showPlan reads a saved plan as JSON.
func showPlan(tb testing.TB, tf, dir, cliConfig string, env []string, planFile string) *tfjson.Plan {
	tb.Helper()
	cmd := exec.Command(tf, "show", "-json", planFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("show -json %s: %v", planFile, err)
	}
	var plan tfjson.Plan
	if err := json.Unmarshal(out, &plan); err != nil {
		tb.Fatalf("show -json %s: %v", planFile, err)
	}
	return &plan
}

// runTerraform runs the CLI in dir with the given CLI configuration and
// extra environment, and returns its combined output.
func runTerraform(tf, dir, cliConfig string, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")
	cmd.Env = append(cmd.Env, env...)
	return cmd.CombinedOutput()
}
