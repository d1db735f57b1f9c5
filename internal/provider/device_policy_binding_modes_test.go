package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

const (
	warnTakeover       = "Exclusive Binding Unbinds Targets Bound Outside It"
	warnPolicyNotFound = "Device Policy Not Found"
)

// These tests drive the CLI in folders of their own (see workspace), so
// that two configurations with two states can share one mock, and so that
// the plan's warnings and -refresh=false can be checked.

// sharedPolicy creates a policy on the mock, as another configuration
// would, and returns its id.
func sharedPolicy(t *testing.T, srv *mock.TestServer) string {
	t.Helper()
	return createPolicy(t, srv, "shared", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/shared")).PolicyID
}

// sharedPolicyBoundOutside is a sharedPolicy with n devices of another team
// bound to it outside Terraform; it returns the policy id and those devices.
func sharedPolicyBoundOutside(t *testing.T, srv *mock.TestServer, n int) (string, []string) {
	t.Helper()
	policy := sharedPolicy(t, srv)
	outside := teamDevices("other", 0, n)
	bindTargets(t, srv, policy, iotda.TargetTypeDevice, outside...)
	return policy, outside
}

// bindingResource is a binding of policyID to the devices ids; exclusive
// is left out (the default) when empty.
func bindingResource(name, policyID, exclusive string, ids []string) string {
	ex := ""
	if exclusive != "" {
		ex = "\n  exclusive   = " + exclusive
	}
	return fmt.Sprintf(`
resource "iotda_device_policy_binding" %q {
  policy_id   = %q
  target_type = "device"%s
  targets     = provider::iotda::targets([%s])
}
`, name, policyID, ex, quoteAll(ids))
}

// writeSequential is write with one bind or unbind call at a time, so that
// an injected fault hits the calls in order.
func (w *workspace) writeSequential(srv *mock.TestServer, body string) {
	w.t.Helper()
	config := requiredProviders + providerBlockWith(srv, mock.TestSecretKey, "  batch_parallelism = 1\n") + body
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// planChanges runs `terraform plan -detailed-exitcode` and reports whether
// it plans any change.
func (w *workspace) planChanges() bool {
	w.t.Helper()
	out, err := runTerraform(w.tf, w.dir, w.cliConfig, nil, "plan", "-detailed-exitcode", "-no-color")
	var exit *exec.ExitError
	switch {
	case err == nil:
		return false
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return true
	}
	w.t.Fatalf("terraform plan: %v\n%s", err, out)
	return false
}

// runFailing runs the CLI, fails the test unless the CLI fails, and
// returns its output.
func (w *workspace) runFailing(args ...string) string {
	w.t.Helper()
	out, err := runTerraform(w.tf, w.dir, w.cliConfig, nil, append(args, "-no-color")...)
	if err == nil {
		w.t.Fatalf("terraform %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// stateTargets returns the targets of a binding in the workspace's state.
func (w *workspace) stateTargets(name string) []string {
	w.t.Helper()
	var state struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string `json:"address"`
					Values  struct {
						Targets map[string]string `json:"targets"`
					} `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(w.run("show", "-json"), &state); err != nil {
		w.t.Fatal(err)
	}
	for _, r := range state.Values.RootModule.Resources {
		if r.Address == "iotda_device_policy_binding."+name {
			return slices.Sorted(maps.Keys(r.Values.Targets))
		}
	}
	w.t.Fatalf("no iotda_device_policy_binding.%s in state", name)
	return nil
}

// says fails the test unless the CLI's output says each of the fragments,
// however the CLI wrapped its lines.
func says(t *testing.T, what, out string, fragments ...string) {
	t.Helper()
	flat := strings.Join(strings.Fields(out), " ")
	for _, f := range fragments {
		if !strings.Contains(flat, f) {
			t.Errorf("%s does not say %q:\n%s", what, f, out)
		}
	}
}

// serverHas fails the test unless the policy has exactly the device
// targets of the lists bound on the server.
func serverHas(t *testing.T, srv *mock.TestServer, policyID, step string, lists ...[]string) {
	t.Helper()
	want := slices.Sorted(slices.Values(slices.Concat(lists...)))
	got := srv.Targets("", policyID, iotda.TargetTypeDevice)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: the server has %d targets bound, want %d\n got: %v\nwant: %v", step, len(got), len(want), got, want)
	}
}

// callsWere fails the test unless the mock counted bind and unbind calls
// since the last reset, and resets the counters.
func callsWere(t *testing.T, srv *mock.TestServer, step string, bind, unbind int) {
	t.Helper()
	if b, u := srv.Calls(mock.OpBind), srv.Calls(mock.OpUnbind); b != bind || u != unbind {
		t.Fatalf("%s: %d bind and %d unbind calls, want %d and %d", step, b, u, bind, unbind)
	}
	srv.ResetCalls()
}

// TestAccDevicePolicyBinding_nonExclusiveTwoConfigurations: two teams bind
// their own devices to one shared policy from two configurations with two
// states, next to a target bound by hand. Each binding sees and changes
// only its own targets.
func TestAccDevicePolicyBinding_nonExclusiveTwoConfigurations(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	policy := sharedPolicy(t, srv)
	byHand := []string{"64a7ba7ef9cb063d27e16b97_by-hand"}
	bindTargets(t, srv, policy, iotda.TargetTypeDevice, byHand...)
	srv.ResetCalls()
	teamA, teamB := newWorkspace(t), newWorkspace(t)
	a, b := teamDevices("a", 0, 25), teamDevices("b", 0, 5)

	teamA.write(srv, bindingResource("a", policy, "false", a))
	teamA.apply()
	serverHas(t, srv, policy, "team a applied", byHand, a)
	callsWere(t, srv, "team a applied", 2, 0)

	teamB.write(srv, bindingResource("b", policy, "false", b))
	if w := teamB.planWarnings(); len(w) != 0 {
		t.Fatalf("a non-exclusive create warns: %+v", w)
	}
	teamB.apply()
	serverHas(t, srv, policy, "team b applied", byHand, a, b)
	callsWere(t, srv, "team b applied", 1, 0)
	for name, w := range map[string]*workspace{"a": teamA, "b": teamB} {
		if w.planChanges() {
			t.Fatalf("team %s plans a change after both applied", name)
		}
	}
	if got := teamA.stateTargets("a"); !slices.Equal(got, a) {
		t.Fatalf("team a's state has %d targets, want its own %d", len(got), len(a))
	}

	// Team a drops five devices and adds five.
	a2 := teamDevices("a", 5, 30)
	teamA.write(srv, bindingResource("a", policy, "false", a2))
	teamA.apply()
	serverHas(t, srv, policy, "team a changed", byHand, a2, b)
	callsWere(t, srv, "team a changed", 1, 1)
	if teamB.planChanges() {
		t.Fatal("team b plans a change after team a changed its own targets")
	}

	// Drift on one of team a's targets shows in team a's plan only.
	if _, err := srv.Unbind("", policy, iotda.TargetTypeDevice, a2[3]); err != nil {
		t.Fatal(err)
	}
	if !teamA.planChanges() {
		t.Fatal("team a does not see its target unbound outside Terraform")
	}
	if teamB.planChanges() {
		t.Fatal("team b plans a change for a target of team a")
	}
	srv.ResetCalls()
	teamA.apply()
	serverHas(t, srv, policy, "team a restored its target", byHand, a2, b)
	callsWere(t, srv, "team a restored its target", 1, 0)

	// Destroying team a's binding leaves team b's and the hand-bound target.
	teamA.run("destroy", "-auto-approve")
	serverHas(t, srv, policy, "team a destroyed", byHand, b)
	callsWere(t, srv, "team a destroyed", 0, 2)
	if teamB.planChanges() {
		t.Fatal("team b plans a change after team a destroyed its binding")
	}
	teamB.run("destroy", "-auto-approve")
	serverHas(t, srv, policy, "team b destroyed", byHand)
}

// TestAccDevicePolicyBinding_planWarnings reads the warnings of the plan:
// an exclusive create that takes over targets bound outside it names them;
// a non-exclusive one does not warn; a policy that does not exist is said
// to be missing, and the apply error says what to do.
func TestAccDevicePolicyBinding_planWarnings(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	policy, outside := sharedPolicyBoundOutside(t, srv, 7)
	w := newWorkspace(t)
	mine := append([]string{outside[0]}, teamDevices("mine", 0, 2)...)

	w.write(srv, bindingResource("test", policy, "", mine))
	srv.ResetCalls()
	expectWarnings(t, "exclusive create", w.planWarnings(), []string{warnTakeover}, map[string][]string{
		warnTakeover: {"6 device target(s) bound that this binding does not list", strings.Join(outside[1:6], ", ") + " and 1 more", "exclusive = false"},
	})
	if n := srv.Calls(mock.OpListTargets); n != 1 {
		t.Fatalf("the plan of a create listed the targets %d times, want once", n)
	}

	w.write(srv, bindingResource("test", policy, "false", mine))
	expectWarnings(t, "non-exclusive create", w.planWarnings(), nil, nil)
	w.apply()
	serverHas(t, srv, policy, "non-exclusive create", outside, mine[1:])
	if w.planChanges() {
		t.Fatal("a non-exclusive binding plans a change for targets bound outside it")
	}

	w.write(srv, bindingResource("test", policy, "true", mine))
	expectWarnings(t, "switch to exclusive", w.planWarnings(), []string{warnTakeover}, map[string][]string{
		warnTakeover: {"Switching this binding to exclusive unbinds them", outside[1]},
	})
	w.apply()
	serverHas(t, srv, policy, "switched to exclusive", mine)
	if w.planChanges() {
		t.Fatal("the binding plans a change after switching to exclusive")
	}

	// The policy is deleted elsewhere: the plan says so instead of only
	// planning to create the binding again.
	if err := srv.DeletePolicy("", policy); err != nil {
		t.Fatal(err)
	}
	expectWarnings(t, "policy deleted", w.planWarnings(), []string{warnPolicyNotFound}, map[string][]string{
		warnPolicyNotFound: {policy, "does not exist", "apply the configuration that manages it"},
	})
	says(t, "the apply error", w.runFailing("apply", "-auto-approve"),
		"Unable to Bind Device Policy", policy+" does not exist", "apply that configuration first")
	w.write(srv, bindingResource("test", policy, "false", mine))
	expectWarnings(t, "non-exclusive, policy missing", w.planWarnings(), []string{warnPolicyNotFound}, nil)

	// A policy created in the same plan has no id yet: no listing, no warning.
	w.write(srv, `
resource "iotda_device_policy" "new" {
  policy_name = "new"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/new"]
  }
}

resource "iotda_device_policy_binding" "test" {
  policy_id   = iotda_device_policy.new.id
  target_type = "device"
  targets     = { "d1" = "" }
}
`)
	srv.ResetCalls()
	expectWarnings(t, "unknown policy id", w.planWarnings(), nil, nil)
	if n := srv.Calls(mock.OpListTargets); n != 0 {
		t.Fatalf("the plan listed targets %d times for a policy not created yet", n)
	}
	// Terraform plans the binding again just before it creates it, once
	// the policy id is known; the create uses that listing.
	w.apply()
	if n := srv.Calls(mock.OpListTargets); n != 1 {
		t.Fatalf("creating the policy and its binding listed the targets %d times, want once", n)
	}
}

// TestAccDevicePolicyBinding_createListsOnce: applying an exclusive binding
// of an existing policy lists its targets once to plan and once to apply:
// Terraform plans the binding again just before creating it, and the
// create takes over what that listing found.
func TestAccDevicePolicyBinding_createListsOnce(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	policy, outside := sharedPolicyBoundOutside(t, srv, 3)
	w := newWorkspace(t)
	mine := append([]string{outside[0]}, teamDevices("mine", 0, 25)...)
	w.write(srv, bindingResource("test", policy, "", mine))
	srv.ResetCalls()
	out := string(w.run("apply", "-auto-approve"))
	serverHas(t, srv, policy, "exclusive create", mine)
	// Once in the plan, to warn; once in the apply, to take over.
	if n := srv.Calls(mock.OpListTargets); n != 2 {
		t.Fatalf("the apply listed the targets %d times, want twice", n)
	}
	if n := strings.Count(out, warnTakeover); n != 1 {
		t.Fatalf("the apply shows the takeover warning %d times, want once:\n%s", n, out)
	}
	callsWere(t, srv, "exclusive create", 2, 1)
}

// TestAccDevicePolicyBinding_nonExclusiveFailures: per-target failures and
// calls failing as a whole in the non-exclusive mode; the state holds
// exactly what the binding owns on the server, never the targets bound
// outside it, and a partly failed create is not unbound and bound again.
func TestAccDevicePolicyBinding_nonExclusiveFailures(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	policy, outside := sharedPolicyBoundOutside(t, srv, 3)
	const busy = "64a7ba7ef9cb063d27e16b97_busy"
	others := fillTarget(t, srv, busy)
	w := newWorkspace(t)
	mine := teamDevices("mine", 0, 25)

	// A create with one refused target: the others are bound, the state
	// records them, and the binding is tainted.
	w.write(srv, bindingResource("test", policy, "false", append(slices.Clone(mine), busy)))
	srv.ResetCalls()
	says(t, "the create error", w.runFailing("apply", "-auto-approve"),
		busy+": IOTDA.015204", "records the 25 device target(s) bound now", "keeps the targets that stay in the configuration bound")
	serverHas(t, srv, policy, "partly failed create", outside, mine)
	if got := w.stateTargets("test"); !slices.Equal(got, mine) {
		t.Fatalf("after the partly failed create the state has %d targets, want the 25 bound", len(got))
	}
	callsWere(t, srv, "partly failed create", 2, 0)

	// The target is freed; the replacement of the tainted binding binds
	// what it lists (binding is idempotent) and unbinds nothing.
	if _, err := srv.Unbind("", others[0], iotda.TargetTypeDevice, busy); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	w.apply()
	serverHas(t, srv, policy, "replacement", outside, mine, []string{busy})
	callsWere(t, srv, "replacement", 2, 0)

	// An update whose bind call fails as a whole after its retries (before
	// the server acted): the state records what the binding owns, not the
	// targets bound outside it.
	more := teamDevices("mine", 25, 30)
	w.write(srv, bindingResource("test", policy, "false", slices.Concat(mine, []string{busy}, more)))
	srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, Count: 3})
	says(t, "the update error", w.runFailing("apply", "-auto-approve"), "records the 26 device target(s) bound now")
	if got := w.stateTargets("test"); !slices.Equal(got, slices.Sorted(slices.Values(append(slices.Clone(mine), busy)))) {
		t.Fatalf("after the failed update the state has %v", got)
	}
	srv.ResetCalls()
	w.apply()
	serverHas(t, srv, policy, "update retried", outside, mine, []string{busy}, more)
	callsWere(t, srv, "update retried", 1, 0)
}

// TestAccDevicePolicyBinding_listingFailsToo: a bind call fails as a whole
// and so does the listing that would tell what it did. The error does not
// claim an exact count, the state records only what is bound for certain,
// and an apply without refresh (or from a saved plan) binds the rest, or,
// when the configuration dropped them, unbinds them.
func TestAccDevicePolicyBinding_listingFailsToo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		afterAction  bool
		drop         bool // the next configuration leaves out the targets of the failed call
		apply        func(w *workspace)
		bind, unbind int
	}{
		{"not acted, -refresh=false", false, false, func(w *workspace) { w.run("apply", "-auto-approve", "-refresh=false") }, 1, 0},
		{"acted, saved plan", true, false, func(w *workspace) {
			w.run("plan", "-refresh=false", "-out=next.tfplan")
			w.run("apply", "next.tfplan")
		}, 1, 0},
		{"acted, dropped, -refresh=false", true, true, func(w *workspace) { w.run("apply", "-auto-approve", "-refresh=false") }, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := mock.NewTestServer(t, mock.Config{})
			policy := sharedPolicy(t, srv)
			w := newWorkspace(t)
			first, all := deviceIDs(0, 20), deviceIDs(0, 60)
			write := func(ids []string) {
				w.writeSequential(srv, bindingResource("test", policy, "", ids))
			}
			write(first)
			w.apply()
			write(all)
			// One batch of 20 fails three times (max_retries = 2), and the
			// listing after it fails three times too.
			w.run("plan", "-out=update.tfplan")
			srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: tc.afterAction, Count: 3})
			srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusServiceUnavailable, Count: 3})
			says(t, "the error", w.runFailing("apply", "update.tfplan"),
				"failed too", "60 device target(s) are bound or possibly bound", "records the 40 bound for certain", "20 more")
			if got := w.stateTargets("test"); len(got) != 40 {
				t.Fatalf("the state records %d targets, want the 40 bound for certain", len(got))
			}
			want := all
			if tc.drop {
				want = slices.Concat(first, deviceIDs(40, 60))
				write(want)
				expectWarnings(t, "dropped, without refresh", w.planWarnings("-refresh=false"), []string{"Targets Possibly Bound Will Be Unbound"}, map[string][]string{
					"Targets Possibly Bound Will Be Unbound": {"20 device target(s)", deviceIDs(20, 21)[0]},
				})
			}
			srv.ResetCalls()
			tc.apply(w)
			serverHas(t, srv, policy, "apply without refresh", want)
			callsWere(t, srv, "apply without refresh", tc.bind, tc.unbind)
			if w.planChanges() {
				t.Fatal("the binding plans a change after the apply without refresh")
			}
		})
	}
}

// TestAccDevicePolicyBinding_fight: an exclusive binding in one state and
// a non-exclusive binding of the same policy and type in another, the
// mistake the resource documentation warns about. Each apply of one undoes
// the other; every plan of the exclusive one warns, naming the targets it
// is about to unbind, not only the plan that creates it. A plan without
// refresh warns too once a refresh has been saved.
func TestAccDevicePolicyBinding_fight(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	policy := sharedPolicy(t, srv)
	exclusive, shared := newWorkspace(t), newWorkspace(t)
	mine, theirs := teamDevices("mine", 0, 5), teamDevices("theirs", 0, 30)
	fight := map[string][]string{warnTakeover: {
		"30 device target(s) bound outside this binding since its last apply", strings.Join(theirs[:5], ", ") + " and 25 more", "the two fight",
	}}

	exclusive.write(srv, bindingResource("mine", policy, "", mine))
	exclusive.apply()
	shared.write(srv, bindingResource("theirs", policy, "false", theirs))
	for round := range 2 {
		srv.ResetCalls()
		shared.apply()
		serverHas(t, srv, policy, "the non-exclusive binding applied", mine, theirs)
		callsWere(t, srv, "the non-exclusive binding applied", 2, 0)

		// Two plans in a row: a plan saves nothing, and each warns.
		for range 2 {
			expectWarnings(t, fmt.Sprintf("round %d: plan of the exclusive binding", round), exclusive.planWarnings(), []string{warnTakeover}, fight)
		}
		if round == 1 {
			// A saved refresh records the targets in state; a plan without
			// refresh still knows they were bound outside the binding.
			exclusive.run("apply", "-refresh-only", "-auto-approve")
			expectWarnings(t, "plan without refresh after a saved refresh", exclusive.planWarnings("-refresh=false"), []string{warnTakeover}, fight)
		}
		srv.ResetCalls()
		out := string(exclusive.run("apply", "-auto-approve"))
		if n := strings.Count(out, warnTakeover); n != 1 {
			t.Fatalf("round %d: the apply of the exclusive binding shows the warning %d times, want once:\n%s", round, n, out)
		}
		serverHas(t, srv, policy, "the exclusive binding applied", mine)
		callsWere(t, srv, "the exclusive binding applied", 0, 2)
		if w := exclusive.planWarnings(); len(w) != 0 {
			t.Fatalf("round %d: the exclusive binding warns with nothing bound outside it: %+v", round, w)
		}
		if !shared.planChanges() {
			t.Fatalf("round %d: the non-exclusive binding does not see its targets unbound", round)
		}
	}
}
