package provider

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// wildcardTopic is a resource of iotda.MaxTopicBytes bytes after "topic:"
// alternating "*" and letters from letters, starting at shift: the shape
// that made the comparison of policies exponential.
func wildcardTopic(letters string, shift int) string {
	var b strings.Builder
	for i := 0; b.Len() < iotda.MaxTopicBytes; i++ {
		b.WriteByte('*')
		b.WriteByte(letters[(i+shift)%len(letters)])
	}
	return "topic:" + b.String()[:iotda.MaxTopicBytes-shift%8]
}

// wildcardStatements are 10 ALLOW statements of 6 wildcard topics each,
// the policy whose unchanged plan once took 80 s; shift varies them.
func wildcardStatements(letters string, shift int) []fleetStatement {
	out := make([]fleetStatement, 10)
	for i := range out {
		out[i] = fleetStatement{"ALLOW", bothActions, nil}
		for j := range 6 {
			out[i].resources = append(out[i].resources, wildcardTopic(letters, i+j+shift))
		}
	}
	return out
}

// TestAccDevicePolicy_wildcardPlans: the policy of 10 statements of 6
// topics "*a*a*a..." of 128 bytes plans with no change and no warning, as
// it is and with its statements in the reverse order; an update of it
// plans (its cost is measured by BenchmarkDevicePolicyPlan, not timed
// here).
func TestAccDevicePolicy_wildcardPlans(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	w := a.workspace()
	statements := wildcardStatements("a", 0)
	w.configure(fleetPolicy(a.name("wildcards"), "", statements...))
	expectWarnings(t, "create", w.planWarnings(), nil, nil)
	w.apply()
	expectWarnings(t, "unchanged", w.planWarnings(), nil, nil)
	w.run("plan", "-detailed-exitcode")

	slices.Reverse(statements)
	w.configure(fleetPolicy(a.name("wildcards"), "", statements...))
	expectWarnings(t, "reordered", w.planWarnings(), nil, nil)
	w.run("plan", "-detailed-exitcode")
	before := a.policy(a.onlyPolicyID())
	w.apply()
	if after := a.policy(before.PolicyID); after.UpdateTime != before.UpdateTime {
		t.Fatalf("the reordering updated the policy at %s", after.UpdateTime)
	}
	a.onMock(cliCallsReason, func(srv *mock.TestServer) {
		if writes := srv.Calls(mock.OpUpdate); writes != 0 {
			t.Fatalf("the reordering sent %d updates", writes)
		}
	})

	w.configure(fleetPolicy(a.name("wildcards"), "", wildcardStatements("ab", 1)...))
	w.run("plan")
}

// TestAccDevicePolicy_reorderIsNoChange: statements in another order, and
// actions and resources in another order inside them, plan no change.
func TestAccDevicePolicy_reorderIsNoChange(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	w := a.workspace()
	w.configure(fleetPolicy(a.name("fleet"), "", ownUp, noFirmware, ownDown))
	w.apply()
	w.configure(fleetPolicy(a.name("fleet"), "", ownDown, noFirmware,
		fleetStatement{"ALLOW", publishOnly, []string{"topic:/v1/fleet/*", "topic:/v1/devices/$${devices.deviceId}/up"}}))
	expectWarnings(t, "reordered", w.planWarnings(), nil, nil)
	w.run("plan", "-detailed-exitcode")
	// A rename with a reordering updates the name only, statements in the
	// order of the state.
	w.configure(fleetPolicy(a.name("fleet-renamed"), "", noFirmware, ownDown, ownUp))
	expectWarnings(t, "renamed", w.planWarnings(), nil, nil)
	w.apply()
	w.run("plan", "-detailed-exitcode")
	got := a.policy(a.onlyPolicyID())
	if got.PolicyName != a.name("fleet-renamed") || got.Statement[0].Effect != "ALLOW" || got.Statement[1].Effect != "DENY" {
		t.Fatalf("after the rename the policy is %+v", got)
	}
}

// processCPU is the CPU time the process has used, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDevicePolicyPlan runs the plan-time work of iotda_device_policy
// (ModifyPlan: the review of the configuration and the comparison with the
// state) on the wildcard policy at the API's limits, unchanged, reordered
// and updated, and reports per plan the CPU time in milliseconds and the
// bytes allocated in megabytes (an upper bound of the memory held at once);
// the project holds a plan to 1000 cpu-ms/op and 100 alloc-MB/op.
func BenchmarkDevicePolicyPlan(b *testing.B) {
	ctx := context.Background()
	r := &devicePolicyResource{}
	var schemaResp fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &schemaResp)
	model := func(statements []fleetStatement) devicePolicyModel {
		m := devicePolicyModel{
			ID: types.StringValue("5c90fa7d3c4e4405e8525079"), PolicyName: types.StringValue("wildcards"), AppID: types.StringValue("app"),
			CreateTime: types.StringValue("20260101T000000Z"), UpdateTime: types.StringValue("20260101T000000Z"),
		}
		for _, s := range statements {
			m.Statement = append(m.Statement, statementModel{
				Effect: types.StringValue(s.effect), Actions: stringSet(s.actions), Resources: stringSet(s.resources),
			})
		}
		return m
	}
	base := wildcardStatements("a", 0)
	reversed := slices.Clone(base)
	slices.Reverse(reversed)
	withDeny := wildcardStatements("ab", 1)
	for i := 2; i < len(withDeny); i += 3 {
		withDeny[i].effect = "DENY"
	}
	for _, c := range []struct {
		name          string
		before, after []fleetStatement
	}{
		{"unchanged", base, base},
		{"reordered", base, reversed},
		{"updated", base, wildcardStatements("a", 1)},
		{"updated-letters", base, wildcardStatements("abc", 1)},
		{"updated-deny", wildcardStatements("ab", 0), withDeny},
	} {
		b.Run(c.name, func(b *testing.B) {
			state := tfsdk.State{Schema: schemaResp.Schema}
			plan := tfsdk.Plan{Schema: schemaResp.Schema}
			if d := state.Set(ctx, model(c.before)); d.HasError() {
				b.Fatal(d)
			}
			planned := model(c.after)
			planned.UpdateTime = types.StringUnknown()
			if d := plan.Set(ctx, planned); d.HasError() {
				b.Fatal(d)
			}
			config := tfsdk.Config{Schema: schemaResp.Schema, Raw: plan.Raw}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := processCPU()
			warnings := 0
			for b.Loop() {
				resp := fwresource.ModifyPlanResponse{Plan: plan}
				r.ModifyPlan(ctx, fwresource.ModifyPlanRequest{Config: config, Plan: plan, State: state}, &resp)
				if resp.Diagnostics.HasError() {
					b.Fatal(resp.Diagnostics)
				}
				warnings = len(resp.Diagnostics.Warnings())
			}
			cpu := processCPU() - start
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1e6/float64(b.N), "alloc-MB/op")
			b.ReportMetric(float64(warnings), "warnings")
		})
	}
}
