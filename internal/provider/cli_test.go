package provider

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
	work := tb.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(work, "bin", "terraform-provider-iotda"), "../..")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building the provider: %v\n%s", err, out)
	}
	path := filepath.Join(work, "cli.tfrc")
	config := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"iotda-terraform/iotda\" = %q\n  }\n  direct {}\n}\n", filepath.Join(work, "bin"))
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
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
