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

const requiredProviders = `terraform {
  required_providers {
    iotda = { source = "iotda-terraform/iotda" }
  }
}
`

// TestExamples applies every example configuration with the real CLI
// against the mock, checks the next plan is empty, and destroys it; the
// policy-review example also runs its `terraform test` file.
func TestExamples(t *testing.T) {
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

// copyExample copies an example's files (and its tests/ folder) to a
// temporary folder, adding the provider requirement the resource examples
// leave out.
func copyExample(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !strings.HasSuffix(path, ".tf") && !strings.HasSuffix(path, ".tftest.hcl") {
			return nil
		}
		if strings.HasPrefix(d.Name(), "import") {
			return nil // import blocks of the docs name objects the test does not make
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join(dst, "main.tf"))
	if err != nil || !strings.Contains(string(main), "required_providers") {
		if err := os.WriteFile(filepath.Join(dst, "providers.tf"), []byte(requiredProviders), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
