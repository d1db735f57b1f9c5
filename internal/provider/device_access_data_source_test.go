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

const (
	deviceA = "prod1_sensor-a"
	deviceB = "prod1_sensor-b"
)

// accessFixture is a platform where device A (product prod1, resource space
// space-1) is reached by one policy through each kind of binding, and other
// policies do not reach it.
type accessFixture struct {
	own, product, space, other, unbound mock.Policy
}

// newAccessFixture creates, newest last (so listed in the reverse order):
//   - unbound: allows publishing everywhere, bound to nothing;
//   - other: allows /v1/secret/*, bound to device B and 119 more devices
//     (120 targets: three pages of targets);
//   - space: allows publishing to /v1/telemetry/*, bound to space-1;
//   - product: allows subscribing to /v1/commands/* and denies publishing to
//     /v1/telemetry/firmware*, bound to prod1;
//   - own: allows publishing to the device's own /v1/{deviceId}/up and
//     subscribing to /v1/clients/{clientId}, bound to device A.
func newAccessFixture(t *testing.T, srv *mock.TestServer) accessFixture {
	t.Helper()
	var f accessFixture
	f.unbound = createPolicy(t, srv, "unbound", "space-1", apiStatement(iotda.EffectAllow, bothActions, "topic:*"))
	f.other = createPolicy(t, srv, "other-device", "space-1", apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/secret/*"))
	bindTargets(t, srv, f.other.PolicyID, iotda.TargetTypeDevice, append(deviceIDs(0, 119), deviceB)...)
	f.space = createPolicy(t, srv, "space-telemetry", "space-1", apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/telemetry/*"))
	bindTargets(t, srv, f.space.PolicyID, iotda.TargetTypeApp, "space-1")
	f.product = createPolicy(t, srv, "product-rules", "space-1",
		apiStatement(iotda.EffectAllow, subscribeOnly, "topic:/v1/commands/*"),
		apiStatement(iotda.EffectDeny, publishOnly, "topic:/v1/telemetry/firmware*"))
	bindTargets(t, srv, f.product.PolicyID, iotda.TargetTypeProduct, "prod1")
	f.own = createPolicy(t, srv, "own-topics", "space-1",
		apiStatement(iotda.EffectAllow, publishOnly, "topic:/v1/${devices.deviceId}/up"),
		apiStatement(iotda.EffectAllow, subscribeOnly, "topic:/v1/clients/${devices.clientId}"))
	bindTargets(t, srv, f.own.PolicyID, iotda.TargetTypeDevice, deviceA)
	return f
}

// accessData is an iotda_device_access block; attrs are HCL lines.
func accessData(name string, attrs ...string) string {
	return fmt.Sprintf("\ndata \"iotda_device_access\" %q {\n  %s\n}\n", name, strings.Join(attrs, "\n  "))
}

// deviceAAttrs places device A in its product and resource space.
var deviceAAttrs = []string{`device_id = "` + deviceA + `"`, `product_id = "prod1"`, `app_id = "space-1"`}

func withAttrs(base []string, more ...string) []string {
	return append(append([]string{}, base...), more...)
}

func reachingValue(p mock.Policy, via string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"policy_id":   knownvalue.StringExact(p.PolicyID),
		"policy_name": knownvalue.StringExact(p.PolicyName),
		"bound_via":   knownvalue.StringExact(via),
	})
}

func matchedValue(p mock.Policy, index int64) knownvalue.Check {
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
	srv := mock.NewTestServer(t, mock.Config{})
	f := newAccessFixture(t, srv)
	config := providerBlock(srv) +
		accessData("own_topic", withAttrs(deviceAAttrs, `action = "publish"`, `topic = "/v1/prod1_sensor-a/up"`)...) +
		accessData("other_device_topic", withAttrs(deviceAAttrs, `action = "publish"`, `topic = "/v1/prod1_sensor-b/up"`)...) +
		accessData("deny_wins", withAttrs(deviceAAttrs, `action = "publish"`, `topic = "/v1/telemetry/firmware-2"`)...) +
		accessData("via_space", withAttrs(deviceAAttrs, `action = "PUBLISH"`, `topic = "/v1/telemetry/temperature"`)...) +
		accessData("via_product", withAttrs(deviceAAttrs, `action = "subscribe"`, `topic = "/v1/commands/reboot"`)...) +
		accessData("no_space", `device_id = "`+deviceA+`"`, `product_id = "prod1"`, `action = "publish"`, `topic = "/v1/telemetry/temperature"`) +
		accessData("not_reached", withAttrs(deviceAAttrs, `action = "publish"`, `topic = "/v1/secret/plans"`)...) +
		accessData("device_b", `device_id = "`+deviceB+`"`, `action = "publish"`, `topic = "/v1/prod1_sensor-b/up"`) +
		accessData("device_b_secret", `device_id = "`+deviceB+`"`, `action = "publish"`, `topic = "/v1/secret/plans"`) +
		accessData("client", withAttrs(deviceAAttrs, `client_id = "prod1_sensor-a_0_0_2024"`, `action = "iotda:devices:subscribe"`, `topic = "/v1/clients/prod1_sensor-a_0_0_2024"`)...) +
		accessData("no_client", withAttrs(deviceAAttrs, `action = "subscribe"`, `topic = "/v1/clients/prod1_sensor-a_0_0_2024"`)...) +
		accessData("system_topic", withAttrs(deviceAAttrs, `action = "subscribe"`, `topic = "$oc/devices/prod1_sensor-a/sys/messages/down"`)...)

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
		ProtoV6ProviderFactories: testAccProviderFactories,
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
	srv := mock.NewTestServer(t, mock.Config{})
	f := newAccessFixture(t, srv)
	// One listing at a time, so that the injected 404 below hits the
	// newest policy's listing.
	config := providerBlockWith(srv, mock.TestSecretKey, "  batch_parallelism = 1") + accessData("test", withAttrs(deviceAAttrs, `action = "publish"`, `topic = "/v1/prod1_sensor-a/up"`)...)
	// 5 policies: four with at most 50 targets (one call each) and one with
	// 120 (three calls). Three of them reach device A.
	const policies, targetCalls, reaching = 5, 4*1 + 3, 3
	if n := len(srv.Policies("")); n != policies {
		t.Fatalf("the fixture has %d policies, the cost below counts %d", n, policies)
	}
	// A step runs plan (saved), apply of that plan, then Check, then more
	// plans. The configuration has no managed resource and only known
	// arguments, so the data source is read during the first plan and not
	// again by the apply of the saved plan: when Check runs, the counters
	// (reset in PreConfig; the fixture's out-of-band calls are not counted)
	// hold exactly one read.
	oneRead := map[mock.Operation]int{mock.OpList: 1, mock.OpListTargets: targetCalls, mock.OpShow: reaching}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: srv.ResetCalls,
				Config:    config,
				Check:     expectOpCalls(srv, oneRead),
				ConfigStateChecks: append(expectAccess("test", true, "ALLOW", matchedValue(f.own, 0)),
					expectReaching("test", reachingValue(f.own, "device"), reachingValue(f.product, "product"), reachingValue(f.space, "app"))),
			},
			{
				// A policy deleted between the listing of the policies and
				// the listing of its targets (the newest, own-topics, is the
				// first whose targets are listed) is left out.
				PreConfig: func() {
					srv.ResetCalls()
					srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusNotFound})
				},
				Config: config,
				Check:  expectOpCalls(srv, map[mock.Operation]int{mock.OpList: 1, mock.OpListTargets: targetCalls, mock.OpShow: reaching - 1}),
				ConfigStateChecks: append(expectAccess("test", false, "NO_MATCH"),
					expectReaching("test", reachingValue(f.product, "product"), reachingValue(f.space, "app"))),
			},
		},
	})
}

// TestAccDeviceAccessDataSource_sameConfiguration judges a policy and a
// binding managed in the same configuration; the policy's topic uses
// ${devices.deviceId}, written $${devices.deviceId} in HCL.
func TestAccDeviceAccessDataSource_sameConfiguration(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	ids := deviceIDs(0, 2)
	config := bindingConfig(srv, ids) +
		accessData("own", fmt.Sprintf("device_id = %q", ids[0]), `action = "publish"`, fmt.Sprintf("topic = %q", "/v1/devices/"+ids[0]+"/up"), "depends_on = [iotda_device_policy_binding.test]") +
		accessData("other", fmt.Sprintf("device_id = %q", ids[0]), `action = "publish"`, fmt.Sprintf("topic = %q", "/v1/devices/"+ids[1]+"/up"), "depends_on = [iotda_device_policy_binding.test]")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: append(append(
				expectAccess("own", true, "ALLOW", knownvalue.ObjectPartial(map[string]knownvalue.Check{"statement_index": knownvalue.Int64Exact(0)})),
				expectAccess("other", false, "NO_MATCH")...),
				statecheck.ExpectKnownValue("data.iotda_device_access.own", tfjsonpath.New("policies").AtSliceIndex(0).AtMapKey("policy_name"), knownvalue.StringExact("fleet")),
			),
		}},
	})
}

func TestAccDeviceAccessDataSource_errors(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	createPolicy(t, srv, "p", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	data := func(attrs ...string) string { return providerBlock(srv) + accessData("test", attrs...) }
	device := `device_id = "` + deviceA + `"`
	steps := planErrorSteps([]planErrorCase{
		{data(device, `action = "connect"`, `topic = "/a"`), `Invalid Action.*unknown action "connect": the accepted values are "publish", "subscribe"`},
		{data(device, `action = "publish"`, `topic = ""`), `Invalid Topic.*the topic must not be empty`},
		{data(device, `action = "publish"`, `topic = "topic:/a"`), `Invalid Topic.*"topic:/a" starts with "topic:", the prefix of policy resources: give the MQTT topic itself, without the prefix, e.g. "/a"`},
		{data(device, `action = "publish"`), `The argument "topic" is required`},
		{data(`device_id = "sensor a"`, `action = "publish"`, `topic = "/a"`), `device_id must be 1 to 128 letters, digits, "_" or "-"`},
		{data(device, `app_id = "space.1"`, `action = "publish"`, `topic = "/a"`), `app_id must contain only letters, digits, "_" and "-"`},
	})
	steps = append(steps, resource.TestStep{
		PreConfig: func() {
			expectNoCalls(t, srv)
			srv.InjectFault(mock.OpListTargets, mock.Fault{Status: http.StatusForbidden})
		},
		Config:      data(device, `action = "publish"`, `topic = "/a"`),
		ExpectError: expectError(`Unable to List Device Policy Targets.*targets of device policy [0-9a-f]{24} \("p"\).*device ` + deviceA + ` failed.*HTTP 403`),
	})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps:                    steps,
	})
}
