package provider

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// accessFixture is a platform where device A (of a product, in a resource
// space) is reached by one policy through each kind of binding, and other
// policies do not reach it.
type accessFixture struct {
	own, product, space, other, unbound iotda.Policy
	deviceA, deviceB, productID, appID  string
}

// newAccessFixture creates, newest last (so listed in the reverse order):
//   - unbound: allows publishing everywhere, bound to nothing;
//   - other: allows /v1/secret/*, bound to device B and 119 more devices
//     (120 targets: three pages of targets);
//   - space: allows publishing to /v1/telemetry/*, bound to the space;
//   - product: allows subscribing to /v1/commands/* and denies publishing to
//     /v1/telemetry/firmware*, bound to the product;
//   - own: allows publishing to the device's own /v1/{deviceId}/up and
//     subscribing to /v1/clients/{clientId}, bound to device A.
func newAccessFixture(a *accTarget) accessFixture {
	a.t.Helper()
	devices := a.deviceIDs(121)
	f := accessFixture{deviceA: devices[0], deviceB: devices[1], productID: a.products(1)[0], appID: a.apps(1)[0]}
	f.unbound = a.createPolicy("unbound", f.appID, apiStatement(iotda.EffectAllow, bothActions, "topic:*"))
	f.other = a.createPolicy("other-device", f.appID, apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/secret/*"))
	a.bind(f.other.PolicyID, iotda.TargetTypeDevice, devices[1:]...)
	f.space = a.createPolicy("space-telemetry", f.appID, apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/telemetry/*"))
	a.bind(f.space.PolicyID, iotda.TargetTypeApp, f.appID)
	f.product = a.createPolicy("product-rules", f.appID,
		apiStatement(iotda.EffectAllow, subscribeOnly, "topic:/v1/commands/*"),
		apiStatement(iotda.EffectDeny, publishOnly, "topic:/v1/telemetry/firmware*"))
	a.bind(f.product.PolicyID, iotda.TargetTypeProduct, f.productID)
	f.own = a.createPolicy("own-topics", f.appID,
		apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/${devices.deviceId}/up"),
		apiStatement(iotda.EffectAllow, subscribeOnly, "topic:/v1/clients/${devices.clientId}"))
	a.bind(f.own.PolicyID, iotda.TargetTypeDevice, f.deviceA)
	return f
}

// deviceAAttrs places device A in its product and resource space.
func (f accessFixture) deviceAAttrs(more ...string) []string {
	return append([]string{fmt.Sprintf("device_id = %q", f.deviceA), fmt.Sprintf("product_id = %q", f.productID), fmt.Sprintf("app_id = %q", f.appID)}, more...)
}

// accessData is an iotda_device_access block; attrs are HCL lines.
func accessData(name string, attrs ...string) string {
	return fmt.Sprintf("\ndata \"iotda_device_access\" %q {\n  %s\n}\n", name, strings.Join(attrs, "\n  "))
}

func reachingValue(p iotda.Policy, via string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"policy_id":   knownvalue.StringExact(p.PolicyID),
		"policy_name": knownvalue.StringExact(p.PolicyName),
		"bound_via":   knownvalue.StringExact(via),
	})
}

func matchedValue(p iotda.Policy, index int64) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"policy_id":       knownvalue.StringExact(p.PolicyID),
		"statement_index": knownvalue.Int64Exact(index),
	})
}

// expectAccess checks the verdict of one iotda_device_access data source.
func expectAccess(name string, allowed bool, decision string, matched ...knownvalue.Check) []statecheck.StateCheck {
	addr := "data.iotda_device_access." + name
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("allowed"), knownvalue.Bool(allowed)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("decision"), knownvalue.StringExact(decision)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("matched"), knownvalue.ListExact(append([]knownvalue.Check{}, matched...))),
	}
}

func expectReaching(name string, policies ...knownvalue.Check) statecheck.StateCheck {
	return statecheck.ExpectKnownValue("data.iotda_device_access."+name, tfjsonpath.New("policies"), knownvalue.ListExact(append([]knownvalue.Check{}, policies...)))
}

func TestAccDeviceAccessDataSource(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	f := newAccessFixture(a)
	topic := func(topic string) string { return fmt.Sprintf("topic = %q", topic) }
	client := f.deviceA + "_0_0_2024"
	config := a.providerBlock() +
		accessData("own_topic", f.deviceAAttrs(`action = "publish"`, topic("/v1/"+f.deviceA+"/up"))...) +
		accessData("other_device_topic", f.deviceAAttrs(`action = "publish"`, topic("/v1/"+f.deviceB+"/up"))...) +
		accessData("deny_wins", f.deviceAAttrs(`action = "publish"`, `topic = "/v1/telemetry/firmware-2"`)...) +
		accessData("via_space", f.deviceAAttrs(`action = "PUBLISH"`, `topic = "/v1/telemetry/temperature"`)...) +
		accessData("via_product", f.deviceAAttrs(`action = "subscribe"`, `topic = "/v1/commands/reboot"`)...) +
		accessData("no_space", fmt.Sprintf("device_id = %q", f.deviceA), fmt.Sprintf("product_id = %q", f.productID), `action = "publish"`, `topic = "/v1/telemetry/temperature"`) +
		accessData("not_reached", f.deviceAAttrs(`action = "publish"`, `topic = "/v1/secret/plans"`)...) +
		accessData("device_b", fmt.Sprintf("device_id = %q", f.deviceB), `action = "publish"`, topic("/v1/"+f.deviceB+"/up")) +
		accessData("device_b_secret", fmt.Sprintf("device_id = %q", f.deviceB), `action = "publish"`, `topic = "/v1/secret/plans"`) +
		accessData("client", f.deviceAAttrs(fmt.Sprintf("client_id = %q", client), `action = "iotda:devices:subscribe"`, topic("/v1/clients/"+client))...) +
		accessData("no_client", f.deviceAAttrs(`action = "subscribe"`, topic("/v1/clients/"+client))...) +
		accessData("system_topic", f.deviceAAttrs(`action = "subscribe"`, topic("$oc/devices/"+f.deviceA+"/sys/messages/down"))...)

	checks := []statecheck.StateCheck{
		expectReaching("own_topic", reachingValue(f.own, "device"), reachingValue(f.product, "product"), reachingValue(f.space, "app")),
		expectReaching("no_space", reachingValue(f.own, "device"), reachingValue(f.product, "product")),
		expectReaching("device_b", reachingValue(f.other, "device")),
	}
	for _, c := range [][]statecheck.StateCheck{
		// ${devices.deviceId} is the device's own id, not another's.
		expectAccess("own_topic", true, "ALLOW", matchedValue(f.own, 0)),
		expectAccess("other_device_topic", false, "NO_MATCH"),
		// The DENY of the product's policy beats the ALLOW of the space's.
		expectAccess("deny_wins", false, "DENY", matchedValue(f.product, 1), matchedValue(f.space, 0)),
		expectAccess("via_space", true, "ALLOW", matchedValue(f.space, 0)),
		expectAccess("via_product", true, "ALLOW", matchedValue(f.product, 0)),
		// Without app_id the resource-space binding does not count.
		expectAccess("no_space", false, "NO_MATCH"),
		// The policy bound to device B does not reach device A, and the
		// one bound to device A does not reach device B.
		expectAccess("not_reached", false, "NO_MATCH"),
		expectAccess("device_b", false, "NO_MATCH"),
		expectAccess("device_b_secret", true, "ALLOW", matchedValue(f.other, 0)),
		expectAccess("client", true, "ALLOW", matchedValue(f.own, 1)),
		expectAccess("no_client", false, "NO_MATCH"),
		expectAccess("system_topic", true, "NOT_GOVERNED"),
	} {
		checks = append(checks, c...)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config:            config,
			ConfigStateChecks: checks,
		}},
	})
}

// TestAccDeviceAccessDataSource_cost checks the calls of one read against
// the cost the documentation gives: one policy listing, one target listing
// per policy (one call per 50 targets), one read per reaching policy.
func TestAccDeviceAccessDataSource_cost(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	f := newAccessFixture(a)
	// One listing at a time, so that the injected 404 below hits the
	// newest policy's listing.
	config := a.providerBlock("batch_parallelism = 1") + accessData("test", f.deviceAAttrs(`action = "publish"`, fmt.Sprintf("topic = %q", "/v1/"+f.deviceA+"/up"))...)
	// 5 policies: four with at most 50 targets (one call each) and one with
	// 120 (three calls). Three of them reach device A.
	const policies, targetCalls, reaching = 5, 4*1 + 3, 3
	if n := len(a.policies()); n != policies {
		t.Fatalf("the fixture has %d policies, the cost below counts %d", n, policies)
	}
	// A step runs plan (saved), apply of that plan, then Check, then more
	// plans. The configuration has no managed resource and only known
	// arguments, so the data source is read during the first plan and not
	// again by the apply of the saved plan: when Check runs, the counters
	// (reset in PreConfig; the fixture's out-of-band calls are not counted)
	// hold exactly one read.
	oneRead := map[iotda.Operation]int{iotda.OpList: 1, iotda.OpListTargets: targetCalls, iotda.OpShow: reaching}
	steps := []resource.TestStep{{
		PreConfig: a.resetCalls,
		Config:    config,
		Check:     a.expectOpCalls(oneRead),
		ConfigStateChecks: append(expectAccess("test", true, "ALLOW", matchedValue(f.own, 0)),
			expectReaching("test", reachingValue(f.own, "device"), reachingValue(f.product, "product"), reachingValue(f.space, "app"))),
	}}
	a.onMock("answers a target listing with 404, as if its policy had been deleted since the policy listing", func(srv *mock.TestServer) {
		steps = append(steps, resource.TestStep{
			// A policy deleted between the listing of the policies and the
			// listing of its targets (the newest, own-topics, is the first
			// whose targets are listed) is left out.
			PreConfig: func() {
				a.resetCalls()
				srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusNotFound})
			},
			Config: config,
			Check:  a.expectOpCalls(map[iotda.Operation]int{iotda.OpList: 1, iotda.OpListTargets: targetCalls, iotda.OpShow: reaching - 1}),
			ConfigStateChecks: append(expectAccess("test", false, "NO_MATCH"),
				expectReaching("test", reachingValue(f.product, "product"), reachingValue(f.space, "app"))),
		})
	})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps:                    steps,
	})
}

// TestAccDeviceAccessDataSource_sameConfiguration judges a policy and a
// binding managed in the same configuration; the policy's topic uses
// ${devices.deviceId}, written $${devices.deviceId} in HCL.
func TestAccDeviceAccessDataSource_sameConfiguration(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(2)
	config := a.bindingConfig(ids) +
		accessData("own", fmt.Sprintf("device_id = %q", ids[0]), `action = "publish"`, fmt.Sprintf("topic = %q", "/v1/devices/"+ids[0]+"/up"), "depends_on = [iotda_device_policy_binding.test]") +
		accessData("other", fmt.Sprintf("device_id = %q", ids[0]), `action = "publish"`, fmt.Sprintf("topic = %q", "/v1/devices/"+ids[1]+"/up"), "depends_on = [iotda_device_policy_binding.test]")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		CheckDestroy:             a.checkNoPolicies,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: append(append(
				expectAccess("own", true, "ALLOW", knownvalue.ObjectPartial(map[string]knownvalue.Check{"statement_index": knownvalue.Int64Exact(0)})),
				expectAccess("other", false, "NO_MATCH")...),
				statecheck.ExpectKnownValue("data.iotda_device_access.own", tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("policy_name"), knownvalue.StringExact(a.name("fleet"))),
			),
		}},
	})
}

func TestAccDeviceAccessDataSource_errors(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	a.createPolicy("p", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	deviceA := a.deviceIDs(1)[0]
	data := func(attrs ...string) string { return a.providerBlock() + accessData("test", attrs...) }
	device := fmt.Sprintf("device_id = %q", deviceA)
	steps := planErrorSteps([]planErrorCase{
		{data(device, `action = "connect"`, `topic = "/a"`), `Invalid Action.*unknown action "connect": the accepted values are "publish", "subscribe"`},
		{data(device, `action = "publish"`, `topic = ""`), `Invalid Topic.*the topic must not be empty`},
		{data(device, `action = "publish"`, `topic = "topic:/a"`), `Invalid Topic.*"topic:/a" starts with "topic:", the prefix of policy resources: give the MQTT topic itself, without the prefix, e.g. "/a"`},
		{data(device, `action = "publish"`), `The argument "topic" is required`},
		{data(`device_id = "sensor a"`, `action = "publish"`, `topic = "/a"`), `device_id must be 1 to 128 characters long and contain only letters, digits, "_" and "-"`},
		{data(device, `app_id = "space.1"`, `action = "publish"`, `topic = "/a"`), `app_id must contain only letters, digits, "_" and "-"`},
	})
	steps = append(steps, resource.TestStep{
		PreConfig: func() { a.expectNoCalls(t) },
		Config:    data(device, `action = "publish"`, `topic = "/a"`),
	})
	a.onMock("refuses a target listing with 403", func(srv *mock.TestServer) {
		steps = append(steps, resource.TestStep{
			PreConfig:   func() { srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden}) },
			Config:      data(device, `action = "publish"`, `topic = "/a"`),
			ExpectError: expectError(`Unable to List Device Policy Targets.*targets of device policy [0-9a-f]{24} \("` + a.name("p") + `"\).*device ` + deviceA + ` failed.*HTTP 403`),
		})
	})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps:                    steps,
	})
}
