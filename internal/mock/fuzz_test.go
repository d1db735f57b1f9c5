package mock

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

const fuzzToken = "fuzz-token"

// fuzzServer is a fresh server with one policy, so that each input starts
// from the same state.
func fuzzServer(t *testing.T) (*Server, string) {
	s, err := New(Config{ProjectID: TestProjectID, Tokens: []string{fuzzToken}})
	if err != nil {
		t.Fatal(err)
	}
	p := mustCreate(t, s, "", "seed")
	if _, err := s.Bind("", p.PolicyID, "device", "d1", "d2"); err != nil {
		t.Fatal(err)
	}
	return s, p.PolicyID
}

// serve sends one request to s in memory.
func serve(s *Server, method, path, rawQuery string, header http.Header, body []byte) *httptest.ResponseRecorder {
	req := &http.Request{
		Method:        method,
		URL:           &url.URL{Path: path, RawQuery: rawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Host:          "127.0.0.1",
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// checkAnswer checks what every answer must be: no 5xx, a request id, a
// JSON error body on 4xx, and a state that still obeys the API's rules.
func checkAnswer(t *testing.T, s *Server, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if !requestIDPattern.MatchString(rec.Header().Get("X-Request-Id")) {
		t.Fatalf("X-Request-Id = %q", rec.Header().Get("X-Request-Id"))
	}
	switch {
	case rec.Code >= 400:
		var e ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.ErrorCode == "" || e.ErrorMsg == "" {
			t.Fatalf("status %d with body %q: not an error body (%v)", rec.Code, rec.Body, err)
		}
		if rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("error with Content-Type %q", rec.Header().Get("Content-Type"))
		}
	case rec.Code == http.StatusNoContent:
		if rec.Body.Len() != 0 {
			t.Fatalf("204 with a body %q", rec.Body)
		}
	default:
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d with invalid JSON %q", rec.Code, rec.Body)
		}
	}
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	if err := checkRules(s.st); err != nil {
		t.Fatalf("the state no longer obeys the rules: %v", err)
	}
}

// FuzzDecode sends arbitrary bodies and query strings to the operations
// that decode them.
func FuzzDecode(f *testing.F) {
	valid := `{"policy_name":"p","statement":[{"effect":"ALLOW","actions":["iotda:devices:publish"],"resources":["topic:a/${devices.deviceId}"]}]}` + "\n"
	seeds := []struct {
		op    uint8
		body  string
		query string
	}{
		{0, valid, ""},
		{0, `{"policy_name":"p","app_id":"a-b_c","statement":[{"effect":"DENY","actions":["iotda:devices:subscribe"],"resources":["topic:#","topic:+"]}]}`, ""},
		{0, `{"policy_name":"seed","statement":[{"effect":"ALLOW","actions":["iotda:devices:publish"],"resources":["topic:a"]}]}`, ""},
		{0, `{"policy_name":5}`, ""},
		{0, `{"statement":[null,{}]}`, ""},
		{0, `{"policy_name":"p","statement":[{"effect":"ALLOW","actions":["iotda:devices:publish\riotda:devices:subscribe"],"resources":["topic:a"]}]}`, ""},
		{0, `[]`, ""},
		{0, ``, ""},
		{0, "\xff\xfe", ""},
		{1, `{"policy_name":"q"}`, ""},
		{1, `{"statement":[{"effect":"DENY","actions":["iotda:devices:publish"],"resources":["topic:x y"]}]}`, ""},
		{1, `{}`, ""},
		{1, `{"policy_name":null,"statement":null}`, ""},
		{2, `{"target_type":"device","target_ids":["a","b"]}`, ""},
		{2, `{"target_type":"app","target_ids":["a","a"]}`, ""},
		{2, `{"target_type":"device","target_ids":"a"}`, ""},
		{3, `{"target_type":"device","target_ids":["d1","zz"]}`, ""},
		{4, ``, ""},
		{4, `{}`, ""},
		{4, `{"target_type":"device","limit":1,"offset":1,"marker":"FFFFFFFFFFFFFFFFFFFFFFFF"}`, ""},
		{4, `{"limit":1e99}`, ""},
		{4, `{"limit":-1}`, ""},
		{5, ``, "limit=10&offset=0&marker=ffffffffffffffffffffffff"},
		{5, ``, "policy_name=se&app_id=x"},
		{5, ``, "limit=99999999999999999999"},
		{5, ``, "limit=%zz"},
		{5, ``, "a;b"},
	}
	for _, s := range seeds {
		f.Add(s.op, []byte(s.body), s.query)
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte, query string) {
		s, policyID := fuzzServer(t)
		ops := []struct{ method, path string }{
			{http.MethodPost, ""},
			{http.MethodPut, "/" + policyID},
			{http.MethodPost, "/" + policyID + "/bind"},
			{http.MethodPost, "/" + policyID + "/unbind"},
			{http.MethodPost, "/" + policyID + "/list-targets"},
			{http.MethodGet, ""},
		}
		o := ops[int(op)%len(ops)]
		header := http.Header{"Content-Type": {"application/json"}, "X-Auth-Token": {fuzzToken}}
		rec := serve(s, o.method, "/v5/iot/"+TestProjectID+"/device-policies"+o.path, query, header, body)
		checkAnswer(t, s, rec)
	})
}

// FuzzRequest sends arbitrary methods, paths and headers: routing,
// authentication and the Instance-Id header must never fail the server.
func FuzzRequest(f *testing.F) {
	date := time.Now().UTC().Format("20060102T150405Z")
	f.Add("GET", "/v5/iot/"+TestProjectID+"/device-policies", fuzzToken, "", "", "", []byte(nil))
	f.Add("POST", "/v5/iot/"+TestProjectID+"/device-policies/x/bind", fuzzToken, "inst", "", "", []byte(`{}`))
	f.Add("DELETE", "/v5/iot/"+TestProjectID+"/device-policies/POLICY", fuzzToken, "", "", "", []byte(nil))
	f.Add("GET", "/v5/iot/other/device-policies/POLICY", fuzzToken, "", "", "", []byte(nil))
	f.Add("PATCH", "/v5/iot/"+TestProjectID+"/device-policies", "", "", "", "", []byte(nil))
	f.Add("GET", "/v5/iot/"+TestProjectID+"/device-policies", "", "", "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=00", date, []byte(nil))
	f.Add("GET", "/v5/iot/"+TestProjectID+"/device-policies", "", "", "V11-HMAC-SHA256 Credential=AK/20060102/r/iotdm, SignedHeaders=host;x-sdk-date, Signature=00", date, []byte(nil))
	f.Add("GET", "/v5/iot/"+TestProjectID+"/device-policies", "", "", "V11-HMAC-SHA256 Credential=AK, SignedHeaders=, Signature=", "2006", []byte(nil))
	f.Add("GET", "//v5//iot", "", "", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, token, instanceID, authorization, date string, body []byte) {
		s, policyID := fuzzServer(t)
		path = strings.ReplaceAll(path, "POLICY", policyID)
		header := http.Header{"Content-Type": {"application/json"}}
		for name, v := range map[string]string{"X-Auth-Token": token, "Instance-Id": instanceID, "Authorization": authorization, "X-Sdk-Date": date} {
			if v != "" {
				header.Set(name, v)
			}
		}
		rec := serve(s, method, path, "", header, body)
		checkAnswer(t, s, rec)
	})
}
