package sdk

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	iotda "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iotda/v5"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iotda/v5/model"
)

var (
	policyIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)
	timePattern     = regexp.MustCompile(`^\d{8}T\d{6}Z$`)
)

// authModes are the ways a client of IoTDA signs: both algorithms, with a
// permanent and with a temporary key.
var authModes = []struct {
	name      string
	derived   bool
	temporary bool
	// algorithm is how the Authorization header must start.
	algorithm string
}{
	{"basic", false, false, "SDK-HMAC-SHA256 Access="},
	{"derived", true, false, "V11-HMAC-SHA256 Credential="},
	{"basic_temporary_key", false, true, "SDK-HMAC-SHA256 Access="},
	{"derived_temporary_key", true, true, "V11-HMAC-SHA256 Credential="},
}

// TestLifecycle drives every device-policy operation through the SDK, in
// each way of signing, and checks the answers against the API reference.
func TestLifecycle(t *testing.T) {
	for _, mode := range authModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			keys := newKeys(t, mode.temporary)
			m := startMock(t, keys)
			c, rec := newClient(t, m, keys, clientOptions{Derived: mode.derived})
			lifecycle(t, c, rec)

			// What was sent: the algorithm asked for, with the scope of a
			// derived signature, and the token of a temporary key signed.
			for _, s := range rec.all() {
				authz := s.Header.Get("Authorization")
				if !strings.HasPrefix(authz, mode.algorithm+keys.AccessKey) {
					t.Errorf("%s %s: Authorization %q, want it to start with %q", s.Method, s.Path, authz, mode.algorithm+keys.AccessKey)
				}
				if mode.derived && !strings.Contains(authz, "/"+testRegion+"/iotdm,") {
					t.Errorf("%s %s: derived Authorization %q has no scope .../%s/iotdm", s.Method, s.Path, authz, testRegion)
				}
				signed := signedHeaders(authz)
				if got := s.Header.Get("X-Security-Token"); got != keys.SecurityToken {
					t.Errorf("%s %s: X-Security-Token %q, want %q", s.Method, s.Path, got, keys.SecurityToken)
				}
				if mode.temporary && !slices.Contains(signed, "x-security-token") {
					t.Errorf("%s %s: X-Security-Token not among the signed headers %q", s.Method, s.Path, signed)
				}
				if s.Status >= 300 && s.Status != 404 {
					t.Errorf("%s %s: status %d", s.Method, s.Path, s.Status)
				}
			}
		})
	}
}

// signedHeaders returns the SignedHeaders list of an Authorization header.
func signedHeaders(authz string) []string {
	_, rest, ok := strings.Cut(authz, "SignedHeaders=")
	if !ok {
		return nil
	}
	list, _, _ := strings.Cut(rest, ",")
	return strings.Split(list, ";")
}

func lifecycle(t *testing.T, c *iotda.IoTDAClient, rec *recorder) {
	statements := []model.Statement{
		{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/v1/devices/${devices.deviceId}/telemetry"}},
		{Effect: "DENY", Actions: []string{"iotda:devices:publish", "iotda:devices:subscribe"}, Resources: []string{"topic:/v1/firmware/*", "topic:/v1/admin/#"}},
	}

	// Create: 201 and the whole policy, in the default resource space.
	created, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{
		PolicyName: "conformance-fleet",
		Statement:  statements,
	}})
	if err != nil {
		t.Fatalf("CreateDevicePolicy: %v", err)
	}
	if created.HttpStatusCode != 201 {
		t.Errorf("CreateDevicePolicy: status %d, want 201", created.HttpStatusCode)
	}
	id := deref(created.PolicyId)
	if !policyIDPattern.MatchString(id) {
		t.Fatalf("CreateDevicePolicy: policy_id %q is not 24 lower-case hex digits", id)
	}
	appID := deref(created.AppId)
	if appID == "" {
		t.Error("CreateDevicePolicy: no app_id, want the default resource space's id")
	}
	checkPolicy(t, "CreateDevicePolicy", created.PolicyName, created.Statement, created.CreateTime, created.UpdateTime, "conformance-fleet", statements)

	// The body the SDK signed and sent ends with the encoder's newline.
	if s := rec.last(t); s.Method != "POST" || !strings.HasSuffix(string(s.Body), "}\n") {
		t.Errorf("CreateDevicePolicy sent %s with body %q, want a POST whose JSON body ends with a newline", s.Method, s.Body)
	}

	// Show: the same policy.
	shown, err := c.ShowDevicePolicy(&model.ShowDevicePolicyRequest{PolicyId: id})
	if err != nil {
		t.Fatalf("ShowDevicePolicy: %v", err)
	}
	if shown.HttpStatusCode != 200 || deref(shown.PolicyId) != id || deref(shown.AppId) != appID {
		t.Errorf("ShowDevicePolicy: status %d, policy_id %q, app_id %q; want 200, %q, %q",
			shown.HttpStatusCode, deref(shown.PolicyId), deref(shown.AppId), id, appID)
	}
	checkPolicy(t, "ShowDevicePolicy", shown.PolicyName, shown.Statement, shown.CreateTime, shown.UpdateTime, "conformance-fleet", statements)

	// Update: the name and the statements change, the id and space stay.
	newStatements := []model.Statement{
		{Effect: "ALLOW", Actions: []string{"iotda:devices:subscribe"}, Resources: []string{"topic:/v1/devices/${devices.deviceId}/commands"}},
	}
	newName := "conformance-fleet-v2"
	updated, err := c.UpdateDevicePolicy(&model.UpdateDevicePolicyRequest{PolicyId: id, Body: &model.UpdateDevicePolicy{
		PolicyName: &newName,
		Statement:  &newStatements,
	}})
	if err != nil {
		t.Fatalf("UpdateDevicePolicy: %v", err)
	}
	if updated.HttpStatusCode != 200 || deref(updated.PolicyId) != id || deref(updated.AppId) != appID {
		t.Errorf("UpdateDevicePolicy: status %d, policy_id %q, app_id %q; want 200, %q, %q",
			updated.HttpStatusCode, deref(updated.PolicyId), deref(updated.AppId), id, appID)
	}
	checkPolicy(t, "UpdateDevicePolicy", updated.PolicyName, updated.Statement, updated.CreateTime, updated.UpdateTime, newName, newStatements)
	if deref(updated.CreateTime) != deref(created.CreateTime) {
		t.Errorf("UpdateDevicePolicy: create_time %q, want it unchanged (%q)", deref(updated.CreateTime), deref(created.CreateTime))
	}

	// List, filtered by name: one item, without statements.
	listed, err := c.ListDevicePolicies(&model.ListDevicePoliciesRequest{PolicyName: &newName})
	if err != nil {
		t.Fatalf("ListDevicePolicies: %v", err)
	}
	if listed.Policies == nil || len(*listed.Policies) != 1 || deref((*listed.Policies)[0].PolicyId) != id ||
		deref((*listed.Policies)[0].PolicyName) != newName || deref((*listed.Policies)[0].AppId) != appID {
		t.Errorf("ListDevicePolicies(policy_name=%s): %v, want the one policy %s", newName, listed.Policies, id)
	}
	if listed.Page == nil || deref(listed.Page.Count) != 1 || deref(listed.Page.Marker) != id {
		t.Errorf("ListDevicePolicies: page %v, want count 1 and marker %s", listed.Page, id)
	}
	if s := rec.last(t); s.Method != "GET" || len(s.Body) != 0 {
		t.Errorf("ListDevicePolicies sent %s with a body of %d bytes, want a GET without body", s.Method, len(s.Body))
	}

	// Bind three devices and a product.
	devices := []string{"conformance_dev-1", "conformance_dev-2", "conformance_dev-3"}
	bound, err := c.BindDevicePolicy(&model.BindDevicePolicyRequest{PolicyId: id, Body: &model.BindDevicePolicy{
		TargetType: "device", TargetIds: devices,
	}})
	if err != nil {
		t.Fatalf("BindDevicePolicy: %v", err)
	}
	if bound.HttpStatusCode != 200 || deref(bound.PolicyId) != id || deref(bound.TargetType) != "device" ||
		!sameSet(derefSlice(bound.SuccessTargets), devices) || len(derefSlice(bound.FailureTargets)) != 0 {
		t.Errorf("BindDevicePolicy: status %d, %s %s, success %v, failure %v; want 200, device %s, success %v, no failure",
			bound.HttpStatusCode, deref(bound.PolicyId), deref(bound.TargetType), derefSlice(bound.SuccessTargets),
			derefSlice(bound.FailureTargets), id, devices)
	}
	if _, err := c.BindDevicePolicy(&model.BindDevicePolicyRequest{PolicyId: id, Body: &model.BindDevicePolicy{
		TargetType: "product", TargetIds: []string{"conformance-product"},
	}}); err != nil {
		t.Fatalf("BindDevicePolicy(product): %v", err)
	}

	// List the targets with no body at all (the SDK's request without
	// filter), with an empty filter, and with a target type.
	all := []model.PolicyTargetBase{
		{TargetType: "product", TargetId: "conformance-product"},
		{TargetType: "device", TargetId: "conformance_dev-3"},
		{TargetType: "device", TargetId: "conformance_dev-2"},
		{TargetType: "device", TargetId: "conformance_dev-1"},
	}
	targets, err := c.ShowTargetsInDevicePolicy(&model.ShowTargetsInDevicePolicyRequest{PolicyId: id})
	if err != nil {
		t.Fatalf("ShowTargetsInDevicePolicy without body: %v", err)
	}
	if s := rec.last(t); s.Method != "POST" || len(s.Body) != 0 {
		t.Errorf("ShowTargetsInDevicePolicy without body sent %s with body %q, want a POST with an empty body", s.Method, s.Body)
	}
	checkTargets(t, "without body", targets, all)

	targets, err = c.ShowTargetsInDevicePolicy(&model.ShowTargetsInDevicePolicyRequest{PolicyId: id, Body: &model.ShowTargetsInDevicePolicyRequestBody{}})
	if err != nil {
		t.Fatalf("ShowTargetsInDevicePolicy({}): %v", err)
	}
	if s := rec.last(t); strings.TrimSpace(string(s.Body)) != "{}" {
		t.Errorf("ShowTargetsInDevicePolicy({}) sent body %q, want {}", s.Body)
	}
	checkTargets(t, "{}", targets, all)

	device := "device"
	targets, err = c.ShowTargetsInDevicePolicy(&model.ShowTargetsInDevicePolicyRequest{PolicyId: id,
		Body: &model.ShowTargetsInDevicePolicyRequestBody{TargetType: &device}})
	if err != nil {
		t.Fatalf("ShowTargetsInDevicePolicy(target_type=device): %v", err)
	}
	checkTargets(t, "target_type=device", targets, all[1:])

	// Unbind one bound device and one that is not bound: a 200 whose
	// failure_targets names the second with IOTDA.015207.
	unbound, err := c.UnbindDevicePolicy(&model.UnbindDevicePolicyRequest{PolicyId: id, Body: &model.UnBindDevicePolicy{
		TargetType: "device", TargetIds: []string{"conformance_dev-2", "conformance_never-bound"},
	}})
	if err != nil {
		t.Fatalf("UnbindDevicePolicy: %v", err)
	}
	failures := derefSlice(unbound.FailureTargets)
	if unbound.HttpStatusCode != 200 || !sameSet(derefSlice(unbound.SuccessTargets), []string{"conformance_dev-2"}) ||
		len(failures) != 1 || deref(failures[0].TargetId) != "conformance_never-bound" || deref(failures[0].ErrorCode) != "IOTDA.015207" ||
		deref(failures[0].ErrorMsg) == "" {
		t.Errorf("UnbindDevicePolicy: status %d, success %v, failure %v; want 200, success [conformance_dev-2], "+
			"failure conformance_never-bound IOTDA.015207 with a message", unbound.HttpStatusCode, derefSlice(unbound.SuccessTargets), failures)
	}
	targets, err = c.ShowTargetsInDevicePolicy(&model.ShowTargetsInDevicePolicyRequest{PolicyId: id,
		Body: &model.ShowTargetsInDevicePolicyRequestBody{TargetType: &device}})
	if err != nil {
		t.Fatalf("ShowTargetsInDevicePolicy after unbind: %v", err)
	}
	checkTargets(t, "after unbind", targets, []model.PolicyTargetBase{all[1], all[3]})

	// Delete: 204 with an empty body, then the policy is gone.
	deleted, err := c.DeleteDevicePolicy(&model.DeleteDevicePolicyRequest{PolicyId: id})
	if err != nil {
		t.Fatalf("DeleteDevicePolicy: %v", err)
	}
	if deleted.HttpStatusCode != 204 || deref(deleted.Body) != "" {
		t.Errorf("DeleteDevicePolicy: status %d, body %q; want 204 and no body", deleted.HttpStatusCode, deref(deleted.Body))
	}
	_, err = c.ShowDevicePolicy(&model.ShowDevicePolicyRequest{PolicyId: id})
	wantServiceError(t, "ShowDevicePolicy after delete", err, 404, "")
}

// checkPolicy compares a policy's name and statements, and the form of its
// times.
func checkPolicy(t *testing.T, op string, name *string, statement *[]model.Statement, created, updated *string, wantName string, want []model.Statement) {
	t.Helper()
	if deref(name) != wantName {
		t.Errorf("%s: policy_name %q, want %q", op, deref(name), wantName)
	}
	if statement == nil || !slices.EqualFunc(*statement, want, func(a, b model.Statement) bool {
		return a.Effect == b.Effect && slices.Equal(a.Actions, b.Actions) && slices.Equal(a.Resources, b.Resources)
	}) {
		t.Errorf("%s: statement %v, want %v", op, statement, want)
	}
	for field, v := range map[string]*string{"create_time": created, "update_time": updated} {
		if !timePattern.MatchString(deref(v)) {
			t.Errorf("%s: %s %q is not yyyyMMddTHHmmssZ", op, field, deref(v))
		}
	}
}

// checkTargets compares a list-targets answer with the targets wanted, in
// order (newest binding first).
func checkTargets(t *testing.T, what string, got *model.ShowTargetsInDevicePolicyResponse, want []model.PolicyTargetBase) {
	t.Helper()
	if got.HttpStatusCode != 200 || !slices.Equal(derefSlice(got.Targets), want) {
		t.Errorf("ShowTargetsInDevicePolicy %s: status %d, targets %v; want 200, %v", what, got.HttpStatusCode, derefSlice(got.Targets), want)
	}
	if got.Page == nil || deref(got.Page.Count) != int64(len(want)) || !policyIDPattern.MatchString(deref(got.Page.Marker)) {
		t.Errorf("ShowTargetsInDevicePolicy %s: page %v, want count %d and a 24-hex-digit marker", what, got.Page, len(want))
	}
}

// wantServiceError checks that err is the SDK's error for an HTTP answer
// with status and, unless code is empty, that error_code; every error
// answer carries a message and a request id.
func wantServiceError(t *testing.T, op string, err error, status int, code string) {
	t.Helper()
	var sr *sdkerr.ServiceResponseError
	if !errors.As(err, &sr) {
		t.Errorf("%s: error %v (%T), want a service response error with status %d", op, err, err, status)
		return
	}
	if sr.StatusCode != status || (code != "" && sr.ErrorCode != code) {
		t.Errorf("%s: status %d, error_code %q; want %d, %q", op, sr.StatusCode, sr.ErrorCode, status, code)
	}
	if sr.ErrorCode == "" || sr.ErrorMessage == "" || sr.RequestId == "" {
		t.Errorf("%s: error_code %q, error_msg %q, request id %q; want all three", op, sr.ErrorCode, sr.ErrorMessage, sr.RequestId)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefSlice[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
