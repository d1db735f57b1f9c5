package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// targetsChange checks one change of a binding's targets in the plan: the
// keys added and removed are exactly the ones given, no value of a key
// kept changes, and no other attribute changes. drift selects the plan's
// resource_drift (what the refresh found) instead of its resource_changes.
type targetsChange struct {
	addr           string
	drift          bool
	added, removed []string
}

var _ plancheck.PlanCheck = targetsChange{}

func (c targetsChange) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	changes := req.Plan.ResourceChanges
	if c.drift {
		changes = req.Plan.ResourceDrift
	}
	var rc *tfjson.ResourceChange
	for _, r := range changes {
		if r.Address == c.addr {
			rc = r
		}
	}
	if rc == nil || rc.Change == nil {
		resp.Error = fmt.Errorf("%s has no change in the plan (drift: %t)", c.addr, c.drift)
		return
	}
	before, okBefore := rc.Change.Before.(map[string]any)
	after, okAfter := rc.Change.After.(map[string]any)
	if !okBefore || !okAfter {
		resp.Error = fmt.Errorf("%s: the change is not an update of known values: %v -> %v", c.addr, rc.Change.Before, rc.Change.After)
		return
	}
	for name := range before {
		if name != "targets" && fmt.Sprint(before[name]) != fmt.Sprint(after[name]) {
			resp.Error = fmt.Errorf("%s: %s changes from %v to %v", c.addr, name, before[name], after[name])
			return
		}
	}
	was, _ := before["targets"].(map[string]any)
	is, _ := after["targets"].(map[string]any)
	var added, removed []string
	for id, v := range is {
		old, ok := was[id]
		switch {
		case !ok:
			added = append(added, id)
		case old != v:
			resp.Error = fmt.Errorf("%s: the value of target %s changes from %v to %v", c.addr, id, old, v)
			return
		}
	}
	for id := range was {
		if _, ok := is[id]; !ok {
			removed = append(removed, id)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	if want := sorted(c.added); !slices.Equal(added, want) {
		resp.Error = fmt.Errorf("%s: the plan adds %d targets %v, want %d %v", c.addr, len(added), added, len(want), want)
		return
	}
	if want := sorted(c.removed); !slices.Equal(removed, want) {
		resp.Error = fmt.Errorf("%s: the plan removes %d targets %v, want %d %v", c.addr, len(removed), removed, len(want), want)
	}
}

// TestAccDevicePolicyBinding_churnPlan: replacing a tenth of 200 targets
// plans exactly the 20 removed and the 20 added ids, and sends only them.
func TestAccDevicePolicyBinding_churnPlan(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(220)
	before, after := ids[:200], ids[20:]
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: a.bindingConfig(before)},
			{
				PreConfig: a.resetCalls,
				Config:    a.bindingConfig(after),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(bindingAddr, plancheck.ResourceActionUpdate),
						targetsChange{addr: bindingAddr, added: ids[200:], removed: ids[:20]},
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(a.expectCalls(1, 1), a.expectBound(after)),
			},
		},
	})
}

// TestAccDevicePolicyBinding_forExpression: the for-expression idiom over
// a set, in any order, is the same binding as the function over a tuple, a
// list or a set; the API's order (newest first) never shows as a change.
func TestAccDevicePolicyBinding_forExpression(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(60)
	reversed := slices.Clone(ids)
	slices.Reverse(reversed)
	policyOnly := strings.Split(a.bindingConfig(nil), "\nresource \"iotda_device_policy_binding\"")[0]
	forExpr := policyOnly + fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = iotda_device_policy.test.id
  target_type = "device"
  targets     = { for id in toset([%s]) : id => "" }
}
`, quoteAll(reversed))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{
				Config: forExpr,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: a.expectBound(ids),
			},
			{
				Config: a.bindingConfig(ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// The function over a set (a data source's ids) and over a
				// typed list variable.
				Config: policyOnly + fmt.Sprintf(`
variable "ids" {
  type    = list(string)
  default = [%s]
}
resource "iotda_device_policy_binding" "test" {
  policy_id   = iotda_device_policy.test.id
  target_type = "device"
  targets     = merge(provider::iotda::targets(toset(slice(var.ids, 0, 30))), provider::iotda::targets(slice(var.ids, 30, 60)))
}
`, quoteAll(reversed)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// TestAccDevicePolicyBinding_duplicatesAndValues: an id listed twice fails
// at plan time with either idiom, and so does a value other than "".
func TestAccDevicePolicyBinding_duplicatesAndValues(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	config := func(targets string) string {
		return a.providerBlock() + fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = "0123456789abcdef01234567"
  target_type = "device"
  targets     = %s
}
`, targets)
	}
	a.testPlanErrors([]planErrorCase{
		{config(`provider::iotda::targets(["d1", "d2", "d1"])`), `ids\[2\] "d1" repeats ids\[0\]`},
		{config(`{ for id in ["d1", "d2", "d1"] : id => "" }`), `Duplicate object key.*d1`},
		{config(`provider::iotda::targets(["d1", null])`), `ids\[1\] is null`},
		{config(`{ d1 = "", d2 = "hall A" }`), `Invalid Target Value.*targets\["d2"\] is "hall A".*provider::iotda::targets\(ids\)`},
		{config(`{ d1 = null }`), `null`},
		{config(`provider::iotda::targets(["dev 1"])`), `must be 1 to 128 characters long and contain only letters, digits, "_" and "-"`},
		{config(`provider::iotda::targets("d1")`), `ids must be a list, set or tuple of strings, not a string`},
		{config(`provider::iotda::targets(["d1", 2])`), `ids\[1\] is a number`},
		{config(`provider::iotda::targets({ d1 = "" })`), `not a map or object`},
	})
}

// TestAccDevicePolicyBinding_driftPlan: targets bound and unbound outside
// Terraform show in the plan's drift, and the plan restores exactly them.
func TestAccDevicePolicyBinding_driftPlan(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	all := a.deviceIDs(101)
	ids, intruder := all[:100], all[100]
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{
			{Config: a.bindingConfig(ids)},
			{
				PreConfig: func() {
					policy := a.onlyPolicyID()
					a.unbindDevices(policy, ids[7], ids[70])
					a.bind(policy, iotda.TargetTypeDevice, intruder)
					a.resetCalls()
				},
				Config: a.bindingConfig(ids),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						targetsChange{addr: bindingAddr, drift: true, added: []string{intruder}, removed: []string{ids[7], ids[70]}},
						targetsChange{addr: bindingAddr, added: []string{ids[7], ids[70]}, removed: []string{intruder}},
					},
				},
				Check: resource.ComposeTestCheckFunc(a.expectCalls(1, 1), a.expectBound(ids)),
			},
		},
	})
}

func TestTargetsMap(t *testing.T) {
	t.Parallel()
	strs := func(ss ...string) []attr.Value {
		out := make([]attr.Value, len(ss))
		for i, s := range ss {
			out[i] = types.StringValue(s)
		}
		return out
	}
	got, err := targetsMap(strs("b", "a", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(got.Elements())); !slices.Equal(keys, []string{"a", "b", "c"}) {
		t.Fatalf("keys %v", keys)
	}
	for id, v := range got.Elements() {
		if !v.Equal(types.StringValue("")) {
			t.Fatalf("targets[%s] = %v, want \"\"", id, v)
		}
	}
	if got, err := targetsMap(nil); err != nil || len(got.Elements()) != 0 || got.IsNull() {
		t.Fatalf("no ids: %v, %v; want an empty map", got, err)
	}
	for _, tc := range []struct {
		ids  []attr.Value
		want string
	}{
		{strs("a", "b", "a"), `ids[2] "a" repeats ids[0]`},
		{[]attr.Value{types.StringValue("a"), types.StringNull()}, "ids[1] is null"},
		{[]attr.Value{types.StringValue("a"), types.BoolValue(true)}, "ids[1] is a bool"},
	} {
		if _, err := targetsMap(tc.ids); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.ids, err, tc.want)
		}
	}
}
