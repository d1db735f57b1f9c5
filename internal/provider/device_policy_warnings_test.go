package provider

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

const (
	warnWidens     = "Device Policy Change Widens Access"
	warnNarrows    = "Device Policy Change Narrows Access"
	warnDestroy    = "Destroying Device Policy Unbinds Targets"
	warnReplace    = "Replacing Device Policy Unbinds Targets"
	warnWildcard   = "MQTT Wildcard In Device Policy Topic"
	warnSystem     = "System Topic In Device Policy"
	warnUnknown    = "Unknown Variable In Device Policy Topic"
	warnBare       = "Variable Without ${...} In Device Policy Topic"
	warnEverything = "Device Policy Allows Every Topic"
	warnOverridden = "Device Policy Statement Never Takes Effect"
	warnNoCount    = "Unable to Count Targets of Device Policy"
)

// fleetStatement is one statement block of fleetPolicy.
type fleetStatement struct {
	effect    string
	actions   []string
	resources []string
}

func (s fleetStatement) hcl() string {
	return fmt.Sprintf(`
  statement {
    effect    = %q
    actions   = [%s]
    resources = [%s]
  }`, s.effect, quoteAll(s.actions), quoteAll(s.resources))
}

// fleetPolicy is a policy named name with the statements, in order; appID
// is left out when empty.
func fleetPolicy(name, appID string, statements ...fleetStatement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nresource \"iotda_device_policy\" \"fleet\" {\n  policy_name = %q\n", name)
	if appID != "" {
		fmt.Fprintf(&b, "  app_id = %q\n", appID)
	}
	for _, s := range statements {
		b.WriteString(s.hcl())
	}
	b.WriteString("\n}\n")
	return b.String()
}

// cliCallsReason is why a test of a CLI workspace counts calls on the mock
// only: the provider the CLI starts is a process of its own, whose client
// the target cannot count.
const cliCallsReason = "counts the calls of the provider the CLI started, a process of its own"

var (
	ownUp        = fleetStatement{"ALLOW", publishOnly, []string{"topic:/v1/devices/$${devices.deviceId}/up", "topic:/v1/fleet/*"}}
	noFirmware   = fleetStatement{"DENY", bothActions, []string{"topic:/v1/fleet/firmware/*"}}
	ownDown      = fleetStatement{"ALLOW", subscribeOnly, []string{"topic:/v1/devices/$${devices.deviceId}/down"}}
	broadcast    = fleetStatement{"ALLOW", subscribeOnly, []string{"topic:/v1/broadcast"}}
	ownUpAnyFor  = fleetStatement{"ALLOW", publishOnly, []string{"topic:/v1/devices/*/up", "topic:/v1/fleet/*"}}
	allUp        = fleetStatement{"ALLOW", publishOnly, []string{"topic:/v1/devices/*/up", "topic:*"}}
	subscribeAll = fleetStatement{"ALLOW", subscribeOnly, []string{"topic:*"}}
)

// TestAccDevicePolicy_accessChangeWarnings plans a series of updates of one
// policy with the real CLI and reads the warnings of each plan: nothing on
// create, a reordering or a rename; the access widened or narrowed, with
// example topics, otherwise; each warning once.
func TestAccDevicePolicy_accessChangeWarnings(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	w := a.workspace()
	fleet, renamed := a.name("fleet"), a.name("fleet-renamed")
	steps := []struct {
		name    string
		config  string
		want    []string
		details map[string][]string
	}{
		{name: "create", config: fleetPolicy(fleet, "", ownUp, noFirmware, ownDown)},
		{name: "reordering", config: fleetPolicy(fleet, "", ownDown, noFirmware,
			fleetStatement{"ALLOW", []string{"iotda:devices:publish"}, []string{"topic:/v1/fleet/*", "topic:/v1/devices/$${devices.deviceId}/up"}})},
		{name: "rename", config: fleetPolicy(renamed, "", ownDown, noFirmware, ownUp)},
		{name: "statement added", config: fleetPolicy(renamed, "", ownDown, noFirmware, ownUp, broadcast),
			want: []string{warnWidens}, details: map[string][]string{warnWidens: {
				`("` + renamed + `") publish or subscribe to topics they could not before`,
				`subscribe to "/v1/broadcast" for every device (statement[3] of the planned policy, resource "topic:/v1/broadcast")`,
				"provider::iotda::compare",
			}}},
		{name: "deny removed", config: fleetPolicy(renamed, "", ownDown, ownUp, broadcast),
			want: []string{warnWidens}, details: map[string][]string{warnWidens: {
				`publish to "/v1/fleet/firmware/x"`, `(statement[1] of the planned policy, resource "topic:/v1/fleet/*")`,
			}}},
		{name: "deny added back", config: fleetPolicy(renamed, "", ownDown, ownUp, broadcast, noFirmware),
			want: []string{warnNarrows}, details: map[string][]string{warnNarrows: {
				"This change takes access away from the devices bound to",
				`publish to "/v1/fleet/firmware/x"`, `(statement[1] of the current policy, resource "topic:/v1/fleet/*")`,
			}}},
		{name: "variable replaced by a wildcard", config: fleetPolicy(renamed, "", ownDown, ownUpAnyFor, broadcast, noFirmware),
			want: []string{warnWidens}, details: map[string][]string{warnWidens: {
				`publish to "/v1/devices/x/up" for a device with device_id "device-1" (statement[1] of the planned policy, resource "topic:/v1/devices/*/up")`,
			}}},
		{name: "wildcard widened", config: fleetPolicy(renamed, "", ownDown, allUp, broadcast, noFirmware),
			want: []string{warnWidens}, details: map[string][]string{warnWidens: {
				`publish to "x" for every device (statement[1] of the planned policy, resource "topic:*")`,
			}}},
		{name: "widened and narrowed", config: fleetPolicy(renamed, "", ownDown, ownUp, broadcast, noFirmware, subscribeAll),
			want: []string{warnWidens}, details: map[string][]string{warnWidens: {
				`subscribe to "x" for every device (statement[4] of the planned policy, resource "topic:*")`,
				"It also takes access away:", `publish to "x" for every device (statement[1] of the current policy, resource "topic:*")`,
				`publish to "/v1/devices/x/up" for a device with device_id "device-1" (statement[1] of the current policy, resource "topic:/v1/devices/*/up")`,
			}}},
	}
	for _, step := range steps {
		w.configure(step.config)
		// The targets are counted only for a warning (nothing is bound
		// here): a reordering or a rename makes no call but the refresh.
		wantCounts := 0
		for _, summary := range step.want {
			wantCounts = 1
			step.details[summary] = append(step.details[summary], "No device, product or resource space is bound to the policy now")
		}
		a.onMock(cliCallsReason, func(srv *mock.TestServer) { srv.ResetCalls() })
		expectWarnings(t, step.name, w.planWarnings(), step.want, step.details)
		a.onMock(cliCallsReason, func(srv *mock.TestServer) {
			if got := srv.Calls(mock.OpListTargets); got != wantCounts {
				t.Errorf("%s: the plan listed targets %d times, want %d", step.name, got, wantCounts)
			}
		})
		w.apply()
	}
	w.run("destroy", "-auto-approve")
	if err := a.checkNoPolicies(nil); err != nil {
		t.Error(err)
	}
}

// TestAccDevicePolicy_accessChangeBlastRadius: the widening and narrowing
// warnings say how many devices, products and resource spaces the policy is
// bound to, with one call while one page holds them all and four (one page
// per type) for 100,000 targets, so a large fleet does not slow the plan.
func TestAccDevicePolicy_accessChangeBlastRadius(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("binds 100,000 devices, more than an instance names, and counts the calls of the provider the CLI started, a process of its own")
	w := a.workspace()
	w.configure(fleetPolicy(a.name("fleet"), "", ownUp, noFirmware))
	w.apply()
	policyID := a.onlyPolicyID()
	devices := make([]string, 100_000)
	for i := range devices {
		devices[i] = fmt.Sprintf("sensor-%06d", i+1)
	}
	bindTargets(t, srv, policyID, "device", devices[:40]...)

	w.configure(fleetPolicy(a.name("fleet"), "", ownUp, noFirmware, broadcast))
	srv.ResetCalls()
	expectWarnings(t, "widen, 40 devices", w.planWarnings(), []string{warnWidens}, map[string][]string{warnWidens: {
		`subscribe to "/v1/broadcast"`,
		`The change reaches the targets bound to the policy now: 40 devices ("sensor-000001", "sensor-000002", "sensor-000003", ...)`,
	}})
	if got := srv.Calls(mock.OpListTargets); got != 1 {
		t.Errorf("widen, 40 devices: %d list-targets calls, want 1", got)
	}

	w.apply()
	bindTargets(t, srv, policyID, "device", devices[40:]...)
	bindTargets(t, srv, policyID, "product", "prod-1")
	w.configure(fleetPolicy(a.name("fleet"), "", ownUp, noFirmware))
	srv.ResetCalls()
	expectWarnings(t, "narrow, 100,000 devices", w.planWarnings(), []string{warnNarrows}, map[string][]string{warnNarrows: {
		`subscribe to "/v1/broadcast"`,
		`The change reaches the targets bound to the policy now: 100000 devices (`, `, ...) and 1 product ("prod-1")`,
	}})
	if got := srv.Calls(mock.OpListTargets); got != 4 {
		t.Errorf("narrow, 100,000 devices: %d list-targets calls, want 4 (one page of each type and one of all)", got)
	}

	srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden})
	expectWarnings(t, "listing refused", w.planWarnings(), []string{warnNarrows, warnNoCount}, map[string][]string{warnNoCount: {
		"Listing the targets of device policy " + policyID + ` ("` + a.name("fleet") + `")`, "HTTP 403", "The plan goes on without the count.",
	}})
	srv.ClearFaults()
	w.run("destroy", "-auto-approve")
}

// TestAccDevicePolicy_blastRadiusCalls counts, with the provider's own
// counter (so on an instance too), the calls a plan makes to count the
// targets of the policy it updates: one for a widening of a policy bound to
// 40 devices, none for a reordering, which changes no access.
func TestAccDevicePolicy_blastRadiusCalls(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	devices := a.deviceIDs(40)
	config := func(statements ...fleetStatement) string {
		return a.providerBlock() + fleetPolicy(a.name("fleet"), "", statements...)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: config(ownUp, noFirmware)},
			{
				PreConfig: func() {
					a.bind(a.onlyPolicyID(), iotda.TargetTypeDevice, devices...)
					a.resetCalls()
				},
				Config: config(ownUp, noFirmware, broadcast),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("iotda_device_policy.fleet", plancheck.ResourceActionUpdate),
					a.expectPlanCalls(map[iotda.Operation]int{iotda.OpShow: 1, iotda.OpListTargets: 1}),
				}},
			},
			{
				PreConfig: a.resetCalls,
				Config:    config(broadcast, noFirmware, ownUp),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
					a.expectPlanCalls(map[iotda.Operation]int{iotda.OpShow: 1, iotda.OpListTargets: 0}),
				}},
			},
		},
	})
}

// TestAccDevicePolicy_reviewWarningsOnce shows each review warning once in
// the plan, misspelt and brace-less variables named with the closest real
// one, and no wildcard advice for resources another warning says have no
// effect.
func TestAccDevicePolicy_reviewWarningsOnce(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	w := a.workspace()
	w.configure(fleetPolicy(a.name("review"), "", fleetStatement{"ALLOW", publishOnly, []string{
		"topic:/v1/+/up",
		"topic:/v1/devices/$${devices.deviceid}/+",
		"topic:/v1/$devices.deviceId/telemetry",
		"topic:/v1/{devices.clientId}/telemetry",
		"topic:/v1/$${device.deviceId}/events",
		"topic:$oc/devices/+/sys/messages/up",
	}}))
	expectWarnings(t, "plan", w.planWarnings(), []string{warnWildcard, warnUnknown, warnUnknown, warnBare, warnBare, warnSystem}, map[string][]string{
		warnWildcard: {`"topic:/v1/+/up"`, `"topic:/v1/*/up"`},
		warnUnknown:  {"never matches any topic", `Did you mean "${devices.deviceId}"?`},
		warnBare:     {"matches it as literal text", "$${devices."},
		warnSystem:   {`"topic:$oc/devices/+/sys/messages/up"`, "has no effect"},
	})
	w.configure(fleetPolicy(a.name("review"), "",
		fleetStatement{"ALLOW", bothActions, []string{"topic:*"}},
		fleetStatement{"DENY", publishOnly, []string{"topic:/v1/secret/*"}},
		fleetStatement{"ALLOW", publishOnly, []string{"topic:/v1/secret/+"}},
	))
	expectWarnings(t, "plan", w.planWarnings(), []string{warnEverything, warnOverridden}, map[string][]string{
		warnEverything: {`"topic:*"`, "every device the policy is bound to may publish and subscribe to every custom topic"},
		warnOverridden: {"statement[2] is an ALLOW statement", "DENY statement[1]"},
	})
	a.onMock(cliCallsReason, func(srv *mock.TestServer) {
		if srv.TotalCalls() != 0 {
			t.Errorf("planning new policies made %d API calls, want none", srv.TotalCalls())
		}
	})
}

// TestAccDevicePolicy_targetsLoseItWarnings shows how many targets of each
// type lose a policy that is destroyed or replaced, with one listing of its
// targets at plan time, and nothing when none is bound.
func TestAccDevicePolicy_targetsLoseItWarnings(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	w := a.workspace()
	devices, product, otherSpace := sorted(a.deviceIDs(4)), a.products(1)[0], a.apps(1)[0]
	w.configure(fleetPolicy(a.name("bound"), "", ownUp))
	w.apply()
	policyID := a.onlyPolicyID()

	expectWarnings(t, "destroy, nothing bound", w.planWarnings("-destroy"), nil, nil)

	a.bind(policyID, iotda.TargetTypeDevice, devices...)
	a.bind(policyID, iotda.TargetTypeProduct, product)
	a.onMock(cliCallsReason, func(srv *mock.TestServer) { srv.ResetCalls() })
	expectWarnings(t, "destroy", w.planWarnings("-destroy"), []string{warnDestroy}, map[string][]string{warnDestroy: {
		"Destroying device policy " + policyID + ` ("` + a.name("bound") + `")`,
		fmt.Sprintf(`4 devices (%s, ...) and 1 product (%q) lose the access it grants. They stay unbound, whatever bound them`, quoteAll(devices[:3]), product),
	}})
	a.onMock(cliCallsReason, func(srv *mock.TestServer) {
		if got := srv.Calls(mock.OpListTargets); got != 1 {
			t.Errorf("the destroy plan listed the targets %d times, want once", got)
		}
	})

	a.onMock("refuses a target listing with 403", func(srv *mock.TestServer) {
		srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden})
		expectWarnings(t, "destroy, listing refused", w.planWarnings("-destroy"), []string{warnNoCount}, map[string][]string{warnNoCount: {
			"Listing the targets of device policy " + policyID + ` ("` + a.name("bound") + `")`, "HTTP 403", "The plan goes on without the count.",
		}})
		srv.ClearFaults()
	})

	w.configure(fleetPolicy(a.name("bound"), otherSpace, ownUp))
	expectWarnings(t, "replace", w.planWarnings(), []string{warnReplace}, map[string][]string{warnReplace: {
		"Replacing device policy " + policyID, "4 devices", "1 product",
		"An iotda_device_policy_binding whose policy_id refers to this policy is replaced with it and binds its targets to the new policy",
		"targets bound any other way (the console, another configuration, a policy_id written as a literal id) stay unbound.",
	}})
	w.configure(fleetPolicy(a.name("bound"), "", ownUp))
	w.run("destroy", "-auto-approve")
	if err := a.checkNoPolicies(nil); err != nil {
		t.Error(err)
	}
}

// TestDevicePolicyAccessChangeWarning_undecidedReason: a resource whose
// comparison reaches the work limit is listed as undecided with that
// reason, not blamed on device identities, and one that depends on
// identities says so.
func TestDevicePolicyAccessChangeWarning_undecidedReason(t *testing.T) {
	t.Parallel()
	state := devicePolicyModel{ID: types.StringValue("5c90fa7d3c4e4405e8525079"), PolicyName: types.StringValue("p")}
	allow := func(resources ...string) []iotda.Statement {
		return []iotda.Statement{{Effect: iotda.EffectAllow, Actions: []string{iotda.ActionPublish}, Resources: resources}}
	}
	for _, tc := range []struct {
		name          string
		prior, planed []iotda.Statement
		want, not     string
	}{
		{"work limit", allow("topic:*a" + strings.Repeat("?", 60)), allow("topic:" + strings.Repeat("*a", 15) + strings.Repeat("?", 60)),
			fmt.Sprintf("limit (%d steps)", policyeval.MaxSearchWork), "identities"},
		{"identities", allow("topic:?", "topic:??*"), allow("topic:${devices.deviceId}"), policyeval.ReasonIdentities, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diags diag.Diagnostics
			accessChangeWarning(state, tc.prior, tc.planed, func() (iotda.TargetCount, bool) { return iotda.TargetCount{}, false }, &diags)
			if len(diags) != 1 {
				t.Fatalf("diagnostics %v, want one warning", diags)
			}
			detail := diags[0].Detail()
			if !strings.Contains(detail, "undecided: whether resource") || !strings.Contains(detail, tc.want) || strings.Contains(detail, tc.not) {
				t.Fatalf("the warning does not give the reason %q (and not %q):\n%s", tc.want, tc.not, detail)
			}
		})
	}
}
