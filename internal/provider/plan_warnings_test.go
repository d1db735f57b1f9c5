package provider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

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
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "terraform-provider-iotda"), "../..").CombinedOutput()
		if err != nil {
			sharedCLIErr = "building the provider: " + err.Error() + "\n" + string(out)
			return
		}
		sharedCLIConfig = filepath.Join(dir, "cli.tfrc")
		config := "provider_installation {\n  dev_overrides {\n    \"iotda-terraform/iotda\" = \"" + filepath.Join(dir, "bin") + "\"\n  }\n  direct {}\n}\n"
		if err := os.WriteFile(sharedCLIConfig, []byte(config), 0o600); err != nil {
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
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	return &workspace{t: t, tf: terraformCLI(t), cliConfig: cliProviderConfig(t), dir: t.TempDir()}
}

// write replaces the configuration with the provider block for srv and body.
func (w *workspace) write(srv *mock.TestServer, body string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(requiredProviders+providerBlock(srv)+body), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// run runs the CLI and fails the test when it fails.
func (w *workspace) run(args ...string) []byte {
	w.t.Helper()
	out, err := runTerraform(w.tf, w.dir, w.cliConfig, nil, append(args, "-no-color")...)
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
