package provider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-version"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// The helpers shared by the tests of this package: provider factories and
// provider blocks, out-of-band objects made in the mock, call and state
// checks, plan-time error steps, and the terraform CLI runs of the example,
// warning and benchmark tests.

// apiStatement is a statement as the API carries it.
func apiStatement(effect string, actions []string, resources ...string) mock.Statement {
	return mock.Statement{Effect: effect, Actions: actions, Resources: resources}
}

var (
	publishOnly   = []string{iotda.ActionPublish}
	subscribeOnly = []string{iotda.ActionSubscribe}
	bothActions   = []string{iotda.ActionPublish, iotda.ActionSubscribe}
)

// createPolicy creates a policy out of band, as another user of the API
// would; appID "" means the default resource space.
func createPolicy(t *testing.T, srv *mock.TestServer, name, appID string, statements ...mock.Statement) mock.Policy {
	t.Helper()
	p, err := srv.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: name, AppID: appID, Statement: statements})
	if err != nil {
		t.Fatalf("creating policy %s: %v", name, err)
	}
	return p
}

// bindTargets binds targets out of band.
func bindTargets(t *testing.T, srv *mock.TestServer, policyID, targetType string, ids ...string) {
	t.Helper()
	if _, err := srv.Bind("", policyID, targetType, ids...); err != nil {
		t.Fatalf("binding %s %v to %s: %v", targetType, ids, policyID, err)
	}
}

// expectOpCalls checks the mock's counters of the given operations.
func expectOpCalls(srv *mock.TestServer, want map[mock.Operation]int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for op, n := range want {
			if got := srv.Calls(op); got != n {
				return fmt.Errorf("%d %s calls, want %d", got, op, n)
			}
		}
		return nil
	}
}

const policyAddr = "iotda_device_policy.test"

// policyConfig is a policy with one ALLOW statement over the given
// resources and a DENY statement on the firmware topics.
func policyConfig(srv *mock.TestServer, name string, resources ...string) string {
	quoted := make([]string, len(resources))
	for i, r := range resources {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	return providerBlock(srv) + policyBlock(name, "", quoted)
}

// policyBlock is the iotda_device_policy.test of policyConfig, app being
// the app_id line or "" and quoted the quoted resources.
func policyBlock(name, app string, quoted []string) string {
	return fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = %q
  %s
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = [%s]
  }
  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/firmware/*"]
  }
}
`, name, app, strings.Join(quoted, ", "))
}

// checkNoPolicies is a CheckDestroy that asks the mock.
func checkNoPolicies(srv *mock.TestServer) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if left := srv.Policies(""); len(left) != 0 {
			return fmt.Errorf("%d device policies still exist after destroy", len(left))
		}
		return nil
	}
}

func stringSetExact(values ...string) knownvalue.Check {
	return knownvalue.SetExact(stringChecks(values))
}

func stringListExact(values ...string) knownvalue.Check {
	return knownvalue.ListExact(stringChecks(values))
}

// stringChecks checks each of values exactly.
func stringChecks(values []string) []knownvalue.Check {
	checks := make([]knownvalue.Check, len(values))
	for i, v := range values {
		checks[i] = knownvalue.StringExact(v)
	}
	return checks
}

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

const bindingAddr = "iotda_device_policy_binding.test"

// deviceIDs names devices from..to-1 the way IoTDA does: product_node.
func deviceIDs(from, to int) []string {
	ids := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("64a7ba7ef9cb063d27e16b97_sensor-%04d", i))
	}
	return ids
}

// bindingConfig is a policy and a binding of the given devices to it.
func bindingConfig(srv *mock.TestServer, ids []string) string {
	return providerBlock(srv) + `
resource "iotda_device_policy" "test" {
  policy_name = "fleet"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/up"]
  }
}
` + bindingBlock(ids)
}

// bindingBlock binds ids with the provider's function; the for-expression
// idiom is tested on its own.
func bindingBlock(ids []string) string {
	return fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = iotda_device_policy.test.id
  target_type = "device"
  targets     = provider::iotda::targets([%s])
}
`, quoteAll(ids))
}

func ceilDiv(n, d int) int { return (n + d - 1) / d }

func quoteAll(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(quoted, ", ")
}

// targetsExact checks a targets map holds exactly ids.
func targetsExact(ids ...string) knownvalue.Check {
	m := make(map[string]knownvalue.Check, len(ids))
	for _, id := range ids {
		m[id] = knownvalue.StringExact("")
	}
	return knownvalue.MapExact(m)
}

// onlyPolicy returns the id of the single policy named fleet.
func onlyPolicy(t *testing.T, srv *mock.TestServer) string {
	t.Helper()
	for _, p := range srv.Policies("") {
		if p.PolicyName == "fleet" {
			return p.PolicyID
		}
	}
	t.Fatal("policy fleet does not exist")
	return ""
}

// expectCalls checks the mock's bind and unbind counters.
func expectCalls(srv *mock.TestServer, bind, unbind int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if b, u := srv.Calls(mock.OpBind), srv.Calls(mock.OpUnbind); b != bind || u != unbind {
			return fmt.Errorf("%d bind and %d unbind calls, want %d and %d", b, u, bind, unbind)
		}
		return nil
	}
}

// expectBound checks the server holds exactly ids.
func expectBound(t *testing.T, srv *mock.TestServer, ids []string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		want := slices.Clone(ids)
		slices.Sort(want)
		got := srv.Targets("", onlyPolicy(t, srv), iotda.TargetTypeDevice)
		if !slices.Equal(got, want) {
			return fmt.Errorf("the server has %d targets bound, want %d", len(got), len(want))
		}
		return nil
	}
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// testAccProviderFactories start a fresh provider for each use, whose
// client waits only milliseconds between retries so that tests of injected
// faults stay fast.
var testAccProviderFactories = providerFactories(func(cfg *iotda.Config) {
	cfg.RetryWaitMin = 10 * time.Millisecond
	cfg.RetryWaitMax = 50 * time.Millisecond
})

// providerFactories serve newTestProvider(adjust).
func providerFactories(adjust func(*iotda.Config)) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"iotda": func() (tfprotov6.ProviderServer, error) {
			return providerserver.NewProtocol6WithError(newTestProvider(adjust))()
		},
	}
}

// newTestProvider is the provider whose client configuration adjust changes
// after the provider block is read, as terraform-provider-time's
// NewTestProvider swaps its clock.
func newTestProvider(adjust func(*iotda.Config)) provider.Provider {
	return &iotdaProvider{version: "test", getenv: os.Getenv, newClient: func(cfg iotda.Config) (*iotda.Client, error) {
		adjust(&cfg)
		return iotda.New(cfg)
	}}
}

// providerBlock configures the provider for srv with the mock's test keys.
func providerBlock(srv *mock.TestServer) string {
	return providerBlockWith(srv, mock.TestSecretKey, "")
}

func providerBlockWith(srv *mock.TestServer, secretKey, extra string) string {
	return fmt.Sprintf(`
provider "iotda" {
  endpoint    = %q
  region      = "cn-north-4"
  project_id  = %q
  access_key  = %q
  secret_key  = %q
  max_retries = 2
%s
}
`, srv.URL, mock.TestProjectID, mock.TestAccessKey, secretKey, extra)
}

// providerEnv lists the environment variables the provider reads.
var providerEnv = []string{
	"HW_REGION_NAME", "HW_IOTDA_ENDPOINT", "HW_IOTDA_ACCESS_ADDRESS", "HW_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID",
	"HW_IOTDA_INSTANCE_ID", "HW_ACCESS_KEY", "HUAWEICLOUD_SDK_AK", "HW_SECRET_KEY", "HUAWEICLOUD_SDK_SK",
	"HW_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN", "HW_AUTH_TOKEN",
}

// TestMain keeps the caller's provider settings (real credentials, an
// instance id) out of the tests, which configure everything themselves.
// Started by a CLI as the huaweicloud provider, the test binary serves the
// stand-in of huaweicloud_standin_test.go instead of running tests.
func TestMain(m *testing.M) {
	if serveHuaweicloudStandIn() {
		return
	}
	for _, name := range providerEnv {
		if os.Getenv(realInstanceEnv) == "1" {
			realSettings[name] = os.Getenv(name)
		}
		_ = os.Unsetenv(name)
	}
	code := m.Run()
	if sharedCLIDir != "" {
		_ = os.RemoveAll(sharedCLIDir)
	}
	os.Exit(code)
}

// expectError matches an error message that terraform may have wrapped:
// "." also crosses lines, and each space matches any run of white space.
func expectError(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)` + strings.ReplaceAll(pattern, " ", `\s+`))
}

// planErrorCase is a configuration that must fail at plan time with an
// error matching want (see expectError).
type planErrorCase struct {
	config string
	want   string
}

// planErrorSteps makes one plan-only step per case.
func planErrorSteps(cases []planErrorCase) []resource.TestStep {
	steps := make([]resource.TestStep, 0, len(cases))
	for _, tc := range cases {
		steps = append(steps, resource.TestStep{Config: tc.config, PlanOnly: true, ExpectError: expectError(tc.want)})
	}
	return steps
}

// expectNoCalls fails the test when anything reached the API.
func expectNoCalls(t *testing.T, srv *mock.TestServer) {
	t.Helper()
	if calls := srv.TotalCalls(); calls != 0 {
		t.Errorf("invalid configurations reached the API %d times", calls)
	}
}

// testPlanErrors checks that every case fails at plan time without an API
// call.
func testPlanErrors(t *testing.T, srv *mock.TestServer, cases []planErrorCase) {
	t.Helper()
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps:                    planErrorSteps(cases),
	})
	expectNoCalls(t, srv)
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

// realInstanceEnv, set to 1 together with the usual HW_* settings of a real
// IoTDA instance (HW_REGION_NAME or HW_IOTDA_ENDPOINT, HW_PROJECT_ID,
// HW_ACCESS_KEY and HW_SECRET_KEY or HW_AUTH_TOKEN, HW_IOTDA_INSTANCE_ID),
// runs the acceptance tests that make sense there against that instance
// instead of a mock. IOTDA_ACC_APP_ID names a second resource space the
// tests may create policies in, and IOTDA_ACC_DEVICE_IDS (comma-separated)
// existing devices the binding tests may bind; the steps that need them are
// left out without them.
const realInstanceEnv = "IOTDA_ACC_REAL"

// realSettings holds the HW_* settings of the real instance, read by
// TestMain and then removed from the environment, so that the tests on the
// mock never see them.
var realSettings = map[string]string{}

// realRunID and accTargets make the policy names of each test of each run
// unique on a shared instance.
var (
	realRunID  = time.Now().Unix() % 1_000_000
	accTargets atomic.Int64
)

// accTarget is where an acceptance test runs: its own mock, or the real
// instance of IOTDA_ACC_REAL. Out-of-band changes (drift) go through an
// API client on both, and checks only the mock can answer (call counters,
// injected faults) run through mockOnly.
type accTarget struct {
	t *testing.T
	// srv is the mock, nil on a real instance.
	srv    *mock.TestServer
	client *iotda.Client
	// prefix keeps the names of one test's policies apart from everything
	// else on a real instance.
	prefix string
}

func newAccTarget(t *testing.T) *accTarget {
	t.Helper()
	a := &accTarget{t: t}
	if os.Getenv(realInstanceEnv) != "1" {
		a.srv = mock.NewTestServer(t, mock.Config{})
		var err error
		a.client, err = iotda.New(iotda.Config{
			Endpoint: a.srv.URL, ProjectID: mock.TestProjectID, Region: "cn-north-4",
			Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg, diags := resolveConfig(providerModel{}, func(name string) string { return realSettings[name] })
	if diags.HasError() {
		t.Fatalf("%s=1 needs the HW_* settings of a real instance: %v", realInstanceEnv, diags)
	}
	client, err := iotda.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.client = client
	// The run's start time tells runs apart; the counter, parallel tests.
	a.prefix = fmt.Sprintf("tfacc-%d-%d-", realRunID, accTargets.Add(1))
	t.Cleanup(a.deleteLeftovers)
	return a
}

func (a *accTarget) real() bool { return a.srv == nil }

// factories serve the provider: on the mock with short retry waits, on a
// real instance with the defaults and the instance's settings.
func (a *accTarget) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	if !a.real() {
		return testAccProviderFactories
	}
	return map[string]func() (tfprotov6.ProviderServer, error){
		"iotda": func() (tfprotov6.ProviderServer, error) {
			p := &iotdaProvider{version: "test", newClient: iotda.New, getenv: func(name string) string { return realSettings[name] }}
			return providerserver.NewProtocol6WithError(p)()
		},
	}
}

// providerBlock configures the provider for the target: the mock's URL
// and keys, or nothing (the settings come from the environment).
func (a *accTarget) providerBlock() string {
	if a.real() {
		return "\nprovider \"iotda\" {}\n"
	}
	return providerBlock(a.srv)
}

// name gives a policy name of this test: unique on a real instance.
func (a *accTarget) name(base string) string { return a.prefix + base }

// mockOnly runs check only on the mock, and says on a real instance that
// it was left out and why.
func (a *accTarget) mockOnly(what string, check func()) {
	if a.real() {
		a.t.Logf("left out on a real instance (only the mock can answer it): %s", what)
		return
	}
	check()
}

// policies lists this test's policies through the API.
func (a *accTarget) policies() []iotda.PolicySummary {
	a.t.Helper()
	all, err := a.client.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if err != nil {
		a.t.Fatal(err)
	}
	var out []iotda.PolicySummary
	for _, p := range all {
		if strings.HasPrefix(p.PolicyName, a.prefix) {
			out = append(out, p)
		}
	}
	return out
}

// onlyPolicyID is the id of the test's one policy.
func (a *accTarget) onlyPolicyID() string {
	a.t.Helper()
	ps := a.policies()
	if len(ps) != 1 {
		a.t.Fatalf("%d policies of this test exist, want 1", len(ps))
	}
	return ps[0].PolicyID
}

// checkNoPolicies is a CheckDestroy that asks the API.
func (a *accTarget) checkNoPolicies(*terraform.State) error {
	if ps := a.policies(); len(ps) != 0 {
		return fmt.Errorf("%d policies left after destroy", len(ps))
	}
	return nil
}

// deleteLeftovers removes, on a real instance, the policies of the test
// that a failure left behind.
func (a *accTarget) deleteLeftovers() {
	all, err := a.client.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if err != nil {
		a.t.Logf("listing leftover policies: %v", err)
		return
	}
	for _, p := range all {
		if strings.HasPrefix(p.PolicyName, a.prefix) {
			if err := a.client.DeletePolicy(context.Background(), p.PolicyID); err != nil && !errors.Is(err, iotda.ErrNotFound) {
				a.t.Logf("deleting leftover policy %s: %v", p.PolicyID, err)
			}
		}
	}
}

// realList reads a comma-separated setting of the real instance.
func realList(name string) []string {
	var out []string
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// policyConfig is policyConfig on the target, with the target's policy name.
func (a *accTarget) policyConfig(name, appID string, resources ...string) string {
	app := ""
	if appID != "" {
		app = fmt.Sprintf("app_id = %q", appID)
	}
	quoted := make([]string, len(resources))
	for i, r := range resources {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	return a.providerBlock() + policyBlock(a.name(name), app, quoted)
}

// statementResources lists the resources of every statement.
func statementResources(stmts []iotda.Statement) []string {
	var out []string
	for _, s := range stmts {
		out = append(out, s.Resources...)
	}
	return out
}

// bindingConfig is bindingConfig on the target.
func (a *accTarget) bindingConfig(ids []string) string {
	return a.providerBlock() + fmt.Sprintf(`
resource "iotda_device_policy" "test" {
  policy_name = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/up"]
  }
}
`, a.name("fleet")) + bindingBlock(ids)
}

// deviceIDs are n device ids to bind: made up on the mock, the first n of
// IOTDA_ACC_DEVICE_IDS on a real instance, where devices must exist. It
// skips the test when the instance names fewer.
func (a *accTarget) deviceIDs(n int) []string {
	if !a.real() {
		return deviceIDs(0, n)
	}
	ids := realList("IOTDA_ACC_DEVICE_IDS")
	if len(ids) < n {
		a.t.Skipf("needs %d existing devices of the real instance in IOTDA_ACC_DEVICE_IDS, which names %d", n, len(ids))
	}
	return ids[:n]
}

// expectBound checks through the API that the test's one policy has
// exactly ids bound.
func (a *accTarget) expectBound(ids []string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		targets, err := a.client.ListTargets(context.Background(), a.onlyPolicyID(), iotda.TargetTypeDevice)
		if err != nil {
			return err
		}
		got := make([]string, len(targets))
		for i, tg := range targets {
			got[i] = tg.TargetID
		}
		if slices.Sort(got); !slices.Equal(got, sorted(ids)) {
			return fmt.Errorf("the server has %d targets bound, want %d", len(got), len(ids))
		}
		return nil
	}
}

// expectCalls checks the bind and unbind calls on the mock; a real
// instance cannot count them.
func (a *accTarget) expectCalls(bind, unbind int) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		var err error
		a.mockOnly(fmt.Sprintf("%d bind and %d unbind calls", bind, unbind), func() { err = expectCalls(a.srv, bind, unbind)(s) })
		return err
	}
}

// resetCalls zeroes the mock's counters before a step.
func (a *accTarget) resetCalls() {
	if !a.real() {
		a.srv.ResetCalls()
	}
}

// teamDevices names n devices of a team, from index from on.
func teamDevices(team string, from, to int) []string {
	ids := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("64a7ba7ef9cb063d27e16b97_%s-%03d", team, i))
	}
	return ids
}

// fillTarget binds id to five other policies, the most a target may have.
func fillTarget(t *testing.T, srv *mock.TestServer, id string) []string {
	t.Helper()
	var others []string
	for i := range iotda.MaxPoliciesPerTarget {
		p, err := srv.CreatePolicy("", mock.CreatePolicyRequest{
			PolicyName: fmt.Sprintf("other-%d", i),
			Statement:  []mock.Statement{{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/x"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Bind("", p.PolicyID, iotda.TargetTypeDevice, id); err != nil {
			t.Fatal(err)
		}
		others = append(others, p.PolicyID)
	}
	return others
}

var policyIDValue = knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{24}$`))

// outOfBandPolicies makes three policies as another user of the API would:
// two in resource space "factory-1" (one of them with an IoTDA variable and
// its DENY statement first), one in "factory-2".
func outOfBandPolicies(t *testing.T, srv *mock.TestServer) []mock.Policy {
	t.Helper()
	reqs := []mock.CreatePolicyRequest{
		{PolicyName: "sensors", AppID: "factory-1", Statement: []mock.Statement{
			{Effect: "DENY", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/v1/firmware/*"}},
			{Effect: "ALLOW", Actions: []string{iotda.ActionPublish, iotda.ActionSubscribe}, Resources: []string{"topic:/v1/devices/${devices.deviceId}/*"}},
		}},
		{PolicyName: "gateways", AppID: "factory-1", Statement: []mock.Statement{
			{Effect: "ALLOW", Actions: []string{iotda.ActionSubscribe}, Resources: []string{"topic:/v1/broadcast"}},
		}},
		{PolicyName: "sensors", AppID: "factory-2", Statement: []mock.Statement{
			{Effect: "ALLOW", Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/v2/telemetry"}},
		}},
	}
	out := make([]mock.Policy, 0, len(reqs))
	for _, req := range reqs {
		p, err := srv.CreatePolicy("", req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
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
