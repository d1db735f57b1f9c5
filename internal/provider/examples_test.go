package provider

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// examplesDir is the examples folder, relative to this package.
const examplesDir = "../../examples"

// providerSource is the source address every example must require the
// provider by (the address of dev_overrides and of the registry).
const providerSource = "iotda-terraform/iotda"

// examplesTestedElsewhere are the examples that need more than an apply
// against the mock, each with the test that runs it instead of TestExamples.
var examplesTestedElsewhere = map[string]string{
	// A state written by another provider, and that provider's stand-in.
	"migrate-from-huaweicloud": "TestMoveFromHuaweicloud",
	// terraform query and generated configuration (Terraform 1.14+).
	"adopt": "TestAdoptWithQuery",
}

// discoverExamples returns every folder under examples/ that holds .tf files
// (relative to examples/), except the tests/ folders of `terraform test`.
// A new example is tested without being listed anywhere.
func discoverExamples(tb testing.TB) []string {
	tb.Helper()
	var found []string
	err := filepath.WalkDir(examplesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "tests" {
			return filepath.SkipDir
		}
		if !d.IsDir() || path == examplesDir {
			return nil
		}
		tfFiles, err := filepath.Glob(filepath.Join(path, "*.tf"))
		if err != nil {
			return err
		}
		if len(tfFiles) > 0 {
			rel, err := filepath.Rel(examplesDir, path)
			if err != nil {
				return err
			}
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	// Sanity: the walk must see the examples that have always been there.
	for _, want := range []string{"demo", "provider", "resources/iotda_device_policy"} {
		if !slices.Contains(found, want) {
			tb.Fatalf("discovered examples %v lack %q", found, want)
		}
	}
	return found
}

// readExample returns the concatenated .tf files of an example.
func readExample(tb testing.TB, example string) string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(examplesDir, example, "*.tf"))
	if err != nil {
		tb.Fatal(err)
	}
	var all strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		all.Write(data)
		all.WriteString("\n")
	}
	return all.String()
}

var (
	requiredProvidersRe = regexp.MustCompile(`(?s)terraform\s*\{[^}]*?required_providers\s*\{.*?\biotda\s*=\s*\{[^}]*source\s*=\s*"([^"]+)"`)
	policyNameRe        = regexp.MustCompile(`(?m)^\s*policy_name\s*=\s*"([^"]+)"`)
	managedObjectRe     = regexp.MustCompile(`(?m)^(resource|data)\s+"iotda_`)
)

// TestExamplesAreSelfContained checks that every example can be copied on
// its own: it requires the provider by its source address, and no two
// examples create a policy of the same name (so any two can be applied side
// by side in one instance).
func TestExamplesAreSelfContained(t *testing.T) {
	t.Parallel()
	examples := discoverExamples(t)
	for example, test := range examplesTestedElsewhere {
		if !slices.Contains(examples, example) {
			t.Errorf("examplesTestedElsewhere names examples/%s, which does not exist", example)
		}
		if !testRunsExample(t, test, example) {
			t.Errorf("examples/%s is left to %s, but no test file of this package defines %s and names the example", example, test, test)
		}
	}
	owner := map[string]string{}
	for _, example := range examples {
		src := readExample(t, example)
		m := requiredProvidersRe.FindStringSubmatch(src)
		switch {
		case m == nil:
			t.Errorf("examples/%s has no terraform { required_providers { iotda = { source = %q } } } block", example, providerSource)
		case m[1] != providerSource:
			t.Errorf("examples/%s requires the provider from %q, want %q", example, m[1], providerSource)
		}
		for _, name := range policyNameRe.FindAllStringSubmatch(src, -1) {
			// One example may reuse a name in another resource space on purpose.
			if other, taken := owner[name[1]]; taken && other != example {
				t.Errorf("examples/%s and examples/%s both create a policy named %q", other, example, name[1])
			}
			owner[name[1]] = example
		}
	}
}

// testRunsExample reports whether a test file of this package defines the
// test and names the example's folder.
func testRunsExample(tb testing.TB, test, example string) bool {
	tb.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		src := string(data)
		if strings.Contains(src, "func "+test+"(t *testing.T)") && strings.Contains(src, `"`+path.Base(example)+`"`) {
			return true
		}
	}
	return false
}

// TestExamples runs every example found under examples/ with the real CLI
// against the mock: an example that manages objects is applied, its next
// plan must be empty, and it is destroyed; its `terraform test` files run
// first when it has a tests/ folder. An example without resources or data
// sources (the provider block) is validated. The examples in
// examplesTestedElsewhere are run by their own tests.
func TestExamples(t *testing.T) {
	t.Parallel()
	tf := terraformCLI(t)
	cliConfig := devOverridesConfig(t)
	for _, example := range discoverExamples(t) {
		if _, elsewhere := examplesTestedElsewhere[example]; elsewhere {
			continue
		}
		t.Run(example, func(t *testing.T) {
			t.Parallel()
			srv := mock.NewTestServer(t, mock.Config{})
			dir := copyExample(t, filepath.Join(examplesDir, example))
			env := mockEnv(srv)
			tfRun := func(args ...string) error {
				out, err := runTerraform(tf, dir, cliConfig, env, append(args, "-no-color")...)
				if err != nil {
					t.Logf("terraform %s:\n%s", strings.Join(args, " "), out)
				}
				return err
			}
			if !managedObjectRe.MatchString(readExample(t, example)) {
				if err := tfRun("validate"); err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if _, err := os.Stat(filepath.Join(dir, "tests")); err == nil {
				if err := tfRun("test"); err != nil {
					t.Fatalf("terraform test: %v", err)
				}
				if n := len(srv.Policies("")); n != 0 {
					t.Fatalf("terraform test left %d policies behind", n)
				}
				runOfflineTests(t, tf, dir, cliConfig)
			}
			applyPlanDestroy(t, srv, tfRun)
		})
	}
}

// runOfflineTests runs again, with no endpoint and no credentials, each
// test file of an example that replaces the provider with mock_provider:
// such a file says it needs no IoTDA, which the run with the mock's
// settings cannot show.
func runOfflineTests(t *testing.T, tf, dir, cliConfig string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "tests", "*.tftest.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), `mock_provider "iotda"`) {
			continue
		}
		filter := "tests/" + filepath.Base(file)
		out, err := runTerraform(tf, dir, cliConfig, nil, "test", "-filter="+filter, "-no-color")
		if err != nil || !offlinePassedRe.Match(out) {
			t.Fatalf("terraform test -filter=%s with no endpoint and no credentials: %v\n%s", filter, err, out)
		}
	}
}

// offlinePassedRe matches the closing line of a terraform test run that ran
// something and passed.
var offlinePassedRe = regexp.MustCompile(`Success! [1-9][0-9]* passed, 0 failed`)

// applyPlanDestroy applies the configuration, requires the next plan to be
// empty and destroys it, checking the mock at each step.
func applyPlanDestroy(t *testing.T, srv *mock.TestServer, tfRun func(args ...string) error) {
	t.Helper()
	if err := tfRun("apply", "-auto-approve"); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(srv.Policies("")) == 0 {
		t.Fatal("the configuration created no policy")
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
}

// TestReadmeTryItYourself applies the configuration of the README's "Try it
// yourself" section (the heredoc of its step 4) the way the section does,
// with the environment `make mock-env` prints, so the README cannot drift
// from what works.
func TestReadmeTryItYourself(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section, _, _ := strings.Cut(string(readme[strings.Index(string(readme), "## Try it yourself"):]), "\n## ")
	m := regexp.MustCompile("(?s)cat >main.tf <<'EOF'\n(.*?)\nEOF\n").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("README.md: the Try it yourself section has no `cat >main.tf <<'EOF'` ... `EOF` block")
	}
	mockEnv := exec.Command("make", "-s", "--no-print-directory", "mock-env")
	mockEnv.Dir = "../.."
	out, err := mockEnv.Output()
	if err != nil {
		t.Fatalf("make mock-env: %v", err)
	}
	// The mock's demo project and keys, as the README tells the user to export them.
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		kv, ok := strings.CutPrefix(line, "export ")
		name, value, ok2 := strings.Cut(kv, "=")
		if !ok || !ok2 {
			t.Fatalf("make mock-env printed %q, not an export line", line)
		}
		if !strings.Contains(section, line) {
			t.Errorf("README.md does not show the line %q that make mock-env prints", line)
		}
		env[name] = value
	}
	srv := mock.NewTestServer(t, mock.Config{
		ProjectID:   env["HW_PROJECT_ID"],
		Credentials: []mock.Credential{{AccessKey: env["HW_ACCESS_KEY"], SecretKey: env["HW_SECRET_KEY"]}},
	})
	env["HW_IOTDA_ENDPOINT"] = srv.URL // a free port instead of 18080
	var envList []string
	for name, value := range env {
		envList = append(envList, name+"="+value)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(m[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tf, cliConfig := terraformCLI(t), devOverridesConfig(t)
	applyPlanDestroy(t, srv, func(args ...string) error {
		out, err := runTerraform(tf, dir, cliConfig, envList, append(args, "-no-color")...)
		if err != nil {
			t.Logf("terraform %s:\n%s", strings.Join(args, " "), out)
		}
		return err
	})
}
