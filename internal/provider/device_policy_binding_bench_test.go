package provider

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// benchStep is one terraform command of the benchmark with its figures.
type benchStep struct {
	size     int
	name     string
	calls    int
	minimum  int
	duration time.Duration
}

func pages(n int) int { return max(1, ceilDiv(n, 50)) }

func ceilDiv(n, d int) int { return (n + d - 1) / d }

// BenchmarkDevicePolicyBinding applies, re-plans, updates (10% of the
// targets replaced) and destroys a binding of 100, 1,000 and 5,000 devices
// with the real terraform CLI against the mock with 20 ms latency per
// request. It prints the API calls of each step against the minimum and the
// wall time, and fails only when a step makes more calls than the minimum.
func BenchmarkDevicePolicyBinding(b *testing.B) {
	tf := terraformCLI(b)
	cliConfig := devOverridesConfig(b)

	var results []benchStep
	for _, size := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("targets=%d", size), func(b *testing.B) {
			for range b.N {
				results = append(results, runBindingBenchmark(b, tf, cliConfig, size)...)
			}
		})
	}

	var out bytes.Buffer
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "targets\tstep\tAPI calls\tminimum\twall time\t")
	for _, r := range results {
		fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\t\n", r.size, r.name, r.calls, r.minimum, r.duration.Round(10*time.Millisecond))
	}
	_ = w.Flush()
	fmt.Print("\nDevice policy binding, 20 ms latency per request, batch_parallelism 4:\n\n" + out.String())
}

func runBindingBenchmark(b *testing.B, tf, cliConfig string, size int) []benchStep {
	srv := mock.NewTestServer(b, mock.Config{Latency: 20 * time.Millisecond})
	dir := b.TempDir()
	churn := size / 10
	write := func(ids []string) {
		config := fmt.Sprintf(`
terraform {
  required_providers {
    iotda = { source = "iotda-terraform/iotda" }
  }
}
provider "iotda" {
  endpoint   = %q
  region     = "cn-north-4"
  project_id = %q
  access_key = %q
  secret_key = %q
}
resource "iotda_device_policy" "fleet" {
  policy_name = "fleet"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/up"]
  }
}
resource "iotda_device_policy_binding" "fleet" {
  policy_id   = iotda_device_policy.fleet.id
  target_type = "device"
  target_ids  = [%s]
}
`, srv.URL, mock.TestProjectID, mock.TestAccessKey, mock.TestSecretKey, quoteAll(ids))
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	run := func(name string, minimum int, args ...string) benchStep {
		srv.ResetCalls()
		start := time.Now()
		out, err := runTerraform(tf, dir, cliConfig, nil, args...)
		step := benchStep{size: size, name: name, calls: srv.TotalCalls(), minimum: minimum, duration: time.Since(start)}
		if err != nil {
			b.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if step.calls > step.minimum {
			b.Errorf("%d targets, %s: %d API calls, more than the minimum %d", size, name, step.calls, step.minimum)
		}
		return step
	}

	initial := deviceIDs(0, size)
	write(initial)
	steps := []benchStep{
		// Create the policy, list what is bound to it (nothing: one call),
		// then bind in calls of 20.
		run("apply (create)", 1+1+ceilDiv(size, 20), "apply", "-auto-approve", "-no-color"),
		// Refresh: read the policy, list the targets in pages of 50.
		run("plan (no changes)", 1+pages(size), "plan", "-detailed-exitcode", "-no-color"),
	}
	write(deviceIDs(churn, size+churn))
	steps = append(steps,
		// Refresh, then unbind the 10% removed and bind the 10% added.
		run("apply (10% churn)", 1+pages(size)+2*ceilDiv(churn, 20), "apply", "-auto-approve", "-no-color"),
		// Refresh, list the targets that lose the policy (the plan's
		// warning), unbind everything, delete the policy.
		run("destroy", 1+pages(size)+pages(size)+ceilDiv(size, 20)+1, "destroy", "-auto-approve", "-no-color"),
	)
	for _, s := range steps {
		b.ReportMetric(float64(s.calls), strings.NewReplacer(" ", "_", "(", "", ")", "", "%", "pct").Replace(s.name)+"_calls")
	}
	return steps
}

func quoteAll(ids []string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(quoted, ", ")
}
