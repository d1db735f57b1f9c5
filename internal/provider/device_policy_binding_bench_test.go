package provider

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

const (
	// benchLatency is the mock's latency per request.
	benchLatency = 20 * time.Millisecond
	// benchParallelism is the provider's batch_parallelism.
	benchParallelism = iotda.DefaultBatchParallelism
)

// benchStep is one CLI command of the benchmark with its figures.
type benchStep struct {
	size     int
	name     string
	calls    int
	minimum  int
	trips    int // round trips the API needs at least, one after another
	duration time.Duration
	cpu      time.Duration // CPU time of the CLI and the provider it ran
	cliPeak  int64         // peak resident memory of the CLI process, bytes
	treePeak int64         // the largest peak of the CLI and the processes it waited for
}

func pages(n int) int { return max(1, ceilDiv(n, iotda.MaxPageSize)) }

// countCalls and countTrips are the calls and round trips of counting n
// targets (iotda.Client.CountTargets): one page of every type, then, when
// it is full, one page per type at once.
func countCalls(n int) int {
	if n <= iotda.MaxPageSize {
		return 1
	}
	return 1 + 3
}

func countTrips(n int) int {
	if n <= iotda.MaxPageSize {
		return 1
	}
	return 2
}

// waves is how many rounds n calls take when parallelism run at once.
func waves(calls int) int { return ceilDiv(calls, benchParallelism) }

// BenchmarkDevicePolicyBinding applies, re-plans, updates (10% of the
// targets replaced) and destroys a binding with the real CLI
// (TF_ACC_TERRAFORM_PATH, or terraform from PATH) against the mock with
// 20 ms latency per request, at sizes from IOTDA_BENCH_SIZES (see
// benchSizes). The empty binding (0) is the CLI's floor. It
// prints, per step, the API calls against the minimum, the wall time, the
// bound (the floor's time for the step plus the latency of the round trips
// the API needs beyond the floor's), the ratio of the time to that bound,
// how the time grows against half and a tenth of the size, the CPU time
// and the CLI's peak memory; with -benchtime Nx, the fastest
// of the runs and their median. It fails only when a step makes more calls
// than the minimum.
func BenchmarkDevicePolicyBinding(b *testing.B) {
	tf := terraformCLI(b)
	cli := cliVersion(b, tf)
	cliConfig := benchCLIConfig(b)
	var results []benchStep
	for _, size := range benchSizes(b) {
		b.Run(fmt.Sprintf("targets=%d", size), func(b *testing.B) {
			for range b.N {
				results = append(results, runBindingBenchmark(b, tf, cliConfig, size)...)
			}
		})
	}
	fmt.Printf("\nDevice policy binding on %s, %s latency per request, batch_parallelism %d:\n\n%s",
		cli, benchLatency, benchParallelism, benchTable(results))
}

// BenchmarkDevicePolicyTargetsDataSource plans a configuration that reads
// iotda_device_policy_targets of a policy with targets bound out of band,
// at the sizes of IOTDA_BENCH_SIZES, and prints the same figures as
// BenchmarkDevicePolicyBinding: the plan reads the data source once, one
// listing page per 50 targets, and 0 targets is the floor.
func BenchmarkDevicePolicyTargetsDataSource(b *testing.B) {
	tf := terraformCLI(b)
	cli := cliVersion(b, tf)
	cliConfig := devOverridesConfig(b)
	var results []benchStep
	for _, size := range benchSizes(b) {
		b.Run(fmt.Sprintf("targets=%d", size), func(b *testing.B) {
			srv := mock.NewKeepAliveTestServer(b, mock.Config{Latency: benchLatency})
			policy, err := srv.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: "fleet", Statement: []mock.Statement{
				{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: []string{"topic:/v1/devices/${devices.deviceId}/up"}},
			}})
			if err != nil {
				b.Fatal(err)
			}
			ids := deviceIDs(0, size)
			for chunk := range slices.Chunk(ids, iotda.MaxTargetsPerCall) {
				if _, err := srv.Bind("", policy.PolicyID, iotda.TargetTypeDevice, chunk...); err != nil {
					b.Fatal(err)
				}
			}
			dir := b.TempDir()
			config := requiredProviders + providerBlockWith(srv, mock.TestSecretKey, fmt.Sprintf("batch_parallelism = %d", benchParallelism)) + fmt.Sprintf(`
data "iotda_device_policy_targets" "fleet" {
  policy_id = %q
}

output "targets" {
  value = length(data.iotda_device_policy_targets.fleet.target_ids)
}
`, policy.PolicyID)
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
				b.Fatal(err)
			}
			trips := 1 + ceilDiv(pages(size)-1, min(benchParallelism, iotda.MaxOffset/iotda.MaxPageSize+1))
			for range b.N {
				srv.ResetCalls()
				step := benchStep{size: size, name: "plan (read the data source)", minimum: pages(size), trips: trips}
				out, err := measureTerraform(tf, dir, cliConfig, nil, &step, "plan", "-no-color")
				step.calls = srv.TotalCalls()
				if err != nil {
					b.Fatalf("terraform plan: %v\n%s", err, out)
				}
				if !strings.Contains(string(out), fmt.Sprintf("targets = %d", size)) {
					b.Fatalf("the plan does not show the %d targets read:\n%s", size, out)
				}
				if step.calls > step.minimum {
					b.Errorf("%d targets: %d API calls, more than the minimum %d", size, step.calls, step.minimum)
				}
				results = append(results, step)
			}
		})
	}
	fmt.Printf("\niotda_device_policy_targets on %s, %s latency per request, batch_parallelism %d:\n\n%s",
		cli, benchLatency, benchParallelism, benchTable(results))
}

// benchCLIConfig is devOverridesConfig, with a provider built with the tag
// pprof when IOTDA_BENCH_PROFILE names a folder: each step of the binding
// benchmark then leaves the CPU and heap profiles of the provider
// processes it ran in a folder of its own there (see profile.go), e.g.
// IOTDA_BENCH_PROFILE=/tmp/prof/100000-plan_no_changes/cpu-*.pprof.
func benchCLIConfig(b *testing.B) string {
	b.Helper()
	if os.Getenv("IOTDA_BENCH_PROFILE") == "" {
		return devOverridesConfig(b)
	}
	dir := filepath.Join(b.TempDir(), "bin")
	out, err := exec.Command("go", "build", "-tags", "pprof", "-o", filepath.Join(dir, "terraform-provider-iotda"), "../..").CombinedOutput()
	if err != nil {
		b.Fatalf("building the provider: %v\n%s", err, out)
	}
	return overridesConfig(b, map[string]string{"iotda-terraform/iotda": dir})
}

// profileEnv is the environment that makes the provider of a step write
// its profiles, when IOTDA_BENCH_PROFILE is set; none otherwise.
func profileEnv(b *testing.B, size int, step string) []string {
	b.Helper()
	root := os.Getenv("IOTDA_BENCH_PROFILE")
	if root == "" {
		return nil
	}
	dir := filepath.Join(root, fmt.Sprintf("%d-%s", size, metricName(step)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return []string{"IOTDA_PPROF_DIR=" + dir}
}

// metricName is a step's name as a word: "apply (10% churn)" ->
// "apply_10pct_churn".
func metricName(step string) string {
	return strings.NewReplacer(" ", "_", "(", "", ")", "", "%", "pct").Replace(step)
}

// benchSizes are the sizes of IOTDA_BENCH_SIZES, by default 0 (the floor),
// 100, 1,000, 5,000 and 10,000; "large" is 0, 5,000, 10,000, 50,000 and
// 100,000 (about ten minutes on 2 idle cores).
func benchSizes(b *testing.B) []int {
	b.Helper()
	s := os.Getenv("IOTDA_BENCH_SIZES")
	switch s {
	case "":
		return []int{0, 100, 1000, 5000, 10000}
	case "large":
		return []int{0, 5000, 10000, 50000, 100000}
	}
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			b.Fatalf("IOTDA_BENCH_SIZES: %q is not a size", f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// benchTable formats the steps with their bound: the empty binding's time
// for the same step plus the API's extra round trips. With -benchtime Nx
// each step ran N times, and the table shows the fastest run's time (the
// one least slowed by other load on the machine) and the median; the ratio
// is the fastest time to the bound from the fastest floor.
func benchTable(results []benchStep) string {
	type key struct {
		size int
		name string
	}
	var order []key
	runs := map[key][]benchStep{}
	for _, r := range results {
		k := key{r.size, r.name}
		if runs[k] == nil {
			order = append(order, k)
		}
		runs[k] = append(runs[k], r)
	}
	// best is the run of a step with the shortest wall time, and the
	// median wall time of its runs.
	best := func(k key) (benchStep, time.Duration, bool) {
		rs := slices.Clone(runs[k])
		if len(rs) == 0 {
			return benchStep{}, 0, false
		}
		slices.SortFunc(rs, func(a, b benchStep) int { return cmp.Compare(a.duration, b.duration) })
		return rs[0], rs[len(rs)/2].duration, true
	}
	var out bytes.Buffer
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "targets\tstep\tAPI calls\tminimum\truns\twall time\tmedian\tbound\tratio\tvs half size\tvs tenth\tCPU\tCLI peak\tpeak of all\t")
	for _, k := range order {
		r, median, _ := best(k)
		bound, ratio := "-", "-"
		if f, _, ok := best(key{0, k.name}); ok {
			d := f.duration + time.Duration(r.trips-f.trips)*benchLatency
			bound = fmtDuration(d)
			ratio = fmt.Sprintf("%.2f", r.duration.Seconds()/d.Seconds())
		}
		// How the time grows with the size: against the run of half and
		// of a tenth of the targets, when those sizes ran.
		growth := func(d int) string {
			if h, _, ok := best(key{k.size / d, k.name}); ok && k.size > 0 && k.size%d == 0 {
				return fmt.Sprintf("%.2fx", r.duration.Seconds()/h.duration.Seconds())
			}
			return "-"
		}
		var cpu time.Duration
		var cliPeak, treePeak int64
		for i, x := range runs[k] {
			if i == 0 || x.cpu < cpu {
				cpu = x.cpu
			}
			cliPeak, treePeak = max(cliPeak, x.cliPeak), max(treePeak, x.treePeak)
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d MB\t%d MB\t\n", k.size, k.name, r.calls, r.minimum, len(runs[k]),
			fmtDuration(r.duration), fmtDuration(median), bound, ratio, growth(2), growth(10), fmtDuration(cpu), cliPeak>>20, treePeak>>20)
	}
	_ = w.Flush()
	return out.String()
}

func fmtDuration(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func runBindingBenchmark(b *testing.B, tf, cliConfig string, size int) []benchStep {
	srv := mock.NewKeepAliveTestServer(b, mock.Config{Latency: benchLatency})
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
  endpoint          = %q
  region            = "cn-north-4"
  project_id        = %q
  access_key        = %q
  secret_key        = %q
  batch_parallelism = %d
}
locals {
  device_ids = [%s]
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
  targets     = provider::iotda::targets(local.device_ids)
}
`, srv.URL, mock.TestProjectID, mock.TestAccessKey, mock.TestSecretKey, benchParallelism, quoteAll(ids))
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	run := func(name string, minimum, trips int, args ...string) benchStep {
		srv.ResetCalls()
		step := benchStep{size: size, name: name, minimum: minimum, trips: trips}
		out, err := measureTerraform(tf, dir, cliConfig, profileEnv(b, size, name), &step, args...)
		step.calls = srv.TotalCalls()
		if err != nil {
			b.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if step.calls > step.minimum {
			b.Errorf("%d targets, %s: %d API calls, more than the minimum %d", size, name, step.calls, step.minimum)
		}
		return step
	}

	binds, churns := ceilDiv(size, iotda.MaxTargetsPerCall), ceilDiv(churn, iotda.MaxTargetsPerCall)
	refresh := 1 + pages(size) // read the policy, then list the targets
	// The first page, then the others up to batch_parallelism at a time.
	refreshTrips := 1 + 1 + ceilDiv(pages(size)-1, min(benchParallelism, iotda.MaxOffset/iotda.MaxPageSize+1))
	write(deviceIDs(0, size))
	steps := []benchStep{
		// Create the policy, list what is bound to it (nothing: one call),
		// then bind in calls of 20.
		run("apply (create)", 1+1+binds, 1+1+waves(binds), "apply", "-auto-approve", "-no-color"),
		run("plan (no changes)", refresh, refreshTrips, "plan", "-detailed-exitcode", "-no-color"),
	}
	write(deviceIDs(churn, size+churn))
	steps = append(steps,
		// Refresh, then unbind the 10% removed and bind the 10% added.
		run("apply (10% churn)", refresh+2*churns, refreshTrips+2*waves(churns), "apply", "-auto-approve", "-no-color"),
		// Refresh, count the targets that lose the policy (the plan's
		// warning), unbind everything, delete the policy.
		run("destroy", refresh+countCalls(size)+binds+1, refreshTrips+countTrips(size)+waves(binds)+1, "destroy", "-auto-approve", "-no-color"),
	)
	for _, s := range steps {
		b.ReportMetric(float64(s.calls), metricName(s.name)+"_calls")
	}
	return steps
}

// measureTerraform runs the CLI like runTerraform and records its wall
// time, the peak resident memory of the CLI process (its VmHWM, sampled
// until it exits) and the largest peak of the CLI and the processes it
// waited for (the provider), from the rusage of its exit. env is added to
// the CLI's environment.
func measureTerraform(tf, dir, cliConfig string, env []string, step *benchStep, args ...string) ([]byte, error) {
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if hwm := vmHWM(status); hwm > step.cliPeak {
				step.cliPeak = hwm
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	step.duration = time.Since(start)
	close(done)
	wg.Wait()
	// The rusage of a process that was waited for includes that of the
	// processes it waited for: the provider, here.
	step.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		step.treePeak = ru.Maxrss << 10 // kilobytes on Linux
	}
	return out.Bytes(), err
}

// vmHWM reads the peak resident set size from a /proc/<pid>/status file;
// 0 when the process is gone.
func vmHWM(status string) int64 {
	f, err := os.Open(status)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cliVersion names the CLI and its version, e.g. "Terraform v1.11.4".
func cliVersion(tb testing.TB, tf string) string {
	tb.Helper()
	out, err := exec.Command(tf, "version").Output()
	if err != nil {
		tb.Fatalf("%s version: %v", tf, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first)
}

// cliAloneConfigs are what BenchmarkCLIAlone puts beside the binding
// benchmark's locals in place of the policy and the binding, with what each
// reports in its table's header. A for-expression in braces makes an
// object, whose type names each of its attributes, and the CLI carries and
// compares that type whole; the binding's targets are a map(string). The
// CLI's tomap and tolist, which find one element type for what they
// convert, take time growing with the square of the ids (17 s and 14 s for
// 20,000 on Terraform 1.11.4), so the map is made by a module's variable
// of type map(string) instead, which converts each value to a string and
// costs what the for-expression does.
var cliAloneConfigs = []struct {
	name, header, body string
	module             string // main.tf of the module ./fleet, if any
	churned            string // the apply's summary after 10% of the ids change
}{
	{
		name:   "terraform_data_map",
		header: "the map(string) in the built-in terraform_data (through a module's map(string) variable), which keeps it twice (input and output) in state and plan",
		body: `
module "fleet" {
  source = "./fleet"
  ids    = { for id in local.device_ids : id => "" }
}
`,
		module: `
variable "ids" {
  type = map(string)
}
resource "terraform_data" "fleet" {
  input = var.ids
}
`,
		churned: "0 added, 1 changed, 0 destroyed",
	},
	{
		name:   "output_map",
		header: "no resource, the map(string) (through a module's map(string) variable) in a sensitive root output: one copy in state and plan",
		body: `
module "fleet" {
  source = "./fleet"
  ids    = { for id in local.device_ids : id => "" }
}
output "ids" {
  value     = module.fleet.ids
  sensitive = true
}
`,
		module: `
variable "ids" {
  type = map(string)
}
output "ids" {
  value = var.ids
}
`,
		churned: "0 added, 0 changed, 0 destroyed",
	},
	{
		name:   "output",
		header: "no resource, the map only counted in an output: the configuration's floor",
		body: `
output "n" {
  value = length({ for id in local.device_ids : id => "" })
}
`,
		churned: "0 added, 0 changed, 0 destroyed",
	},
	{
		name:   "terraform_data_object",
		header: "the for-expression's object in the built-in terraform_data, which keeps it twice (input and output), each with a type that names every id",
		body: `
resource "terraform_data" "fleet" {
  input = { for id in local.device_ids : id => "" }
}
`,
		churned: "0 added, 1 changed, 0 destroyed",
	},
}

// BenchmarkCLIAlone runs BenchmarkDevicePolicyBinding's four steps (apply,
// plan with no changes, apply with 10% of the ids replaced, destroy) on
// the same locals { device_ids = [...] } at the same sizes, with no
// provider: the CLI's own cost of carrying the ids. Four times (see
// cliAloneConfigs): with a map(string) of the ids in the CLI's built-in
// terraform_data resource, which stores it twice (input and output) where
// the binding stores targets once; with that map once, in a root output
// (sensitive, so that the CLI does not print it); with no resource, only
// an output counting the map (the configuration's floor: parsing the list
// and building the map); and with the for-expression's object in
// terraform_data. No provider means no CLI configuration (/dev/null) and
// no API: the calls are 0, the bound is the 0-target floor's time for the
// step and the ratio the growth over it. Compare its wall, CPU and CLI
// peak with the binding's at the same size on the same CLI. -bench
// 'CLIAlone/output/' runs one of the three.
func BenchmarkCLIAlone(b *testing.B) {
	tf := terraformCLI(b)
	cli := cliVersion(b, tf)
	for _, c := range cliAloneConfigs {
		var results []benchStep
		for _, size := range benchSizes(b) {
			b.Run(fmt.Sprintf("%s/targets=%d", c.name, size), func(b *testing.B) {
				for range b.N {
					results = append(results, runCLIAloneBenchmark(b, tf, c.body, c.module, c.churned, size)...)
				}
			})
		}
		if len(results) > 0 {
			fmt.Printf("\nThe CLI alone on %s, %s:\n\n%s", cli, c.header, benchTable(results))
		}
	}
}

func runCLIAloneBenchmark(b *testing.B, tf, body, module, churned string, size int) []benchStep {
	dir := b.TempDir()
	write := func(ids []string) {
		config := fmt.Sprintf("locals {\n  device_ids = [%s]\n}\n%s", quoteAll(ids), body)
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	run := func(name string, args ...string) (benchStep, string) {
		step := benchStep{size: size, name: name}
		out, err := measureTerraform(tf, dir, os.DevNull, nil, &step, args...)
		if err != nil {
			b.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return step, string(out)
	}
	write(deviceIDs(0, size))
	if module != "" {
		// A local module is installed by init, offline; init is not timed.
		if err := os.Mkdir(filepath.Join(dir, "fleet"), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "fleet", "main.tf"), []byte(module), 0o600); err != nil {
			b.Fatal(err)
		}
		run("init", "init", "-no-color")
	}
	create, _ := run("apply (create)", "apply", "-auto-approve", "-no-color")
	plan, _ := run("plan (no changes)", "plan", "-detailed-exitcode", "-no-color")
	write(deviceIDs(size/10, size+size/10))
	churn, out := run("apply (10% churn)", "apply", "-auto-approve", "-no-color")
	if size/10 > 0 && !strings.Contains(out, churned) {
		b.Fatalf("%d ids, 10%% replaced: the apply does not say %q:\n%s", size, churned, out)
	}
	destroy, _ := run("destroy", "destroy", "-auto-approve", "-no-color")
	return []benchStep{create, plan, churn, destroy}
}
