package mock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// stmtsJSON renders statements for a hand-written body.
func stmtsJSON(t testing.TB, stmts ...Statement) string {
	t.Helper()
	b, err := json.Marshal(stmts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func repeatStatements(n int, st Statement) []Statement {
	out := make([]Statement, n)
	for i := range out {
		out[i] = st
	}
	return out
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%03d", i)
	}
	return out
}

func TestValidation(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("target")
	valid := statement(effectAllow, "topic:a")
	topic128 := "topic:" + strings.Repeat("a", 128)
	big := make([]Statement, 10)
	for i := range big {
		big[i] = statement(effectAllow, repeatN(topic128, 10)...)
	}
	const (
		create = "create"
		update = "update"
		bind   = "bind"
		unbind = "unbind"
		lt     = "list-targets"
		list   = "list"
	)
	cases := []struct {
		name   string
		op     string
		body   any // string bodies are sent as they are
		query  string
		status int
		code   string
		parts  []string
	}{
		// Create.
		{"name missing", create, CreatePolicyRequest{Statement: []Statement{valid}}, "", 400, "IOTDA.000006", []string{"policy_name"}},
		{"name too long", create, CreatePolicyRequest{PolicyName: strings.Repeat("n", 129), Statement: []Statement{valid}}, "", 400, "IOTDA.000006", []string{"policy_name", "128"}},
		{"name 128", create, CreatePolicyRequest{PolicyName: strings.Repeat("n", 128), Statement: []Statement{valid}}, "", 201, "", nil},
		{"name with space", create, CreatePolicyRequest{PolicyName: "a b", Statement: []Statement{valid}}, "", 400, "IOTDA.000006", []string{`policy_name "a b"`}},
		{"name not ASCII", create, CreatePolicyRequest{PolicyName: "pölicy", Statement: []Statement{valid}}, "", 400, "IOTDA.000006", []string{"policy_name"}},
		{"app_id too long", create, CreatePolicyRequest{PolicyName: "x", AppID: strings.Repeat("a", 37), Statement: []Statement{valid}}, "", 400, "IOTDA.000006", []string{"app_id", "36"}},
		{"app_id 36", create, CreatePolicyRequest{PolicyName: "app36", AppID: strings.Repeat("a", 36), Statement: []Statement{valid}}, "", 201, "", nil},
		{"app_id bad char", create, CreatePolicyRequest{PolicyName: "x", AppID: "a.b", Statement: []Statement{valid}}, "", 400, "IOTDA.000006", []string{`app_id "a.b"`}},
		{"statement missing", create, `{"policy_name":"x"}`, "", 400, "IOTDA.000006", []string{"statement"}},
		{"statement empty", create, `{"policy_name":"x","statement":[]}`, "", 400, "IOTDA.000006", []string{"statement"}},
		{"11 statements", create, CreatePolicyRequest{PolicyName: "x", Statement: repeatStatements(11, valid)}, "", 400, "IOTDA.000006", []string{"statement", "10"}},
		{"10 statements", create, CreatePolicyRequest{PolicyName: "ten", Statement: repeatStatements(10, valid)}, "", 201, "", nil},
		{"effect lower case", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{valid, {Effect: "allow", Actions: valid.Actions, Resources: valid.Resources}}}, "", 400, "IOTDA.000006", []string{"statement[1].effect"}},
		{"effect missing", create, `{"policy_name":"x","statement":[{"actions":["iotda:devices:publish"],"resources":["topic:a"]}]}`, "", 400, "IOTDA.000006", []string{"statement[0].effect"}},
		{"statement null item", create, `{"policy_name":"x","statement":[null]}`, "", 400, "IOTDA.000006", []string{"statement[0].effect"}},
		{"actions empty", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{{Effect: "DENY", Resources: []string{"topic:a"}}}}, "", 400, "IOTDA.000006", []string{"statement[0].actions"}},
		{"actions doc artefact", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish\riotda:devices:subscribe"}, Resources: []string{"topic:a"}}}}, "", 400, "IOTDA.000006", []string{"statement[0].actions[0]"}},
		{"action unknown", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish", "iotda:devices:connect"}, Resources: []string{"topic:a"}}}}, "", 400, "IOTDA.000006", []string{"statement[0].actions[1]", "iotda:devices:connect"}},
		{"resources empty", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{statement("ALLOW")}}, "", 400, "IOTDA.000006", []string{"statement[0].resources"}},
		{"11 resources", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{statement("ALLOW", repeatN("topic:a", 11)...)}}, "", 400, "IOTDA.000006", []string{"statement[0].resources", "10"}},
		{"resource without topic", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{valid, statement("ALLOW", "/v1/a")}}, "", 400, "IOTDA.000006", []string{`statement[1].resources[0] "/v1/a"`, "topic:"}},
		{"resource bad char", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{valid, statement("ALLOW", "topic:a b")}}, "", 400, "IOTDA.000006",
			[]string{`Invalid input. statement[1].resources[0] "topic:a b" contains a character other than letters, digits and /{}$=+#?*:._-.`}},
		{"resource not ASCII", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{statement("ALLOW", "topic:ä")}}, "", 400, "IOTDA.000006", []string{"statement[0].resources[0]"}},
		{"resource empty topic", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{statement("ALLOW", "topic:")}}, "", 400, "IOTDA.000006", []string{"statement[0].resources[0]", "128"}},
		{"topic 129 bytes", create, CreatePolicyRequest{PolicyName: "x", Statement: []Statement{statement("ALLOW", topic128+"b")}}, "", 400, "IOTDA.000006", []string{"statement[0].resources[0]", "128"}},
		{"topic 128 bytes, every character", create, CreatePolicyRequest{PolicyName: "chars", Statement: []Statement{statement("ALLOW", topic128, "topic:/{}$=+#?*:._-AZaz09")}}, "", 201, "", nil},
		{"statements over 10 KB", create, CreatePolicyRequest{PolicyName: "x", Statement: big}, "", 400, "IOTDA.000006", []string{"statement", "10240"}},
		{"unknown fields ignored", create, `{"policy_name":"extra","statement":` + stmtsJSON(t, valid) + `,"description":"d","x":{"y":[1]}}` + "\n", "", 201, "", nil},
		// Decoding.
		{"malformed JSON", create, `{"policy_name":`, "", 400, "IOTDA.000008", nil},
		{"name of the wrong type", create, `{"policy_name":5,"statement":[]}`, "", 400, "IOTDA.000008", []string{"policy_name", "string"}},
		{"statement of the wrong type", create, `{"policy_name":"x","statement":{}}`, "", 400, "IOTDA.000008", []string{"statement", "array"}},
		{"actions of the wrong type", create, `{"policy_name":"x","statement":[{"effect":"ALLOW","actions":"iotda:devices:publish","resources":["topic:a"]}]}`, "", 400, "IOTDA.000008", []string{"actions"}},
		{"body is an array", create, `[]`, "", 400, "IOTDA.000008", []string{"object"}},
		{"body is null", create, `null`, "", 400, "IOTDA.000008", []string{"object"}},
		{"body empty", create, nil, "", 400, "IOTDA.000008", []string{"empty"}},
		{"trailing data", create, `{"policy_name":"x"} {}`, "", 400, "IOTDA.000008", nil},
		// Update.
		{"update empty", update, `{}`, "", 400, "IOTDA.000006", []string{"policy_name or statement"}},
		{"update nulls", update, `{"policy_name":null,"statement":null}`, "", 400, "IOTDA.000006", []string{"policy_name or statement"}},
		{"update empty name", update, `{"policy_name":""}`, "", 400, "IOTDA.000006", []string{"policy_name"}},
		{"update bad name", update, UpdatePolicyRequest{PolicyName: "a/b"}, "", 400, "IOTDA.000006", []string{"policy_name"}},
		{"update empty statement", update, `{"statement":[]}`, "", 400, "IOTDA.000006", []string{"statement"}},
		{"update 11 statements", update, UpdatePolicyRequest{Statement: repeatStatements(11, valid)}, "", 400, "IOTDA.000006", []string{"statement"}},
		{"update bad statement", update, UpdatePolicyRequest{Statement: []Statement{{Effect: "PERMIT"}}}, "", 400, "IOTDA.000006", []string{"statement[0].effect"}},
		{"update statement of the wrong type", update, `{"statement":"x"}`, "", 400, "IOTDA.000008", []string{"statement"}},
		{"update over 10 KB", update, UpdatePolicyRequest{Statement: big}, "", 400, "IOTDA.000006", []string{"10240"}},
		// Bind and unbind.
		{"bind bad type", bind, bindBody("group", "x"), "", 400, "IOTDA.000006", []string{`target_type "group"`}},
		{"bind type missing", bind, `{"target_ids":["x"]}`, "", 400, "IOTDA.000006", []string{"target_type"}},
		{"bind no ids", bind, `{"target_type":"device"}`, "", 400, "IOTDA.000006", []string{"target_ids"}},
		{"bind 21 ids", bind, bindBody("device", ids(21)...), "", 400, "IOTDA.000006", []string{"target_ids", "20"}},
		{"bind 20 ids", bind, bindBody("device", ids(20)...), "", 200, "", nil},
		{"bind bad id", bind, bindBody("device", "ok", "a b"), "", 400, "IOTDA.000006", []string{`target_ids[1] "a b"`}},
		{"bind empty id", bind, bindBody("device", ""), "", 400, "IOTDA.000006", []string{"target_ids[0]"}},
		{"bind long id", bind, bindBody("device", strings.Repeat("i", 129)), "", 400, "IOTDA.000006", []string{"target_ids[0]", "128"}},
		{"bind duplicate id", bind, bindBody("device", "a", "b", "a"), "", 400, "IOTDA.000006", []string{"target_ids[2]", "target_ids[0]"}},
		{"bind ids of the wrong type", bind, `{"target_type":"device","target_ids":"a"}`, "", 400, "IOTDA.000008", []string{"target_ids", "array"}},
		{"unbind bad type", unbind, bindBody("Device", "x"), "", 400, "IOTDA.000006", []string{"target_type"}},
		{"unbind 21 ids", unbind, bindBody("product", ids(21)...), "", 400, "IOTDA.000006", []string{"target_ids"}},
		{"unbind bad id", unbind, bindBody("product", "x.y"), "", 400, "IOTDA.000006", []string{"target_ids[0]"}},
		// List targets.
		{"targets bad type", lt, `{"target_type":"group"}`, "", 400, "IOTDA.000006", []string{"target_type"}},
		{"targets limit 0", lt, `{"limit":0}`, "", 400, "IOTDA.000017", []string{"The specified parameter 'limit' is out of range."}},
		{"targets limit 51", lt, `{"limit":51}`, "", 400, "IOTDA.000017", []string{"'limit'"}},
		{"targets limit 50", lt, `{"limit":50,"offset":500}`, "", 200, "", nil},
		{"targets offset -1", lt, `{"offset":-1}`, "", 400, "IOTDA.000017", []string{"'offset'"}},
		{"targets offset 501", lt, `{"offset":501}`, "", 400, "IOTDA.000017", []string{"'offset'"}},
		{"targets bad marker", lt, `{"marker":"xyz"}`, "", 400, "IOTDA.000017", []string{"'marker'"}},
		{"targets limit string", lt, `{"limit":"10"}`, "", 400, "IOTDA.000008", []string{"limit", "integer"}},
		{"targets limit fraction", lt, `{"limit":1.5}`, "", 400, "IOTDA.000008", []string{"limit"}},
		{"targets body not object", lt, `"x"`, "", 400, "IOTDA.000008", nil},
		// List policies.
		{"list limit 0", list, nil, "limit=0", 400, "IOTDA.000017", []string{"Invalid input. The specified parameter 'limit' is out of range."}},
		{"list limit 51", list, nil, "limit=51", 400, "IOTDA.000017", []string{"'limit'"}},
		{"list limit word", list, nil, "limit=ten", 400, "IOTDA.000017", []string{"'limit'"}},
		{"list offset -1", list, nil, "offset=-1", 400, "IOTDA.000017", []string{"'offset'"}},
		{"list offset 501", list, nil, "offset=501", 400, "IOTDA.000017", []string{"'offset'"}},
		{"list offset word", list, nil, "offset=x", 400, "IOTDA.000017", []string{"'offset'"}},
		{"list marker short", list, nil, "marker=abc", 400, "IOTDA.000017", []string{"'marker'"}},
		{"list marker not hex", list, nil, "marker=gggggggggggggggggggggggg", 400, "IOTDA.000017", []string{"'marker'"}},
		{"list bounds", list, nil, "limit=50&offset=500&marker=FFFFFFFFFFFFFFFFFFFFFFFF", 200, "", nil},
		{"list bad app_id", list, nil, "app_id=a.b", 400, "IOTDA.000006", []string{"app_id"}},
		{"list long name", list, nil, "policy_name=" + strings.Repeat("n", 257), 400, "IOTDA.000006", []string{"policy_name", "256"}},
		{"list broken query", list, nil, "limit=%zz", 400, "IOTDA.000008", []string{"query"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			switch tc.op {
			case create:
				r = c.do(http.MethodPost, "/device-policies", tc.body)
			case update:
				r = c.do(http.MethodPut, "/device-policies/"+p.PolicyID, tc.body)
			case bind, unbind, lt:
				r = c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/"+tc.op, tc.body)
			case list:
				r = c.do(http.MethodGet, "/device-policies?"+tc.query, nil)
			}
			if tc.code == "" {
				if r.status != tc.status {
					t.Fatalf("status = %d, want %d: %s", r.status, tc.status, r.body)
				}
				return
			}
			wantError(t, r, tc.status, tc.code, tc.parts...)
		})
	}
}

func repeatN(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestMediaTypeAndInstanceID(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	body := encodeBody(t, createRequest("m"))
	path := "/v5/iot/" + TestProjectID + "/device-policies"
	r := c.send(http.MethodPost, path, body, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") })
	wantError(t, r, http.StatusBadRequest, "IOTDA.000008", "Content-Type")
	r = c.send(http.MethodPost, path, body, func(r *http.Request) { r.Header.Del("Content-Type") })
	wantError(t, r, http.StatusBadRequest, "IOTDA.000008", "Content-Type")
	r = c.send(http.MethodPost, path, body, func(r *http.Request) { r.Header.Set("Content-Type", "application/json; charset=UTF-8") })
	decodeAs[Policy](t, r, http.StatusCreated)
	// GET and DELETE carry Content-Type too, as official clients send it.
	decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies", nil), http.StatusOK)

	for _, bad := range []string{"a b", "x/y", strings.Repeat("i", 65)} {
		c.instance = bad
		wantError(t, c.do(http.MethodGet, "/device-policies", nil), http.StatusBadRequest, "IOTDA.000006", "Instance-Id")
	}
}

func TestBodyTooLarge(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	body := []byte(`{"policy_name":"` + strings.Repeat("a", maxBodyBytes) + `"}`)
	wantError(t, c.send(http.MethodPost, "/v5/iot/"+TestProjectID+"/device-policies", body, nil), http.StatusBadRequest, "IOTDA.000008", "larger")
	if ts.Calls(OpCreate) != 1 {
		t.Errorf("calls = %d, want 1", ts.Calls(OpCreate))
	}
}

func TestQuote(t *testing.T) {
	long := strings.Repeat("x", 100)
	if got := quote(long); len(got) > 70 || !strings.HasSuffix(got, "...") {
		t.Errorf("quote of 100 bytes = %q", got)
	}
	if got := quote("a\x00b"); got != `"a\x00b"` {
		t.Errorf("quote = %s", got)
	}
}
