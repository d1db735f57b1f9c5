package provider

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestExamples applies every example configuration with the real CLI
// against the mock, checks the next plan is empty, and destroys it; the
// policy-review example also runs its `terraform test` file.
func TestExamples(t *testing.T) {
	t.Parallel()
	tf := terraformCLI(t)
	cliConfig := devOverridesConfig(t)
	examples := []string{
		"demo",
		"policy-review",
		"resources/iotda_device_policy",
		"resources/iotda_device_policy_binding",
		"functions/evaluate",
		"functions/compare",
		"functions/targets",
		"data-sources/iotda_device_policy",
		"data-sources/iotda_device_policies",
		"data-sources/iotda_device_policy_targets",
		"data-sources/iotda_device_access",
	}
	for _, example := range examples {
		t.Run(example, func(t *testing.T) {
			t.Parallel()
			srv := mock.NewTestServer(t, mock.Config{})
			dir := copyExample(t, filepath.Join("..", "..", "examples", example))
			env := []string{
				"HW_IOTDA_ENDPOINT=" + srv.URL, "HW_REGION_NAME=cn-north-4", "HW_PROJECT_ID=" + mock.TestProjectID,
				"HW_ACCESS_KEY=" + mock.TestAccessKey, "HW_SECRET_KEY=" + mock.TestSecretKey,
			}
			tfRun := func(args ...string) error {
				out, err := runTerraform(tf, dir, cliConfig, env, append(args, "-no-color")...)
				if err != nil {
					t.Logf("terraform %s:\n%s", strings.Join(args, " "), out)
				}
				return err
			}
			if _, err := os.Stat(filepath.Join(dir, "tests")); err == nil {
				if err := tfRun("test"); err != nil {
					t.Fatalf("terraform test: %v", err)
				}
				if n := len(srv.Policies("")); n != 0 {
					t.Fatalf("terraform test left %d policies behind", n)
				}
			}
			if err := tfRun("apply", "-auto-approve"); err != nil {
				t.Fatalf("apply: %v", err)
			}
			if len(srv.Policies("")) == 0 {
				t.Fatal("the example created no policy")
			}
			err := tfRun("plan", "-detailed-exitcode")
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ExitCode() == 2 {
				t.Fatal("the plan after apply is not empty")
			} else if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if err := tfRun("destroy", "-auto-approve"); err != nil {
				t.Fatalf("destroy: %v", err)
			}
			if n := len(srv.Policies("")); n != 0 {
				t.Fatalf("%d policies left after destroy", n)
			}
		})
	}
}
