package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// The acceptance target: where an acceptance test runs (its own mock, or
// the instance the HW_* settings name when IOTDA_ACC_REAL=1), the objects
// it makes there out of band, and the checks it asks of it. A test speaks
// only to its accTarget; a check that needs the mock (an injected fault)
// says so, with its reason, through requireMock or onMock.

// realInstanceEnv, set to 1 together with the usual HW_* settings of an
// IoTDA instance (HW_REGION_NAME or HW_IOTDA_ENDPOINT, HW_PROJECT_ID,
// HW_ACCESS_KEY and HW_SECRET_KEY or HW_AUTH_TOKEN, HW_IOTDA_INSTANCE_ID),
// runs the acceptance tests against that instance instead of a mock each.
// The objects the tests bind are named by realObjectsEnv.
const realInstanceEnv = "IOTDA_ACC_REAL"

// realObjectsEnv name, comma-separated, existing objects of the instance
// the tests may bind policies to or create policies in. A test that needs
// more of them than are named is skipped and says so.
var realObjectsEnv = map[string]string{
	iotda.TargetTypeDevice:  "IOTDA_ACC_DEVICE_IDS",
	iotda.TargetTypeProduct: "IOTDA_ACC_PRODUCT_IDS",
	iotda.TargetTypeApp:     "IOTDA_ACC_APP_IDS",
}

// testPrefix starts the name of every policy the tests create, so that
// the sweeper (sweepPolicies, main_test.go) finds what an interrupted run
// left.
const testPrefix = "tfacc-"

// realSettings holds the HW_* settings of the instance, read by TestMain
// and then removed from the environment, so that the tests on the mock
// never see them.
var realSettings = map[string]string{}

// realRunID and accTargets make the policy names of each test of each run
// unique on a shared instance.
var (
	realRunID  = time.Now().Unix() % 1_000_000
	accTargets atomic.Int64
)

// realInstance lets one test at a time use the instance: the access
// checks and listings read the whole instance, and a device takes at most
// five policies.
var realInstance sync.Mutex

type accTarget struct {
	t *testing.T
	// srv is the mock, nil on an instance; readLag is its read lag.
	srv     *mock.TestServer
	readLag time.Duration
	// client makes and reads objects out of band; its calls are not
	// counted.
	client *iotda.Client
	// getenv gives the provider its settings: nothing on the mock, whose
	// provider block sets them, the HW_* settings on an instance.
	getenv func(string) string
	// prefix keeps the names of one test's policies apart from everything
	// else on the instance.
	prefix string
	// calls counts the calls of the providers the target serves.
	calls iotda.CallCounter
}

func newAccTarget(t *testing.T) *accTarget {
	t.Helper()
	return newAccTargetWith(t, mock.Config{})
}

// newAccTargetWith is newAccTarget whose mock has the options of cfg (a
// read lag, say); a test that needs them needs the mock (requireMock).
func newAccTargetWith(t *testing.T, cfg mock.Config) *accTarget {
	t.Helper()
	a := &accTarget{t: t, getenv: func(string) string { return "" }}
	a.prefix = fmt.Sprintf("%s%d-%d-", testPrefix, realRunID, accTargets.Add(1))
	if os.Getenv(realInstanceEnv) != "1" {
		a.srv = mock.NewTestServer(t, cfg)
		a.client = newMockClient(t, a.srv)
		a.readLag = cfg.ReadLag
		return a
	}
	realInstance.Lock()
	t.Cleanup(realInstance.Unlock)
	a.getenv = func(name string) string { return realSettings[name] }
	client, err := realClient(a.getenv)
	if err != nil {
		t.Fatal(err)
	}
	a.client = client
	t.Cleanup(a.deleteLeftovers)
	t.Log("runs against the instance of the HW_* settings")
	return a
}

// newMockClient is an API client of srv for out-of-band changes.
func newMockClient(t testing.TB, srv *mock.TestServer) *iotda.Client {
	t.Helper()
	client, err := iotda.New(iotda.Config{
		Endpoint: srv.URL, ProjectID: mock.TestProjectID, Region: "cn-north-4",
		Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// realClient is an API client of the instance the settings name.
func realClient(getenv func(string) string) (*iotda.Client, error) {
	cfg, diags := resolveConfig(providerModel{}, getenv)
	if diags.HasError() {
		return nil, fmt.Errorf("%s=1 needs the HW_* settings of an instance: %v", realInstanceEnv, diags)
	}
	return iotda.New(cfg)
}

func (a *accTarget) real() bool { return a.srv == nil }

// requireMock skips the test on an instance, saying why it needs the mock,
// and returns the mock.
func (a *accTarget) requireMock(reason string) *mock.TestServer {
	a.t.Helper()
	if a.real() {
		a.t.Skipf("needs the mock: %s", reason)
	}
	return a.srv
}

// onMock runs part of a test (a step's preparation, a check) with the
// mock, and on an instance logs that it was left out and why.
func (a *accTarget) onMock(reason string, f func(srv *mock.TestServer)) {
	if a.real() {
		a.t.Logf("part left out on an instance, for the mock only: %s", reason)
		return
	}
	f(a.srv)
}

// hideSettings hides settings of the instance from the providers the
// target serves, for tests of what the provider does without them.
func (a *accTarget) hideSettings(names ...string) {
	getenv := a.getenv
	a.getenv = func(name string) string {
		if slices.Contains(names, name) {
			return ""
		}
		return getenv(name)
	}
}

// endpoint is the URL of the API: the mock's, or the instance's.
func (a *accTarget) endpoint() string { return a.client.Endpoint() }

// factories serve a provider whose client the target counts; on the mock
// it waits only milliseconds between retries, so that tests of injected
// faults stay fast.
func (a *accTarget) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return a.serve(func() *iotdaProvider { return a.provider() })
}

// serve serves the providers newProvider makes, a new one each time the
// CLI starts the provider.
func (a *accTarget) serve(newProvider func() *iotdaProvider) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"iotda": func() (tfprotov6.ProviderServer, error) {
			return NewProtocol6(newProvider())(), nil
		},
	}
}

func (a *accTarget) provider(adjust ...func(*iotda.Config)) *iotdaProvider {
	return &iotdaProvider{version: "test", getenv: a.getenv, newClient: func(cfg iotda.Config) (*iotda.Client, error) {
		if !a.real() {
			cfg.RetryWaitMin, cfg.RetryWaitMax = 10*time.Millisecond, 50*time.Millisecond
			// The mock lags by readLag at most: waiting longer for it to
			// show an apply only slows the tests that change objects out
			// of band right after one. An instance keeps the default.
			cfg.ReadAfterWriteWindow = a.readLag + 2*time.Second
		}
		for _, f := range adjust {
			f(&cfg)
		}
		a.countCalls(&cfg)
		return iotda.New(cfg)
	}}
}

// providerBlock configures the provider: on the mock with its URL and
// keys, on an instance with nothing (the HW_* settings). Each of lines,
// "name = value", sets one more argument or replaces the mock's.
func (a *accTarget) providerBlock(lines ...string) string {
	var args [][2]string
	if !a.real() {
		args = [][2]string{
			{"endpoint", fmt.Sprintf("%q", a.srv.URL)}, {"region", `"cn-north-4"`},
			{"project_id", fmt.Sprintf("%q", mock.TestProjectID)}, {"access_key", fmt.Sprintf("%q", mock.TestAccessKey)},
			{"secret_key", fmt.Sprintf("%q", mock.TestSecretKey)}, {"max_retries", "2"},
		}
	}
	for _, line := range lines {
		name, value, _ := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if i := slices.IndexFunc(args, func(arg [2]string) bool { return arg[0] == name }); i >= 0 {
			args[i][1] = value
		} else {
			args = append(args, [2]string{name, value})
		}
	}
	var b strings.Builder
	b.WriteString("\nprovider \"iotda\" {\n")
	for _, arg := range args {
		fmt.Fprintf(&b, "  %s = %s\n", arg[0], arg[1])
	}
	b.WriteString("}\n")
	return b.String()
}

// name gives a policy name of this test.
func (a *accTarget) name(base string) string { return a.prefix + base }

// objects are n existing objects of a type to bind policies to: made up on
// the mock (devices named product_node, as IoTDA does), the first n named
// by realObjectsEnv on an instance. It skips the test when fewer are named.
func (a *accTarget) objects(targetType string, n int) []string {
	a.t.Helper()
	if a.real() {
		ids := realList(realObjectsEnv[targetType])
		if len(ids) < n {
			a.t.Skipf("needs %d existing objects of type %s of the instance in %s, which names %d", n, targetType, realObjectsEnv[targetType], len(ids))
		}
		return ids[:n]
	}
	switch targetType {
	case iotda.TargetTypeDevice:
		return deviceIDs(0, n)
	case iotda.TargetTypeProduct:
		return numbered("prod-", n)
	default:
		return numbered("space-", n)
	}
}

func (a *accTarget) deviceIDs(n int) []string { return a.objects(iotda.TargetTypeDevice, n) }
func (a *accTarget) products(n int) []string  { return a.objects(iotda.TargetTypeProduct, n) }
func (a *accTarget) apps(n int) []string      { return a.objects(iotda.TargetTypeApp, n) }

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

// realList reads a comma-separated setting.
func realList(name string) []string {
	var out []string
	for v := range strings.SplitSeq(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// createPolicy creates a policy of this test out of band, as another user
// of the API would: the name gets the test's prefix, appID "" means the
// default resource space.
func (a *accTarget) createPolicy(name, appID string, statements ...iotda.Statement) iotda.Policy {
	a.t.Helper()
	p, err := a.client.CreatePolicy(context.Background(), iotda.CreatePolicyRequest{PolicyName: a.name(name), AppID: appID, Statement: statements})
	if err != nil {
		a.t.Fatalf("creating policy %s: %v", name, err)
	}
	return *p
}

// policy reads a policy out of band.
func (a *accTarget) policy(policyID string) iotda.Policy {
	a.t.Helper()
	p, err := a.client.GetPolicy(context.Background(), policyID)
	if err != nil {
		a.t.Fatalf("reading policy %s: %v", policyID, err)
	}
	return *p
}

// updatePolicy changes a policy out of band.
func (a *accTarget) updatePolicy(policyID string, req iotda.UpdatePolicyRequest) {
	a.t.Helper()
	if _, err := a.client.UpdatePolicy(context.Background(), policyID, req); err != nil {
		a.t.Fatalf("updating policy %s: %v", policyID, err)
	}
}

// bind binds targets out of band, in calls of the most the API takes.
func (a *accTarget) bind(policyID, targetType string, ids ...string) {
	a.t.Helper()
	a.bindOrUnbind(a.client.BindPolicy, "binding", policyID, targetType, ids)
}

func (a *accTarget) bindOrUnbind(call func(context.Context, string, string, []string) (*iotda.BindResult, error), what, policyID, targetType string, ids []string) {
	a.t.Helper()
	for chunk := range slices.Chunk(ids, iotda.MaxTargetsPerCall) {
		res, err := call(context.Background(), policyID, targetType, chunk)
		if err == nil && len(res.FailureTargets) > 0 {
			err = fmt.Errorf("%d targets failed: %+v", len(res.FailureTargets), res.FailureTargets)
		}
		if err != nil {
			a.t.Fatalf("%s %s %v of %s: %v", what, targetType, chunk, policyID, err)
		}
	}
}

// targets lists the ids of a type bound to a policy, sorted.
func (a *accTarget) targets(policyID, targetType string) ([]string, error) {
	targets, err := a.client.ListTargets(context.Background(), policyID, targetType)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(targets))
	for i, tg := range targets {
		ids[i] = tg.TargetID
	}
	slices.Sort(ids)
	return ids, nil
}

// policies lists this test's policies, newest first.
func (a *accTarget) policies() []iotda.PolicySummary {
	a.t.Helper()
	ps, err := testPolicies(a.client, a.prefix)
	if err != nil {
		a.t.Fatal(err)
	}
	return ps
}

// testPolicies lists the policies whose names start with prefix.
func testPolicies(client *iotda.Client, prefix string) ([]iotda.PolicySummary, error) {
	all, err := client.ListPolicies(context.Background(), iotda.ListPoliciesFilter{})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(p iotda.PolicySummary) bool { return !strings.HasPrefix(p.PolicyName, prefix) }), nil
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

// policyID is the id of the test's policy of that name (given without the
// test's prefix).
func (a *accTarget) policyID(name string) string {
	a.t.Helper()
	for _, p := range a.policies() {
		if p.PolicyName == a.name(name) {
			return p.PolicyID
		}
	}
	a.t.Fatalf("the test has no policy %s", name)
	return ""
}

// checkNoPolicies is a CheckDestroy that asks the API.
func (a *accTarget) checkNoPolicies(*terraform.State) error {
	ps, err := testPolicies(a.client, a.prefix)
	if err != nil {
		return err
	}
	if len(ps) != 0 {
		return fmt.Errorf("%d device policies still exist after destroy", len(ps))
	}
	return nil
}

// expectBound checks through the API that the policy of bindingConfig
// has exactly ids of devices bound.
func (a *accTarget) expectBound(ids []string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := a.targets(a.policyID("fleet"), iotda.TargetTypeDevice)
		if err != nil {
			return err
		}
		if !slices.Equal(got, sorted(ids)) {
			return fmt.Errorf("the server has %d targets bound, want %d", len(got), len(ids))
		}
		return nil
	}
}

// deleteLeftovers removes, on an instance, the policies of the test that
// a failure left behind (deleting a policy unbinds its targets).
func (a *accTarget) deleteLeftovers() {
	if err := deletePolicies(a.client, a.prefix); err != nil {
		a.t.Logf("deleting leftover policies: %v", err)
	}
}

// deletePolicies deletes every policy whose name starts with prefix.
func deletePolicies(client *iotda.Client, prefix string) error {
	ps, err := testPolicies(client, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		if err := client.DeletePolicy(context.Background(), p.PolicyID); err != nil && !errors.Is(err, iotda.ErrNotFound) {
			errs = append(errs, fmt.Errorf("policy %s (%q): %w", p.PolicyID, p.PolicyName, err))
		}
	}
	return errors.Join(errs...)
}
