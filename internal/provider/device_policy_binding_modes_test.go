package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
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
// that two configurations with two states can share one policy, and so
// that the plan's warnings and -refresh=false can be checked. The provider
// runs in the CLI's process: only the mock counts its calls (callsWere).

// sharedPolicy creates a policy, as another configuration would, and
// returns its id.
func (a *accTarget) sharedPolicy() string {
	a.t.Helper()
	return a.createPolicy("shared", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/shared")).PolicyID
}

// sharedPolicyBoundOutside is a sharedPolicy with the devices outside
// bound to it outside Terraform.
func (a *accTarget) sharedPolicyBoundOutside(outside []string) string {
	a.t.Helper()
	policy := a.sharedPolicy()
	a.bind(policy, iotda.TargetTypeDevice, outside...)
	return policy
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

// planChanges runs `terraform plan -detailed-exitcode` and reports whether
// it plans any change.
func (w *workspace) planChanges() bool {
	w.t.Helper()
	out, err := runTerraform(w.tf, w.dir, w.cliConfig, w.env, "plan", "-detailed-exitcode", "-no-color")
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
	out, err := runTerraform(w.tf, w.dir, w.cliConfig, w.env, append(args, "-no-color")...)
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
// targets of the lists bound.
func (a *accTarget) serverHas(policyID, step string, lists ...[]string) {
	a.t.Helper()
	want := slices.Sorted(slices.Values(slices.Concat(lists...)))
	got, err := a.targets(policyID, iotda.TargetTypeDevice)
	if err != nil {
		a.t.Fatalf("%s: %v", step, err)
	}
	if !slices.Equal(got, want) {
		a.t.Fatalf("%s: the server has %d targets bound, want %d\n got: %v\nwant: %v", step, len(got), len(want), got, want)
	}
}

// cliCalls is why the calls of a CLI's provider are counted on the mock
// only: that provider runs in a process of the CLI's, whose client the
// target cannot count.
const cliCalls = "counts the calls of a provider the CLI runs in its own process, which only the mock sees"

// callsWere fails the test unless the mock counted bind and unbind calls
// since the last reset, and resets the counters.
func (a *accTarget) callsWere(step string, bind, unbind int) {
	a.t.Helper()
	a.onMock(cliCalls, func(srv *mock.TestServer) {
		if b, u := srv.Calls(mock.OpBind), srv.Calls(mock.OpUnbind); b != bind || u != unbind {
			a.t.Fatalf("%s: %d bind and %d unbind calls, want %d and %d", step, b, u, bind, unbind)
		}
		srv.ResetCalls()
	})
}

// listingsWere fails the test unless the mock counted n listings of
// targets since the last reset.
func (a *accTarget) listingsWere(step string, n int) {
	a.t.Helper()
	a.onMock(cliCalls, func(srv *mock.TestServer) {
		if got := srv.Calls(mock.OpListTargets); got != n {
			a.t.Fatalf("%s: the targets were listed %d times, want %d", step, got, n)
		}
	})
}

// resetMockCalls sets the mock's counters back to zero.
func (a *accTarget) resetMockCalls() {
	if !a.real() {
		a.srv.ResetCalls()
	}
}

// TestAccDevicePolicyBinding_nonExclusiveTwoConfigurations: two teams bind
// their own devices to one shared policy from two configurations with two
// states, next to a target bound by hand. Each binding sees and changes
// only its own targets.
func TestAccDevicePolicyBinding_nonExclusiveTwoConfigurations(t *testing.T) {
	t.Parallel()
	at := newAccTarget(t)
	ids := at.deviceIDs(36)
	byHand, a, b, a2 := ids[:1], ids[1:26], ids[31:36], ids[6:31]
	policy := at.sharedPolicyBoundOutside(byHand)
	at.resetMockCalls()
	teamA, teamB := at.workspace(), at.workspace()

	teamA.configure(bindingResource("a", policy, "false", a))
	teamA.apply()
	at.serverHas(policy, "team a applied", byHand, a)
	at.callsWere("team a applied", 2, 0)

	teamB.configure(bindingResource("b", policy, "false", b))
	if w := teamB.planWarnings(); len(w) != 0 {
		t.Fatalf("a non-exclusive create warns: %+v", w)
	}
	teamB.apply()
	at.serverHas(policy, "team b applied", byHand, a, b)
	at.callsWere("team b applied", 1, 0)
	for name, w := range map[string]*workspace{"a": teamA, "b": teamB} {
		if w.planChanges() {
			t.Fatalf("team %s plans a change after both applied", name)
		}
	}
	if got := teamA.stateTargets("a"); !slices.Equal(got, a) {
		t.Fatalf("team a's state has %d targets, want its own %d", len(got), len(a))
	}

	// Team a drops five devices and adds five.
	teamA.configure(bindingResource("a", policy, "false", a2))
	teamA.apply()
	at.serverHas(policy, "team a changed", byHand, a2, b)
	at.callsWere("team a changed", 1, 1)
	if teamB.planChanges() {
		t.Fatal("team b plans a change after team a changed its own targets")
	}

	// Drift on one of team a's targets shows in team a's plan only.
	at.unbindDevices(policy, a2[3])
	if !teamA.planChanges() {
		t.Fatal("team a does not see its target unbound outside Terraform")
	}
	if teamB.planChanges() {
		t.Fatal("team b plans a change for a target of team a")
	}
	at.resetMockCalls()
	teamA.apply()
	at.serverHas(policy, "team a restored its target", byHand, a2, b)
	at.callsWere("team a restored its target", 1, 0)

	// Destroying team a's binding leaves team b's and the hand-bound target.
	teamA.run("destroy", "-auto-approve")
	at.serverHas(policy, "team a destroyed", byHand, b)
	at.callsWere("team a destroyed", 0, 2)
	if teamB.planChanges() {
		t.Fatal("team b plans a change after team a destroyed its binding")
	}
	teamB.run("destroy", "-auto-approve")
	at.serverHas(policy, "team b destroyed", byHand)
}

// TestAccDevicePolicyBinding_planWarnings reads the warnings of the plan:
// an exclusive create that takes over targets bound outside it names them;
// a non-exclusive one does not warn; a policy that does not exist is said
// to be missing, and the apply error says what to do.
func TestAccDevicePolicyBinding_planWarnings(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(10)
	outside := ids[:7]
	policy := a.sharedPolicyBoundOutside(outside)
	w := a.workspace()
	mine := append([]string{outside[0]}, ids[7:9]...)

	w.configure(bindingResource("test", policy, "", mine))
	a.resetMockCalls()
	expectWarnings(t, "exclusive create", w.planWarnings(), []string{warnTakeover}, map[string][]string{
		warnTakeover: {"6 device target(s) bound that this binding does not list", strings.Join(outside[1:6], ", ") + " and 1 more", "exclusive = false"},
	})
	a.listingsWere("the plan of a create", 1)

	w.configure(bindingResource("test", policy, "false", mine))
	expectWarnings(t, "non-exclusive create", w.planWarnings(), nil, nil)
	w.apply()
	a.serverHas(policy, "non-exclusive create", outside, mine[1:])
	if w.planChanges() {
		t.Fatal("a non-exclusive binding plans a change for targets bound outside it")
	}

	w.configure(bindingResource("test", policy, "true", mine))
	expectWarnings(t, "switch to exclusive", w.planWarnings(), []string{warnTakeover}, map[string][]string{
		warnTakeover: {"Switching this binding to exclusive unbinds them", outside[1]},
	})
	w.apply()
	a.serverHas(policy, "switched to exclusive", mine)
	if w.planChanges() {
		t.Fatal("the binding plans a change after switching to exclusive")
	}

	// The policy is deleted elsewhere: the plan says so instead of only
	// planning to create the binding again.
	if err := a.client.DeletePolicy(context.Background(), policy); err != nil {
		t.Fatal(err)
	}
	expectWarnings(t, "policy deleted", w.planWarnings(), []string{warnPolicyNotFound}, map[string][]string{
		warnPolicyNotFound: {policy, "does not exist", "apply the configuration that manages it"},
	})
	says(t, "the apply error", w.runFailing("apply", "-auto-approve"),
		"Unable to Bind Device Policy", policy+" does not exist", "apply that configuration first")
	w.configure(bindingResource("test", policy, "false", mine))
	expectWarnings(t, "non-exclusive, policy missing", w.planWarnings(), []string{warnPolicyNotFound}, nil)

	// A policy created in the same plan has no id yet: no listing, no warning.
	w.configure(fmt.Sprintf(`
resource "iotda_device_policy" "new" {
  policy_name = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/new"]
  }
}

resource "iotda_device_policy_binding" "test" {
  policy_id   = iotda_device_policy.new.id
  target_type = "device"
  targets     = { %q = "" }
}
`, a.name("new"), ids[9]))
	a.resetMockCalls()
	expectWarnings(t, "unknown policy id", w.planWarnings(), nil, nil)
	a.listingsWere("the plan of a binding of a policy not created yet", 0)
	// Terraform plans the binding again just before it creates it, once
	// the policy id is known; the create uses that listing.
	w.apply()
	a.listingsWere("creating the policy and its binding", 1)
}

// TestAccDevicePolicyBinding_createListsOnce: applying an exclusive binding
// of an existing policy lists its targets once to plan and once to apply:
// Terraform plans the binding again just before creating it, and the
// create takes over what that listing found.
func TestAccDevicePolicyBinding_createListsOnce(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(28)
	outside := ids[:3]
	policy := a.sharedPolicyBoundOutside(outside)
	w := a.workspace()
	mine := append([]string{outside[0]}, ids[3:]...)
	w.configure(bindingResource("test", policy, "", mine))
	a.resetMockCalls()
	out := string(w.run("apply", "-auto-approve"))
	// Once in the plan, to warn; once in the apply, to take over.
	a.listingsWere("the apply", 2)
	a.serverHas(policy, "exclusive create", mine)
	if n := strings.Count(out, warnTakeover); n != 1 {
		t.Fatalf("the apply shows the takeover warning %d times, want once:\n%s", n, out)
	}
	a.callsWere("exclusive create", 2, 1)
}

// fillTarget binds id to five other policies, the most a target may have
// (the API refuses a sixth with IOTDA.015204), and returns their ids.
func (a *accTarget) fillTarget(id string) []string {
	a.t.Helper()
	var others []string
	for i := range iotda.MaxPoliciesPerTarget {
		p := a.createPolicy(fmt.Sprintf("other-%d", i), "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/x"))
		a.bind(p.PolicyID, iotda.TargetTypeDevice, id)
		others = append(others, p.PolicyID)
	}
	return others
}

// unbindDevices unbinds devices out of band.
func (a *accTarget) unbindDevices(policyID string, ids ...string) {
	a.t.Helper()
	a.bindOrUnbind(a.client.UnbindPolicy, "unbinding", policyID, iotda.TargetTypeDevice, ids)
}

// TestAccDevicePolicyBinding_nonExclusiveFailures: per-target failures and
// calls failing as a whole in the non-exclusive mode; the state holds
// exactly what the binding owns on the server, never the targets bound
// outside it, and a partly failed create is not unbound and bound again.
func TestAccDevicePolicyBinding_nonExclusiveFailures(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(34)
	outside, busy, mine, more := ids[:3], ids[3], ids[4:29], ids[29:34]
	policy := a.sharedPolicyBoundOutside(outside)
	others := a.fillTarget(busy)
	w := a.workspace()

	// A create with one refused target: the others are bound, the state
	// records them, and the binding is tainted.
	w.configure(bindingResource("test", policy, "false", append(slices.Clone(mine), busy)))
	a.resetMockCalls()
	says(t, "the create error", w.runFailing("apply", "-auto-approve"),
		busy+": IOTDA.015204", "records the 25 device target(s) bound now", "keeps the targets that stay in the configuration bound")
	a.serverHas(policy, "partly failed create", outside, mine)
	if got := w.stateTargets("test"); !slices.Equal(got, mine) {
		t.Fatalf("after the partly failed create the state has %d targets, want the 25 bound", len(got))
	}
	a.callsWere("partly failed create", 2, 0)

	// The target is freed; the replacement of the tainted binding binds
	// what it lists (binding is idempotent) and unbinds nothing.
	a.unbindDevices(others[0], busy)
	a.resetMockCalls()
	w.apply()
	a.serverHas(policy, "replacement", outside, mine, []string{busy})
	a.callsWere("replacement", 2, 0)

	// An update whose bind call fails as a whole after its retries (before
	// the server acted): the state records what the binding owns, not the
	// targets bound outside it.
	w.configure(bindingResource("test", policy, "false", slices.Concat(mine, []string{busy}, more)))
	a.onMock("answers every attempt of a bind call with 503", func(srv *mock.TestServer) {
		srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, Count: 3})
		says(t, "the update error", w.runFailing("apply", "-auto-approve"), "records the 26 device target(s) bound now")
		if got := w.stateTargets("test"); !slices.Equal(got, slices.Sorted(slices.Values(append(slices.Clone(mine), busy)))) {
			t.Fatalf("after the failed update the state has %v", got)
		}
	})
	a.resetMockCalls()
	w.apply()
	a.serverHas(policy, "update retried", outside, mine, []string{busy}, more)
	a.callsWere("update retried", 1, 0)
}

// TestAccDevicePolicyBinding_listingFailsToo: a bind call fails as a whole
// and so does the listing that would tell what it did. The error does not
// claim an exact count, the state records only what is bound for certain,
// and an apply without refresh (or from a saved plan) binds the rest, or,
// when the configuration dropped them, unbinds them.
func TestAccDevicePolicyBinding_listingFailsToo(t *testing.T) {
	t.Parallel()
	const why = "fails a bind call and the listing after it with 503s"
	newAccTarget(t).requireMock(why)
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
			a := newAccTarget(t)
			srv := a.requireMock(why)
			policy := a.sharedPolicy()
			w := a.workspace()
			all := a.deviceIDs(60)
			first := all[:20]
			// One bind or unbind call at a time, so that the injected
			// faults hit the calls in order.
			write := func(ids []string) {
				w.configure(bindingResource("test", policy, "", ids), "batch_parallelism = 1")
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
				want = slices.Concat(first, all[40:])
				write(want)
				expectWarnings(t, "dropped, without refresh", w.planWarnings("-refresh=false"), []string{"Targets Possibly Bound Will Be Unbound"}, map[string][]string{
					"Targets Possibly Bound Will Be Unbound": {"20 device target(s)", all[20]},
				})
			}
			srv.ResetCalls()
			tc.apply(w)
			a.serverHas(policy, "apply without refresh", want)
			a.callsWere("apply without refresh", tc.bind, tc.unbind)
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
	a := newAccTarget(t)
	policy := a.sharedPolicy()
	exclusive, shared := a.workspace(), a.workspace()
	ids := a.deviceIDs(35)
	mine, theirs := ids[:5], ids[5:]
	fight := map[string][]string{warnTakeover: {
		"30 device target(s) bound outside this binding since its last apply", strings.Join(theirs[:5], ", ") + " and 25 more", "the two fight",
	}}

	exclusive.configure(bindingResource("mine", policy, "", mine))
	exclusive.apply()
	shared.configure(bindingResource("theirs", policy, "false", theirs))
	for round := range 2 {
		a.resetMockCalls()
		shared.apply()
		a.serverHas(policy, "the non-exclusive binding applied", mine, theirs)
		a.callsWere("the non-exclusive binding applied", 2, 0)

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
		a.resetMockCalls()
		out := string(exclusive.run("apply", "-auto-approve"))
		if n := strings.Count(out, warnTakeover); n != 1 {
			t.Fatalf("round %d: the apply of the exclusive binding shows the warning %d times, want once:\n%s", round, n, out)
		}
		a.serverHas(policy, "the exclusive binding applied", mine)
		a.callsWere("the exclusive binding applied", 0, 2)
		if w := exclusive.planWarnings(); len(w) != 0 {
			t.Fatalf("round %d: the exclusive binding warns with nothing bound outside it: %+v", round, w)
		}
		if !shared.planChanges() {
			t.Fatalf("round %d: the non-exclusive binding does not see its targets unbound", round)
		}
	}
}
