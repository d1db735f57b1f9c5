package mock

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	policyIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)
	timePattern     = regexp.MustCompile(`^\d{8}T\d{6}Z$`)
)

func TestPolicyLifecycle(t *testing.T) {
	clock := time.Date(2023, 8, 10, 7, 5, 47, 0, time.UTC)
	ts := NewTestServer(t, Config{Now: func() time.Time { return clock }})
	c := newClient(t, ts)
	c.signTime = func() time.Time { return clock }

	req := createRequest("myPolicyAllow")
	created := decodeAs[Policy](t, c.do(http.MethodPost, "/device-policies", req), http.StatusCreated)
	if !policyIDPattern.MatchString(created.PolicyID) {
		t.Errorf("policy_id = %q, want 24 lower-case hex digits", created.PolicyID)
	}
	if created.AppID != ts.DefaultAppID("") || created.AppID == "" {
		t.Errorf("app_id = %q, want the default resource space %q", created.AppID, ts.DefaultAppID(""))
	}
	if created.CreateTime != "20230810T070547Z" || created.UpdateTime != created.CreateTime {
		t.Errorf("times = %q, %q, want 20230810T070547Z twice", created.CreateTime, created.UpdateTime)
	}
	if created.PolicyName != req.PolicyName || !slices.EqualFunc(created.Statement, req.Statement, statementsEqual) {
		t.Errorf("created = %+v, want the request's name and statement", created)
	}

	shown := decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+created.PolicyID, nil), http.StatusOK)
	if !policiesEqual(shown, created) {
		t.Errorf("show = %+v, want %+v", shown, created)
	}

	clock = clock.Add(90 * time.Minute)
	newStatements := []Statement{statement(effectDeny, "topic:a/*", "topic:b/?")}
	updated := decodeAs[Policy](t, c.do(http.MethodPut, "/device-policies/"+created.PolicyID,
		UpdatePolicyRequest{PolicyName: "renamed", Statement: newStatements}), http.StatusOK)
	if updated.PolicyName != "renamed" || !slices.EqualFunc(updated.Statement, newStatements, statementsEqual) ||
		updated.UpdateTime != "20230810T083547Z" || updated.CreateTime != created.CreateTime ||
		updated.AppID != created.AppID || updated.PolicyID != created.PolicyID {
		t.Errorf("updated = %+v", updated)
	}

	onlyName := decodeAs[Policy](t, c.do(http.MethodPut, "/device-policies/"+created.PolicyID,
		UpdatePolicyRequest{PolicyName: "again"}), http.StatusOK)
	if onlyName.PolicyName != "again" || !slices.EqualFunc(onlyName.Statement, newStatements, statementsEqual) {
		t.Errorf("name-only update = %+v, want the statements kept", onlyName)
	}

	del := c.do(http.MethodDelete, "/device-policies/"+created.PolicyID, nil)
	if del.status != http.StatusNoContent || len(del.body) != 0 || del.header.Get("X-Request-Id") == "" {
		t.Errorf("delete = %d %q (request id %q), want 204 with an empty body", del.status, del.body, del.header.Get("X-Request-Id"))
	}
	wantError(t, c.do(http.MethodGet, "/device-policies/"+created.PolicyID, nil), http.StatusNotFound, "IOTDA.015201", created.PolicyID)
	if _, ok := ts.Policy("", created.PolicyID); ok {
		t.Error("the policy is still there after delete")
	}
}

func statementsEqual(a, b Statement) bool {
	return a.Effect == b.Effect && slices.Equal(a.Actions, b.Actions) && slices.Equal(a.Resources, b.Resources)
}

func policiesEqual(a, b Policy) bool {
	return a.AppID == b.AppID && a.PolicyID == b.PolicyID && a.PolicyName == b.PolicyName &&
		a.CreateTime == b.CreateTime && a.UpdateTime == b.UpdateTime && slices.EqualFunc(a.Statement, b.Statement, statementsEqual)
}

func TestCreateWithAppID(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	req := createRequest("p")
	req.AppID = "jeQDJQZltU8iKgFFoW060F5SGZka"
	p := decodeAs[Policy](t, c.do(http.MethodPost, "/device-policies", req), http.StatusCreated)
	if p.AppID != req.AppID {
		t.Errorf("app_id = %q, want %q", p.AppID, req.AppID)
	}
	// The resource space cannot be changed: app_id in an update is ignored.
	u := decodeAs[Policy](t, c.do(http.MethodPut, "/device-policies/"+p.PolicyID,
		`{"policy_name":"q","app_id":"other"}`), http.StatusOK)
	if u.AppID != req.AppID || u.PolicyName != "q" {
		t.Errorf("after update app_id = %q, name %q", u.AppID, u.PolicyName)
	}
}

func TestDefaultAppIDStable(t *testing.T) {
	a, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"u"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.DefaultAppID("") != b.DefaultAppID("") || a.DefaultAppID("i1") != b.DefaultAppID("i1") {
		t.Error("default app ids differ between servers of the same project")
	}
	if a.DefaultAppID("") == a.DefaultAppID("i1") {
		t.Error("two instances share a default app id")
	}
	if id := a.DefaultAppID(""); len(id) != 28 || !isName(id) {
		t.Errorf("default app id %q is not 28 letters and digits", id)
	}
}

func TestIDsIncrease(t *testing.T) {
	// A clock that goes backwards must not make ids go backwards.
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ts := NewTestServer(t, Config{Tokens: []string{"tok"}, Now: func() time.Time { return clock }})
	var last string
	for i := range 5 {
		p := mustCreate(t, ts.Server, "", fmt.Sprintf("p%d", i))
		if p.PolicyID <= last {
			t.Fatalf("id %s is not above %s", p.PolicyID, last)
		}
		last = p.PolicyID
		clock = clock.Add(-time.Hour)
	}
}

func TestListPolicies(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)

	empty := c.do(http.MethodGet, "/device-policies", nil)
	if empty.status != http.StatusOK || !strings.Contains(string(empty.body), `"policies":[]`) || strings.Contains(string(empty.body), `"marker"`) {
		t.Errorf("empty list = %d %s, want policies [] and no marker", empty.status, empty.body)
	}

	alpha := c.mustCreate("alpha_one")
	beta := c.mustCreate("beta")
	req := createRequest("alpha_two")
	req.AppID = "space2"
	gamma := decodeAs[Policy](t, c.do(http.MethodPost, "/device-policies", req), http.StatusCreated)

	raw := c.do(http.MethodGet, "/device-policies", nil)
	if strings.Contains(string(raw.body), "statement") {
		t.Errorf("list items carry statements: %s", raw.body)
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{gamma.PolicyID, beta.PolicyID, alpha.PolicyID}},
		{"?app_id=space2", []string{gamma.PolicyID}},
		{"?app_id=" + ts.DefaultAppID(""), []string{beta.PolicyID, alpha.PolicyID}},
		{"?app_id=space", nil},
		{"?policy_name=alpha", []string{gamma.PolicyID, alpha.PolicyID}},
		{"?policy_name=beta", []string{beta.PolicyID}},
		{"?policy_name=ALPHA", nil},
		{"?policy_name=alpha&app_id=space2", []string{gamma.PolicyID}},
		{"?limit=&offset=&marker=", []string{gamma.PolicyID, beta.PolicyID, alpha.PolicyID}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			got := decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies"+tc.query, nil), http.StatusOK)
			var ids []string
			for _, p := range got.Policies {
				ids = append(ids, p.PolicyID)
				if p.AppID == "" || p.PolicyName == "" || !timePattern.MatchString(p.CreateTime) || !timePattern.MatchString(p.UpdateTime) {
					t.Errorf("incomplete item %+v", p)
				}
			}
			if !slices.Equal(ids, tc.want) || got.Page.Count != int64(len(tc.want)) {
				t.Errorf("ids = %v (count %d), want %v", ids, got.Page.Count, tc.want)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	for _, id := range []string{"0123456789abcdef01234567", "not-an-id", "X"} {
		for _, call := range []struct {
			method, suffix string
			body           any
		}{
			{http.MethodGet, "", nil},
			{http.MethodPut, "", UpdatePolicyRequest{PolicyName: "x"}},
			{http.MethodDelete, "", nil},
			{http.MethodPost, "/bind", bindBody("device", "d1")},
			{http.MethodPost, "/unbind", bindBody("device", "d1")},
			{http.MethodPost, "/list-targets", nil},
		} {
			t.Run(call.method+" "+id+call.suffix, func(t *testing.T) {
				wantError(t, c.do(call.method, "/device-policies/"+id+call.suffix, call.body), http.StatusNotFound, "IOTDA.015201", id)
			})
		}
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	paths := []string{
		"/", "/v5/iot", "/v5/iot/" + TestProjectID, "/v5/iot/" + TestProjectID + "/devices",
		"/v5/iot/" + TestProjectID + "/device-policies/",
		"/v5/iot/" + TestProjectID + "/device-policies/abc/rebind",
		"/v5/iot/" + TestProjectID + "/device-policies/abc/bind/x",
		"/v5/iot//device-policies", "/v3/iot/" + TestProjectID + "/device-policies",
	}
	for _, p := range paths {
		e := wantError(t, c.send(http.MethodGet, p, nil, nil), http.StatusNotFound, "APIGW.0101")
		if e.RequestID == "" {
			t.Errorf("%s: APIGW error without request_id", p)
		}
	}
	methods := []struct {
		method, path, allow string
	}{
		{http.MethodPut, "/device-policies", "GET, POST"},
		{http.MethodPatch, "/device-policies/abc", "DELETE, GET, PUT"},
		{http.MethodGet, "/device-policies/abc/bind", "POST"},
		{http.MethodDelete, "/device-policies/abc/list-targets", "POST"},
	}
	for _, m := range methods {
		r := c.do(m.method, m.path, nil)
		wantError(t, r, http.StatusMethodNotAllowed, "APIGW.0101", m.method)
		if got := r.header.Get("Allow"); got != m.allow {
			t.Errorf("%s %s: Allow = %q, want %q", m.method, m.path, got, m.allow)
		}
	}
	if n := ts.TotalCalls(); n != 0 {
		t.Errorf("unrouted requests counted: %d calls", n)
	}
}

func TestWrongProject(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	c.projectID = "ffffffffffffffffffffffffffffffff"
	wantError(t, c.do(http.MethodGet, "/device-policies", nil), http.StatusForbidden, "IOTDA.000003", "project")
	c.projectID = TestProjectID
	r := c.send(http.MethodGet, "/v5/iot/"+TestProjectID+"/device-policies", nil, func(r *http.Request) {
		r.Header.Set("X-Project-Id", "ffffffffffffffffffffffffffffffff")
	})
	wantError(t, r, http.StatusForbidden, "IOTDA.000003")
	if ts.Calls(OpList) != 2 {
		t.Errorf("calls = %d, want 2", ts.Calls(OpList))
	}
}

func TestQuota(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	for i := range maxPoliciesPerInstance {
		mustCreate(t, ts.Server, "", fmt.Sprintf("p%02d", i))
	}
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("p50")), http.StatusBadRequest, "IOTDA.015203", "upper limit (50)")
	if _, err := ts.CreatePolicy("", createRequest("p51")); err == nil {
		t.Error("out-of-band create beyond the quota succeeded")
	}
	list := decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies?limit=50", nil), http.StatusOK)
	if list.Page.Count != 50 || len(list.Policies) != 50 {
		t.Errorf("count = %d, items %d, want 50", list.Page.Count, len(list.Policies))
	}
	// Another instance has a quota of its own, and deleting makes room.
	c.instance = "inst-2"
	c.mustCreate("p50")
	c.instance = ""
	if err := ts.DeletePolicy("", list.Policies[0].PolicyID); err != nil {
		t.Fatal(err)
	}
	c.mustCreate("p50")
}

func TestDuplicateName(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	first := c.mustCreate("same")
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("same")), http.StatusBadRequest, "IOTDA.015202", `"same"`)
	// The default space given explicitly is the same space.
	req := createRequest("same")
	req.AppID = ts.DefaultAppID("")
	wantError(t, c.do(http.MethodPost, "/device-policies", req), http.StatusBadRequest, "IOTDA.015202")
	// Another resource space or instance may use the name.
	req.AppID = "space2"
	other := decodeAs[Policy](t, c.do(http.MethodPost, "/device-policies", req), http.StatusCreated)
	c.instance = "inst-2"
	c.mustCreate("same")
	c.instance = ""

	second := c.mustCreate("second")
	wantError(t, c.do(http.MethodPut, "/device-policies/"+second.PolicyID, UpdatePolicyRequest{PolicyName: "same"}),
		http.StatusBadRequest, "IOTDA.015202")
	decodeAs[Policy](t, c.do(http.MethodPut, "/device-policies/"+first.PolicyID, UpdatePolicyRequest{PolicyName: "same"}), http.StatusOK)
	decodeAs[Policy](t, c.do(http.MethodPut, "/device-policies/"+other.PolicyID, UpdatePolicyRequest{PolicyName: "second"}), http.StatusOK)
}

func TestBindUnbind(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("p")
	bind := func(body any) BindResult {
		t.Helper()
		return decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", body), http.StatusOK)
	}
	unbind := func(body any) BindResult {
		t.Helper()
		return decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/unbind", body), http.StatusOK)
	}

	raw := c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "d1", "d2"))
	if !strings.Contains(string(raw.body), `"failure_targets":[]`) {
		t.Errorf("bind answer %s lacks failure_targets []", raw.body)
	}
	res := decodeAs[BindResult](t, raw, http.StatusOK)
	if res.PolicyID != p.PolicyID || res.TargetType != "device" || !slices.Equal(res.SuccessTargets, []string{"d1", "d2"}) || len(res.FailureTargets) != 0 {
		t.Errorf("bind = %+v", res)
	}
	// Binding again is idempotent.
	if res := bind(bindBody("device", "d1")); !slices.Equal(res.SuccessTargets, []string{"d1"}) {
		t.Errorf("rebind = %+v", res)
	}
	bind(bindBody("product", "d1"))
	bind(bindBody("app", ts.DefaultAppID("")))
	if got := ts.Targets("", p.PolicyID, "device"); !slices.Equal(got, []string{"d1", "d2"}) {
		t.Errorf("device targets = %v", got)
	}
	if got := ts.Targets("", p.PolicyID, ""); len(got) != 4 {
		t.Errorf("all targets = %v, want 4", got)
	}

	res = unbind(bindBody("device", "d1", "never", "d2"))
	if !slices.Equal(res.SuccessTargets, []string{"d1", "d2"}) || len(res.FailureTargets) != 1 ||
		res.FailureTargets[0] != (TargetFailure{TargetID: "never", ErrorCode: "IOTDA.015207", ErrorMsg: "Invalid input. The target does not bind the device-policy."}) {
		t.Errorf("unbind = %+v", res)
	}
	// The product "d1" is another target than the device "d1".
	if got := ts.Targets("", p.PolicyID, "product"); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("product targets = %v", got)
	}
	res = unbind(bindBody("device", "d1"))
	if len(res.SuccessTargets) != 0 || len(res.FailureTargets) != 1 || res.FailureTargets[0].ErrorCode != "IOTDA.015207" {
		t.Errorf("second unbind = %+v", res)
	}
}

func TestTargetPolicyLimit(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	var ids []string
	for i := range maxPoliciesPerTarget + 1 {
		ids = append(ids, c.mustCreate(fmt.Sprintf("p%d", i)).PolicyID)
	}
	for _, id := range ids[:maxPoliciesPerTarget] {
		if _, err := ts.Bind("", id, "device", "full"); err != nil {
			t.Fatal(err)
		}
	}
	res := decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+ids[5]+"/bind", bindBody("device", "a", "full", "b")), http.StatusOK)
	want := TargetFailure{TargetID: "full", ErrorCode: "IOTDA.015204", ErrorMsg: "Operation not allowed. The number of policies bound to the target reaches the upper limit (5)."}
	if !slices.Equal(res.SuccessTargets, []string{"a", "b"}) || len(res.FailureTargets) != 1 || res.FailureTargets[0] != want {
		t.Errorf("bind = %+v", res)
	}
	// A policy the target already has binds again; a freed slot can be used.
	res = decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+ids[0]+"/bind", bindBody("device", "full")), http.StatusOK)
	if !slices.Equal(res.SuccessTargets, []string{"full"}) {
		t.Errorf("rebind at the limit = %+v", res)
	}
	if _, err := ts.Unbind("", ids[0], "device", "full"); err != nil {
		t.Fatal(err)
	}
	res = decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+ids[5]+"/bind", bindBody("device", "full")), http.StatusOK)
	if !slices.Equal(res.SuccessTargets, []string{"full"}) {
		t.Errorf("bind after unbind = %+v", res)
	}
}

func TestFailTarget(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("p")
	ts.FailTarget("device", "bad", "IOTDA.014000", "The device does not exist.")
	res := decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "ok", "bad")), http.StatusOK)
	want := TargetFailure{TargetID: "bad", ErrorCode: "IOTDA.014000", ErrorMsg: "The device does not exist."}
	if !slices.Equal(res.SuccessTargets, []string{"ok"}) || len(res.FailureTargets) != 1 || res.FailureTargets[0] != want {
		t.Errorf("bind = %+v", res)
	}
	// Only that type is affected, and the out-of-band Bind is not.
	res = decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("product", "bad")), http.StatusOK)
	if len(res.FailureTargets) != 0 {
		t.Errorf("product bind = %+v", res)
	}
	if r, err := ts.Bind("", p.PolicyID, "device", "bad"); err != nil || len(r.SuccessTargets) != 1 {
		t.Errorf("out-of-band bind = %+v, %v", r, err)
	}
	if _, err := ts.Unbind("", p.PolicyID, "device", "bad"); err != nil {
		t.Fatal(err)
	}
	ts.ClearTargetFailures()
	res = decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", "bad")), http.StatusOK)
	if !slices.Equal(res.SuccessTargets, []string{"bad"}) {
		t.Errorf("bind after clear = %+v", res)
	}
}

func TestDeleteUnbinds(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	var ids []string
	for i := range maxPoliciesPerTarget {
		p := c.mustCreate(fmt.Sprintf("p%d", i))
		ids = append(ids, p.PolicyID)
		if _, err := ts.Bind("", p.PolicyID, "device", "d1", "d2"); err != nil {
			t.Fatal(err)
		}
	}
	if r := c.do(http.MethodDelete, "/device-policies/"+ids[0], nil); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.status, r.body)
	}
	// d1 has a free slot again.
	extra := c.mustCreate("extra")
	res := decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+extra.PolicyID+"/bind", bindBody("device", "d1")), http.StatusOK)
	if len(res.FailureTargets) != 0 {
		t.Errorf("bind after delete = %+v", res)
	}
	if got := ts.Targets("", ids[0], ""); len(got) != 0 {
		t.Errorf("deleted policy still has targets %v", got)
	}
}

func TestListTargetsBodies(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("p")
	if _, err := ts.Bind("", p.PolicyID, "device", "d1", "d2"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Bind("", p.PolicyID, "product", "pr1"); err != nil {
		t.Fatal(err)
	}
	path := "/device-policies/" + p.PolicyID + "/list-targets"
	cases := []struct {
		name string
		body any
		want []Target
	}{
		{"empty body", nil, []Target{{TargetType: "product", TargetID: "pr1"}, {TargetType: "device", TargetID: "d2"}, {TargetType: "device", TargetID: "d1"}}},
		{"empty object", "{}", []Target{{TargetType: "product", TargetID: "pr1"}, {TargetType: "device", TargetID: "d2"}, {TargetType: "device", TargetID: "d1"}}},
		{"encoded empty filter", ListTargetsRequest{}, []Target{{TargetType: "product", TargetID: "pr1"}, {TargetType: "device", TargetID: "d2"}, {TargetType: "device", TargetID: "d1"}}},
		{"type filter", ListTargetsRequest{TargetType: "device"}, []Target{{TargetType: "device", TargetID: "d2"}, {TargetType: "device", TargetID: "d1"}}},
		{"app filter", ListTargetsRequest{TargetType: "app"}, []Target{}},
		{"limit", ListTargetsRequest{Limit: 1}, []Target{{TargetType: "product", TargetID: "pr1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(http.MethodPost, path, tc.body)
			got := decodeAs[ListTargetsResponse](t, r, http.StatusOK)
			if got.Targets == nil || !slices.Equal(got.Targets, tc.want) {
				t.Errorf("targets = %v, want %v (body %s)", got.Targets, tc.want, r.body)
			}
		})
	}
	// A client that sends no Content-Type with its empty body is fine too.
	r := c.send(http.MethodPost, "/v5/iot/"+TestProjectID+path, nil, func(r *http.Request) { r.Header.Del("Content-Type") })
	decodeAs[ListTargetsResponse](t, r, http.StatusOK)
}

func TestInstanceIsolation(t *testing.T) {
	ts := NewTestServer(t, Config{})
	def := newClient(t, ts)
	other := newClient(t, ts)
	other.instance = "b7c5e0f2-1a2b-4c3d-9e8f-0a1b2c3d4e5f"

	p := def.mustCreate("shared-name")
	q := other.mustCreate("shared-name")
	if q.AppID != ts.DefaultAppID(other.instance) || q.AppID == p.AppID {
		t.Errorf("app ids %q and %q, want each instance's default", p.AppID, q.AppID)
	}
	wantError(t, other.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusNotFound, "IOTDA.015201")
	wantError(t, def.do(http.MethodDelete, "/device-policies/"+q.PolicyID, nil), http.StatusNotFound, "IOTDA.015201")
	list := decodeAs[ListPoliciesResponse](t, other.do(http.MethodGet, "/device-policies", nil), http.StatusOK)
	if len(list.Policies) != 1 || list.Policies[0].PolicyID != q.PolicyID {
		t.Errorf("other instance lists %+v", list.Policies)
	}
	if got := ts.Policies(other.instance); len(got) != 1 || got[0].PolicyID != q.PolicyID {
		t.Errorf("Policies(other) = %+v", got)
	}
	// Bindings are per instance too: 5 bindings in one do not count in the other.
	for i := range maxPoliciesPerTarget {
		pol := mustCreate(t, ts.Server, "", fmt.Sprintf("x%d", i))
		if _, err := ts.Bind("", pol.PolicyID, "device", "dev"); err != nil {
			t.Fatal(err)
		}
	}
	res := decodeAs[BindResult](t, other.do(http.MethodPost, "/device-policies/"+q.PolicyID+"/bind", bindBody("device", "dev")), http.StatusOK)
	if len(res.FailureTargets) != 0 {
		t.Errorf("bind in the other instance = %+v", res)
	}
}

func TestOutOfBandHelpers(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := mustCreate(t, ts.Server, "", "oob")
	shown := decodeAs[Policy](t, c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil), http.StatusOK)
	if !policiesEqual(shown, p) {
		t.Errorf("API shows %+v, helper made %+v", shown, p)
	}
	u, err := ts.UpdatePolicy("", p.PolicyID, UpdatePolicyRequest{Statement: []Statement{statement("DENY", "topic:x")}})
	if err != nil || u.PolicyName != "oob" || u.Statement[0].Effect != "DENY" {
		t.Errorf("UpdatePolicy = %+v, %v", u, err)
	}
	if _, err := ts.UpdatePolicy("", p.PolicyID, UpdatePolicyRequest{}); !isCode(err, "IOTDA.000006") {
		t.Errorf("empty update error = %v", err)
	}
	if _, err := ts.UpdatePolicy("", "0123456789abcdef01234567", UpdatePolicyRequest{PolicyName: "x"}); !isCode(err, "IOTDA.015201") {
		t.Errorf("update of a missing policy error = %v", err)
	}
	if _, err := ts.CreatePolicy("", CreatePolicyRequest{PolicyName: "bad name"}); !isCode(err, "IOTDA.000006") {
		t.Errorf("invalid create error = %v", err)
	}
	if _, err := ts.CreatePolicy("bad instance", createRequest("x")); !isCode(err, "IOTDA.000006") {
		t.Errorf("invalid instance error = %v", err)
	}
	// Bind has no limit of 20 ids.
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprintf("dev%02d", i))
	}
	res, err := ts.Bind("", p.PolicyID, "device", many...)
	if err != nil || len(res.SuccessTargets) != 30 {
		t.Errorf("Bind 30 = %+v, %v", res, err)
	}
	if got := ts.Targets("", p.PolicyID, "device"); !slices.Equal(got, many) {
		t.Errorf("Targets = %v", got)
	}
	if _, err := ts.Bind("", p.PolicyID, "group", "x"); !isCode(err, "IOTDA.000006") {
		t.Errorf("bind of a bad type error = %v", err)
	}
	if _, err := ts.Unbind("", "0123456789abcdef01234567", "device", "x"); !isCode(err, "IOTDA.015201") {
		t.Errorf("unbind of a missing policy error = %v", err)
	}
	if res, err := ts.Unbind("", p.PolicyID, "device", many[:25]...); err != nil || len(res.SuccessTargets) != 25 {
		t.Errorf("Unbind 25 = %+v, %v", res, err)
	}
	// Returned values are copies.
	got, _ := ts.Policy("", p.PolicyID)
	got.Statement[0].Resources[0] = "changed"
	if again, _ := ts.Policy("", p.PolicyID); again.Statement[0].Resources[0] == "changed" {
		t.Error("Policy returned the stored statement, not a copy")
	}
	if err := ts.DeletePolicy("", p.PolicyID); err != nil {
		t.Fatal(err)
	}
	if err := ts.DeletePolicy("", p.PolicyID); !isCode(err, "IOTDA.015201") {
		t.Errorf("second delete error = %v", err)
	}
	if got := ts.Policies("nobody"); got == nil || len(got) != 0 {
		t.Errorf("Policies of an unknown instance = %#v, want empty", got)
	}
	if got := ts.Targets("nobody", "x", ""); got == nil || len(got) != 0 {
		t.Errorf("Targets of an unknown instance = %#v, want empty", got)
	}
	if ts.TotalCalls() != 1 {
		t.Errorf("helpers were counted: %d calls", ts.TotalCalls())
	}
}

func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code && e.Error() != ""
}

func TestResponseShapes(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("shape")
	r := c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"app_id", "create_time", "policy_id", "policy_name", "statement", "update_time"}; !slices.Equal(keys, want) {
		t.Errorf("policy fields = %v, want %v", keys, want)
	}
	lt := c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", nil)
	if !strings.Contains(string(lt.body), `"targets":[]`) || !strings.Contains(string(lt.body), `"count":0`) {
		t.Errorf("empty list-targets = %s", lt.body)
	}
}

// TestRouteTable checks the route table: each of the eight operations has
// one route, no two routes share a method and pattern, and a request to a
// route's path, with its parameters filled in, reaches that route with
// those parameters.
func TestRouteTable(t *testing.T) {
	seen := map[Operation]bool{}
	pairs := map[string]bool{}
	for _, rt := range routes {
		if seen[rt.op] {
			t.Errorf("%s has two routes", rt.op)
		}
		seen[rt.op] = true
		if key := rt.method + " " + rt.pattern; pairs[key] {
			t.Errorf("two routes for %s", key)
		} else {
			pairs[key] = true
		}
		path := strings.NewReplacer("{project_id}", "proj-1", "{policy_id}", "0123456789abcdef01234567").Replace(apiPrefix + rt.pattern)
		got := routeRequest(rt.method, path)
		if got.err != nil || got.op != rt.op {
			t.Errorf("%s %s routed to %+v, want %s", rt.method, path, got, rt.op)
			continue
		}
		if got.params["project_id"] != "proj-1" {
			t.Errorf("%s %s: project_id = %q", rt.method, path, got.params["project_id"])
		}
		if strings.Contains(rt.pattern, "{policy_id}") && got.params["policy_id"] != "0123456789abcdef01234567" {
			t.Errorf("%s %s: policy_id = %q", rt.method, path, got.params["policy_id"])
		}
	}
	for _, op := range []Operation{OpCreate, OpUpdate, OpShow, OpDelete, OpList, OpBind, OpUnbind, OpListTargets} {
		if !seen[op] {
			t.Errorf("%s has no route", op)
		}
	}
}
