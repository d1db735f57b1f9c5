package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// update rewrites testdata/plans/<cli>/ from plans the real CLIs make
// against the mock (go test ./cmd/iotda-policy -run TestPlansFromCLI -args -update).
var update = flag.Bool("update", false, "rewrite the golden plans in testdata/plans")

// planCase is one configuration planned against the state of base, with
// the plan's extra arguments.
type planCase struct {
	name    string
	config  string
	args    []string
	destroy bool
}

const policyHead = `
terraform {
  required_providers {
    iotda = { source = "iotda-terraform/iotda" }
  }
}
provider "iotda" {}
`

func policyConfig(appID string, statements ...string) string {
	s := policyHead + "resource \"iotda_device_policy\" \"sensors\" {\n  policy_name = \"sensor-fleet\"\n"
	if appID != "" {
		s += fmt.Sprintf("  app_id = %q\n", appID)
	}
	for _, st := range statements {
		s += st
	}
	return s + "}\n"
}

const (
	stmtTelemetry = `  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
`
	stmtCommands = `  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/commands"]
  }
`
	stmtWide = `  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry", "topic:/v1/firmware/*"]
  }
`
)

// bindingConfig binds devices sensor-0001 .. sensor-<n> (skipping those in
// skip) to the policy.
func bindingConfig(from, to int) string {
	return fmt.Sprintf(`
variable "first" {
  type    = number
  default = %d
}
resource "iotda_device_policy_binding" "sensors" {
  policy_id   = iotda_device_policy.sensors.id
  target_type = "device"
  targets     = provider::iotda::targets([for n in range(var.first, %d) : format("64a7ba7ef9cb063d27e16b97_sensor-%%04d", n)])
}
`, from, to+1)
}

// variablesConfig is the policy with its statements from an input
// variable, as a module that takes them from its caller writes it.
const variablesConfig = policyHead + `
variable "statements" {
  type = list(object({
    effect    = string
    actions   = list(string)
    resources = list(string)
  }))
}
resource "iotda_device_policy" "sensors" {
  policy_name = "sensor-fleet"
  dynamic "statement" {
    for_each = var.statements
    content {
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}
`

// variablesValue gives the statements of the base configuration and a
// subscription to the device's own configuration topic, which widens.
const variablesValue = `statements=[
  { effect = "ALLOW", actions = ["iotda:devices:publish"], resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"] },
  { effect = "ALLOW", actions = ["iotda:devices:subscribe"], resources = ["topic:/v1/devices/$${devices.deviceId}/commands", "topic:/v1/devices/$${devices.deviceId}/config"] },
]`

var (
	baseConfig = policyConfig("", stmtTelemetry, stmtCommands) + bindingConfig(1, 40)
	planCases  = []planCase{
		{name: "create", config: baseConfig},
		{name: "widen", config: policyConfig("", stmtWide, stmtCommands) + bindingConfig(1, 40)},
		{name: "narrow", config: policyConfig("", stmtTelemetry) + bindingConfig(1, 40)},
		{name: "reorder", config: policyConfig("", stmtCommands, stmtTelemetry) + bindingConfig(1, 40)},
		{name: "variables", config: variablesConfig + bindingConfig(1, 40), args: []string{"-var", variablesValue}},
		{name: "bindings", config: policyConfig("", stmtTelemetry, stmtCommands) + bindingConfig(3, 42)},
		{name: "replace", config: policyConfig("64a7ba7ef9cb063d27e16b99", stmtTelemetry, stmtCommands) + bindingConfig(1, 40)},
		{name: "destroy", config: baseConfig, destroy: true},
	}
)

// clis lists the CLIs to plan with: terraform on PATH, and Terraform 1.16
// and OpenTofu when scripts/terraform-cli.sh finds them built.
func clis(t *testing.T) map[string]string {
	out := map[string]string{}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for name, cli := range map[string]string{"terraform-1.11": "terraform", "terraform-1.16": "terraform-1.16", "tofu": "tofu"} {
		path, err := exec.Command(filepath.Join(root, "scripts/terraform-cli.sh"), "--cli", cli, "--no-build").Output()
		if err == nil {
			out[name] = strings.TrimSpace(string(path))
		}
	}
	if len(out) == 0 {
		t.Fatal("no Terraform CLI found: put terraform on PATH (scripts/terraform-cli.sh)")
	}
	return out
}

// cliTools builds the provider and iotda-policy into a folder and returns
// the CLI configuration that runs that provider in place of a registry's
// (dev_overrides: no init, no network); the folder is the configuration's.
func cliTools(t *testing.T) (rc string) {
	t.Helper()
	bin := t.TempDir()
	for out, pkg := range map[string]string{"terraform-provider-iotda": ".", "iotda-policy": "./cmd/iotda-policy"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, out), pkg)
		build.Dir = "../.."
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, b)
		}
	}
	rc = filepath.Join(bin, "dev.tfrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"iotda-terraform/iotda\" = %q\n  }\n  direct {}\n}\n", bin)), 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

// cliEnv is the environment of a CLI run against srv with the CLI
// configuration rc.
func cliEnv(rc string, srv *mock.TestServer) []string {
	return append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
		"HW_IOTDA_ENDPOINT="+srv.URL, "HW_REGION_NAME=cn-north-4", "HW_PROJECT_ID="+mock.TestProjectID,
		"HW_ACCESS_KEY="+mock.TestAccessKey, "HW_SECRET_KEY="+mock.TestSecretKey)
}

// TestPlansFromCLI plans every case with each CLI against the mock and
// reviews the plan; with -update it stores the plans as golden files.
func TestPlansFromCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Terraform CLIs against the mock")
	}
	rc := cliTools(t)
	for name, cli := range clis(t) {
		t.Run(name, func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			dir := t.TempDir()
			tf := func(args ...string) []byte {
				t.Helper()
				cmd := exec.Command(cli, args...)
				cmd.Dir = dir
				cmd.Env = cliEnv(rc, srv)
				out, err := cmd.Output()
				if err != nil {
					stderr := ""
					if ee, ok := err.(*exec.ExitError); ok {
						stderr = string(ee.Stderr)
					}
					t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
				}
				return out
			}
			write := func(config string) {
				if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for i, c := range planCases {
				write(c.config)
				args := append([]string{"plan", "-no-color", "-out=plan.tfplan"}, c.args...)
				if c.destroy {
					args = append(args, "-destroy")
				}
				tf(args...)
				js := tf("show", "-json", "plan.tfplan")
				t.Run(c.name, func(t *testing.T) { checkCase(t, c.name, js) })
				if *update {
					golden := filepath.Join("testdata", "plans", name, c.name+".json")
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, js, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if i == 0 {
					tf("apply", "-no-color", "-auto-approve", "plan.tfplan")
				}
			}
		})
	}
}
