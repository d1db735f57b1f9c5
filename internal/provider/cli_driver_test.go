package provider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-version"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// The CLI driver: tests that read what the testing framework does not
// (warnings, the CLI's own output, a saved plan) run the terraform CLI
// themselves, in a workspace of their own.

const requiredProviders = `terraform {
  required_providers {
    iotda = { source = "iotda-terraform/iotda" }
  }
}
`

// The warning tests read the diagnostics of `terraform plan -json`: the
// testing framework checks plans and state, but not warnings. They run the
// real CLI against a build of the provider shared by the whole test binary.
var (
	sharedCLIOnce   sync.Once
	sharedCLIConfig string
	sharedCLIDir    string
	sharedCLIErr    string
)

// cliProviderConfig builds the provider once and returns a CLI
// configuration that runs it (see devOverridesConfig).
func cliProviderConfig(t *testing.T) string {
	t.Helper()
	sharedCLIOnce.Do(func() {
		dir, err := os.MkdirTemp("", "iotda-cli-") //nolint:usetesting // shared by every test of the binary, removed by TestMain

		if err != nil {
			sharedCLIErr = err.Error()
			return
		}
		sharedCLIDir = dir
		bin := filepath.Join(dir, "bin")
		if err := buildProviderInto(bin); err != nil {
			sharedCLIErr = err.Error()
			return
		}
		sharedCLIConfig = filepath.Join(dir, "cli.tfrc")
		if err := os.WriteFile(sharedCLIConfig, []byte(overridesText(map[string]string{"iotda-terraform/iotda": bin})), 0o600); err != nil {
			sharedCLIErr = err.Error()
		}
	})
	if sharedCLIErr != "" {
		t.Fatal(sharedCLIErr)
	}
	return sharedCLIConfig
}

// cliDiagnostic is a diagnostic of the CLI's machine-readable output.
type cliDiagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Address  string `json:"address"`
}

// workspace is a configuration folder with its own state, driven by the CLI.
type workspace struct {
	t         *testing.T
	tf        string
	cliConfig string
	dir       string
	// target is where the configurations of configure go.
	target *accTarget
	// env is the environment of the CLI and so of the provider it starts.
	env []string
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	return &workspace{t: t, tf: terraformCLI(t), cliConfig: cliProviderConfig(t), dir: t.TempDir()}
}

// workspace is a workspace of the target. The provider runs in a process
// of the CLI's: on an instance it reads the HW_* settings from its
// environment, as in a user's shell; the target does not count its calls.
func (a *accTarget) workspace() *workspace {
	a.t.Helper()
	w := newWorkspace(a.t)
	w.target = a
	if a.real() {
		for _, name := range providerEnv {
			if v := realSettings[name]; v != "" {
				w.env = append(w.env, name+"="+v)
			}
		}
	}
	return w
}

// configure replaces the configuration with the target's provider block,
// with the given lines (see accTarget.providerBlock), and body.
func (w *workspace) configure(body string, providerLines ...string) {
	w.t.Helper()
	config := requiredProviders + w.target.providerBlock(providerLines...) + body
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// run runs the CLI and fails the test when it fails.
func (w *workspace) run(args ...string) []byte {
	w.t.Helper()
	out, err := runTerraform(w.tf, w.dir, w.cliConfig, w.env, append(args, "-no-color")...)
	if err != nil {
		w.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// apply applies the configuration.
func (w *workspace) apply() {
	w.t.Helper()
	w.run("apply", "-auto-approve")
}

// planWarnings runs `terraform plan -json` with args and returns its
// warnings, except the CLI's own about development overrides.
func (w *workspace) planWarnings(args ...string) []cliDiagnostic {
	w.t.Helper()
	out := w.run(append([]string{"plan", "-json"}, args...)...)
	var warnings []cliDiagnostic
	scanner := bufio.NewScanner(bytes.NewReader(out))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var line struct {
			Type       string        `json:"type"`
			Diagnostic cliDiagnostic `json:"diagnostic"`
		}
		if json.Unmarshal(scanner.Bytes(), &line) != nil || line.Type != "diagnostic" {
			continue
		}
		if d := line.Diagnostic; d.Severity == "warning" && d.Summary != "Provider development overrides are in effect" {
			warnings = append(warnings, d)
		}
	}
	return warnings
}

// expectWarnings fails t unless the warnings have exactly the summaries
// want, in any order, each as often as listed, and each detail contains the
// fragments listed for its summary in details.
func expectWarnings(t *testing.T, step string, got []cliDiagnostic, want []string, details map[string][]string) {
	t.Helper()
	var summaries []string
	for _, d := range got {
		summaries = append(summaries, d.Summary)
		for _, fragment := range details[d.Summary] {
			if !strings.Contains(d.Detail, fragment) {
				t.Errorf("%s: warning %q does not say %q:\n%s", step, d.Summary, fragment, d.Detail)
			}
		}
	}
	slices.Sort(summaries)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(summaries, want) {
		t.Fatalf("%s: warnings %q, want %q", step, summaries, want)
	}
}

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
	overrides := map[string]string{"iotda-terraform/iotda": buildProvider(tb)}
	maps.Copy(overrides, more)
	return overridesConfig(tb, overrides)
}

// overridesConfig writes a CLI configuration that takes each provider
// (source address -> folder of its binary) from its folder.
func overridesConfig(tb testing.TB, overrides map[string]string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "cli.tfrc")
	if err := os.WriteFile(path, []byte(overridesText(overrides)), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// overridesText is the CLI configuration of overridesConfig.
func overridesText(overrides map[string]string) string {
	var b strings.Builder
	b.WriteString("provider_installation {\n  dev_overrides {\n")
	for _, source := range slices.Sorted(maps.Keys(overrides)) {
		fmt.Fprintf(&b, "    %q = %q\n", source, overrides[source])
	}
	b.WriteString("  }\n  direct {}\n}\n")
	return b.String()
}

// buildProvider builds the provider binary and returns its folder.
func buildProvider(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "bin")
	if err := buildProviderInto(dir); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// buildProviderInto builds the provider binary into dir.
func buildProviderInto(dir string) error {
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-iotda"), "../..").CombinedOutput()
	if err != nil {
		return fmt.Errorf("building the provider: %w\n%s", err, out)
	}
	return nil
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

// copyExample copies an example's .tf files and its tests/ folder to a
// temporary folder, as they are: an example must be self-contained
// (TestExamplesAreSelfContained). The import snippets of the docs
// (import.sh, import-by-identity.tf) are left out: they name objects the
// test does not make.
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
			return nil
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
	return dst
}

// cliInfo is the name and version of a CLI.
type cliInfo struct {
	tofu    bool
	version *version.Version
}

func (c cliInfo) String() string {
	if c.tofu {
		return "OpenTofu " + c.version.String()
	}
	return "Terraform " + c.version.String()
}

func readCLIInfo(t *testing.T, tf string) cliInfo {
	t.Helper()
	out, err := exec.Command(tf, "version", "-json").Output()
	if err != nil {
		t.Fatalf("%s version -json: %v", tf, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s version -json: %v: %s", tf, err, out)
	}
	plain, _ := exec.Command(tf, "version").Output()
	return cliInfo{tofu: strings.Contains(string(plain), "OpenTofu"), version: version.Must(version.NewVersion(v.Version))}
}

// skipUnlessCLI skips the test unless the CLI is at least the given
// Terraform or OpenTofu version (an empty one: not supported by OpenTofu).
func skipUnlessCLI(t *testing.T, tf, minTerraform, minOpenTofu string) cliInfo {
	t.Helper()
	info := readCLIInfo(t, tf)
	least := minTerraform
	if info.tofu {
		least = minOpenTofu
	}
	if least == "" {
		t.Skipf("%s does not support this", info)
	}
	if info.version.LessThan(version.Must(version.NewVersion(least))) {
		t.Skipf("%s is older than %s", info, least)
	}
	return info
}
