package signer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	vectorAK   = "AccessKey"
	vectorSK   = "SecretKey"
	vectorDate = "20060102T150405Z"
)

func vectorRequest(t *testing.T, method, target string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "https://example.huaweicloud.com"+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderDate, vectorDate)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func signature(auth string) string {
	return auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
}

// TestVectors reproduces the five published signatures.
func TestVectors(t *testing.T) {
	postBody := []byte("{\"Name\":\"test\",\"Id\":1}\n")
	derived := Credentials{AccessKey: vectorAK, SecretKey: vectorSK, Algorithm: AlgorithmDerived, Region: "test-region-1", Service: "demo"}
	basic := Credentials{AccessKey: vectorAK, SecretKey: vectorSK}
	cases := []struct {
		name   string
		method string
		target string
		body   []byte
		creds  Credentials
		want   string
	}{
		{"basic 1", http.MethodGet, "/path?limit=1", nil, basic, "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"},
		{"basic 2", http.MethodPost, "/path?key=value", postBody, basic, "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"},
		{"derived 1", http.MethodGet, "/path?limit=1", nil, derived, "8fd3610508884bb19718317797c7378716a94bc740d97502e569322e366341cc"},
		{"derived 2", http.MethodPost, "/path?key=value", postBody, derived, "4112f88b92d82dd1e1b7dd142f1e99e4f1762c42ca8fe0968b3045120870a903"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := vectorRequest(t, tc.method, tc.target, tc.body)
			auth, err := Authorization(req, tc.body, tc.creds, []string{"x-sdk-date"})
			if err != nil {
				t.Fatal(err)
			}
			if got := signature(auth); got != tc.want {
				t.Errorf("signature = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSigningGuideVector(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet,
		"https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderDate, "20191115T033655Z")
	signed := []string{"content-type", "host", "x-sdk-date"}
	empty := sha256.Sum256(nil)
	canonical := CanonicalRequest(req, signed, hex.EncodeToString(empty[:]))
	sum := sha256.Sum256([]byte(canonical))
	if got, want := hex.EncodeToString(sum[:]), "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"; got != want {
		t.Errorf("sha256(canonical request) = %s, want %s\ncanonical request:\n%s", got, want, canonical)
	}
	auth, err := Authorization(req, nil, Credentials{AccessKey: "QTWAOYTTINDUT2QVKYUC", SecretKey: "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"}, signed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := signature(auth), "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestEscape(t *testing.T) {
	cases := map[string]string{
		"abcXYZ019_-~.": "abcXYZ019_-~.",
		"a b":           "a%20b",
		"a/b":           "a%2Fb",
		"${x}":          "%24%7Bx%7D",
		"é":             "%C3%A9",
	}
	for in, want := range cases {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalURIEndsWithSlash(t *testing.T) {
	for path, want := range map[string]string{"/v5/iot/p/device-policies": "/v5/iot/p/device-policies/", "/": "/", "/a b/": "/a%20b/"} {
		req, _ := http.NewRequest(http.MethodGet, "https://h"+strings.ReplaceAll(path, " ", "%20"), nil)
		if got := canonicalURI(req.URL); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", path, got, want)
		}
	}
}

func newVerifier(now time.Time) Verifier {
	return Verifier{
		SecretKey: func(ak string) (string, bool) {
			if ak == vectorAK {
				return vectorSK, true
			}
			return "", false
		},
		Now: func() time.Time { return now },
	}
}

// TestSignVerifyRoundTrip signs with both algorithms and verifies, then
// tampers with each part of the request and expects a rejection.
func TestSignVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	body := []byte("{\"policy_name\":\"p\"}\n")
	for _, alg := range []string{AlgorithmBasic, AlgorithmDerived} {
		creds := Credentials{AccessKey: vectorAK, SecretKey: vectorSK, Algorithm: alg, Region: "cn-north-4"}
		newReq := func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/v5/iot/p1/device-policies?limit=50", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Project-Id", "p1")
			req.Header.Set("Instance-Id", "inst")
			if err := Sign(req, body, creds, now); err != nil {
				t.Fatal(err)
			}
			return req
		}
		v := newVerifier(now.Add(time.Minute))
		if ak, err := v.Verify(newReq(), body); err != nil || ak != vectorAK {
			t.Fatalf("%s: Verify = %q, %v; want success", alg, ak, err)
		}
		tamper := map[string]func(*http.Request) []byte{
			"body":   func(*http.Request) []byte { return []byte("{\"policy_name\":\"q\"}\n") },
			"query":  func(r *http.Request) []byte { r.URL.RawQuery = "limit=49"; return body },
			"path":   func(r *http.Request) []byte { r.URL.Path = "/v5/iot/p2/device-policies"; return body },
			"header": func(r *http.Request) []byte { r.Header.Set("Instance-Id", "other"); return body },
			"host":   func(r *http.Request) []byte { r.Host = "127.0.0.1:9090"; return body },
			"method": func(r *http.Request) []byte { r.Method = http.MethodPut; return body },
			"unknown ak": func(r *http.Request) []byte {
				r.Header.Set(HeaderAuthorization, strings.Replace(r.Header.Get(HeaderAuthorization), vectorAK, "OtherKey", 1))
				return body
			},
			"no auth": func(r *http.Request) []byte { r.Header.Del(HeaderAuthorization); return body },
			"garbage": func(r *http.Request) []byte { r.Header.Set(HeaderAuthorization, "Bearer x"); return body },
			"late date": func(r *http.Request) []byte {
				r.Header.Set(HeaderDate, now.Add(-20*time.Minute).Format(DateFormat))
				return body
			},
			"future date": func(r *http.Request) []byte {
				r.Header.Set(HeaderDate, now.Add(20*time.Minute).Format(DateFormat))
				return body
			},
		}
		for name, change := range tamper {
			req := newReq()
			b := change(req)
			if _, err := v.Verify(req, b); !errors.Is(err, ErrRejected) {
				t.Errorf("%s, tampered %s: Verify error = %v, want ErrRejected", alg, name, err)
			}
		}
	}
}

func TestVerifyWrongSecret(t *testing.T) {
	now := time.Now()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/v5/iot/p/device-policies", nil)
	if err := Sign(req, nil, Credentials{AccessKey: vectorAK, SecretKey: "wrong"}, now); err != nil {
		t.Fatal(err)
	}
	_, err := newVerifier(now).Verify(req, nil)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "signature does not match") {
		t.Fatalf("Verify error = %v, want a signature mismatch", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), vectorSK) {
		t.Fatalf("error %q reveals a secret", err)
	}
}

// TestVerifyAcceptsGuideStyleHeaders checks a request signed the way the
// signing guide demos do (content-type;host;x-sdk-date) is accepted.
func TestVerifyAcceptsGuideStyleHeaders(t *testing.T) {
	now := time.Now()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v5/iot/p/device-policies", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderDate, now.UTC().Format(DateFormat))
	auth, err := Authorization(req, nil, Credentials{AccessKey: vectorAK, SecretKey: vectorSK}, []string{"content-type", "host", "x-sdk-date"})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderAuthorization, auth)
	if _, err := newVerifier(now).Verify(req, nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerifyUsesContentSHA256Header(t *testing.T) {
	now := time.Now()
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/x", nil)
	req.Header.Set(HeaderContentSHA256, "UNSIGNED-PAYLOAD")
	if err := Sign(req, []byte("anything"), Credentials{AccessKey: vectorAK, SecretKey: vectorSK}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(now).Verify(req, []byte("something else")); err != nil {
		t.Fatalf("Verify with X-Sdk-Content-Sha256: %v", err)
	}
}

// TestVerifyContentSHA256 checks that the body is hashed as received and
// that X-Sdk-Content-Sha256 counts only when signed, and then only for
// UNSIGNED-PAYLOAD or the hash of the body received.
func TestVerifyContentSHA256(t *testing.T) {
	now := time.Now()
	sent := []byte("{\"target_type\":\"device\",\"target_ids\":[\"a\"]}\n")
	tampered := []byte("{\"target_type\":\"device\",\"target_ids\":[\"b\"]}\n")
	hashOf := func(b []byte) string { sum := sha256.Sum256(b); return hex.EncodeToString(sum[:]) }
	cases := []struct {
		name string
		// header is X-Sdk-Content-Sha256 ("" for none); signed says
		// whether it is set before signing (and so signed) or after.
		header   string
		signed   bool
		received []byte
		accept   bool
	}{
		{"no header, body as sent", "", false, sent, true},
		{"no header, tampered body", "", false, tampered, false},
		{"unsigned hash of the sent body, tampered body", hashOf(sent), false, tampered, false},
		{"unsigned hash of the tampered body, tampered body", hashOf(tampered), false, tampered, false},
		{"unsigned hash of the sent body, body as sent", hashOf(sent), false, sent, true},
		{"unsigned UNSIGNED-PAYLOAD, tampered body", UnsignedPayload, false, tampered, false},
		{"unsigned UNSIGNED-PAYLOAD, body as sent", UnsignedPayload, false, sent, true},
		{"signed hash of the sent body, body as sent", hashOf(sent), true, sent, true},
		{"signed hash of the sent body, tampered body", hashOf(sent), true, tampered, false},
		{"signed upper-case hash, body as sent", strings.ToUpper(hashOf(sent)), true, sent, false},
		{"signed garbage", "not-a-hash", true, sent, false},
		{"signed UNSIGNED-PAYLOAD, body as sent", UnsignedPayload, true, sent, true},
		{"signed UNSIGNED-PAYLOAD, other body", UnsignedPayload, true, tampered, true},
	}
	for _, alg := range []string{AlgorithmBasic, AlgorithmDerived} {
		creds := Credentials{AccessKey: vectorAK, SecretKey: vectorSK, Algorithm: alg, Region: "cn-north-4"}
		for _, tc := range cases {
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v5/iot/p/device-policies/x/bind", bytes.NewReader(tc.received))
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" && tc.signed {
				req.Header.Set(HeaderContentSHA256, tc.header)
			}
			if err := Sign(req, sent, creds, now); err != nil {
				t.Fatal(err)
			}
			if tc.header != "" && !tc.signed {
				req.Header.Set(HeaderContentSHA256, tc.header)
			}
			_, err := newVerifier(now).Verify(req, tc.received)
			switch {
			case tc.accept && err != nil:
				t.Errorf("%s, %s: Verify = %v, want success", alg, tc.name, err)
			case !tc.accept && !errors.Is(err, ErrRejected):
				t.Errorf("%s, %s: Verify error = %v, want ErrRejected", alg, tc.name, err)
			}
		}
	}
}

func TestParseQuery(t *testing.T) {
	cases := []struct {
		raw  string
		want url.Values
		err  bool
	}{
		{"", url.Values{}, false},
		{"limit=1&marker=ab", url.Values{"limit": {"1"}, "marker": {"ab"}}, false},
		{"policy_name=a;b", url.Values{"policy_name": {"a;b"}}, false},
		{"a;b=c&d", url.Values{"a;b": {"c"}, "d": {""}}, false},
		{"x=%3B+y&x=1&&", url.Values{"x": {"; y", "1"}}, false},
		{"x=%zz", nil, true},
		{"%=1", nil, true},
	}
	for _, tc := range cases {
		got, err := ParseQuery(tc.raw)
		if tc.err {
			if err == nil {
				t.Errorf("ParseQuery(%q) = %v, want an error", tc.raw, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseQuery(%q) = %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
}

// TestCanonicalQueryCoversParsedQuery checks that every parameter
// ParseQuery gives is in the canonical query, ";" included, and that a part
// ParseQuery refuses is still signed as it came.
func TestCanonicalQueryCoversParsedQuery(t *testing.T) {
	cases := map[string]string{
		"policy_name=a;b&limit=1": "limit=1&policy_name=a%3Bb",
		"b=2&a=1;c=3":             "a=1%3Bc%3D3&b=2",
		"x=%3B&x=%20":             "x=%20&x=%3B",
		"x=%zz":                   "x=%25zz",
	}
	for raw, want := range cases {
		u := &url.URL{RawQuery: raw}
		if got := canonicalQuery(u); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", raw, got, want)
		}
	}
	// A parameter added after signing, with or without ";", is refused.
	now := time.Now()
	for _, extra := range []string{"&policy_name=x", ";policy_name=x", "&a;b=c"} {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v5/iot/p/device-policies?limit=1", nil)
		if err := Sign(req, nil, Credentials{AccessKey: vectorAK, SecretKey: vectorSK}, now); err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery += extra
		if _, err := newVerifier(now).Verify(req, nil); !errors.Is(err, ErrRejected) {
			t.Errorf("query with %q added after signing: Verify error = %v, want ErrRejected", extra, err)
		}
	}
	// A query with ";" signed as sent is accepted.
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v5/iot/p/device-policies?policy_name=a;b", nil)
	if err := Sign(req, nil, Credentials{AccessKey: vectorAK, SecretKey: vectorSK}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(now).Verify(req, nil); err != nil {
		t.Errorf("query with ';' signed as sent: Verify = %v, want success", err)
	}
}

// FuzzVerify feeds arbitrary Authorization headers, dates,
// X-Sdk-Content-Sha256 values and bodies to the verifier: it must never
// panic and never accept a request it did not sign.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f.Add("SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, Signature=00", now.Format(DateFormat), "", []byte("{}"))
	f.Add("V11-HMAC-SHA256 Credential=AccessKey/20261123/r/iotdm, SignedHeaders=x-sdk-date, Signature=ab", now.Format(DateFormat), UnsignedPayload, []byte(""))
	f.Add("V11-HMAC-SHA256 Credential=AccessKey/, SignedHeaders=, Signature=", "2026", "", []byte("\n"))
	f.Add("SDK-HMAC-SHA256", "", "x", []byte(nil))
	f.Add("SDK-HMAC-SHA256 Access=AccessKey,SignedHeaders=b;a,Signature=1", now.Format(DateFormat), "", []byte("x"))
	f.Add("SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-content-sha256;x-sdk-date, Signature=00", now.Format(DateFormat), UnsignedPayload, []byte("{}"))
	v := newVerifier(now)
	f.Fuzz(func(t *testing.T, auth, date, contentSHA256 string, body []byte) {
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v5/iot/p/device-policies", bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set(HeaderAuthorization, auth)
		req.Header.Set(HeaderDate, date)
		if contentSHA256 != "" {
			req.Header.Set(HeaderContentSHA256, contentSHA256)
		}
		if _, err := v.Verify(req, body); err == nil {
			t.Fatalf("accepted a forged request: Authorization %q, date %q, %s %q", auth, date, HeaderContentSHA256, contentSHA256)
		}
	})
}

// FuzzVerifyBody signs a request, optionally with X-Sdk-Content-Sha256
// (signed, or added after signing), and verifies it over the body the
// fuzzer says was received: it must be accepted exactly when the body is
// the one signed or the signed header is UNSIGNED-PAYLOAD.
func FuzzVerifyBody(f *testing.F) {
	sent := []byte("{\"target_type\":\"device\",\"target_ids\":[\"a\"]}\n")
	sum := sha256.Sum256(sent)
	f.Add("", false, sent)
	f.Add(hex.EncodeToString(sum[:]), false, []byte("{}"))
	f.Add(hex.EncodeToString(sum[:]), true, []byte("{}"))
	f.Add(UnsignedPayload, true, []byte("{}"))
	f.Add(UnsignedPayload, false, []byte("{}"))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	v := newVerifier(now)
	f.Fuzz(func(t *testing.T, header string, signed bool, received []byte) {
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v5/iot/p/device-policies/x/bind", bytes.NewReader(received))
		if err != nil {
			t.Skip()
		}
		if header != "" && signed {
			req.Header.Set(HeaderContentSHA256, header)
		}
		if err := Sign(req, sent, Credentials{AccessKey: vectorAK, SecretKey: vectorSK}, now); err != nil {
			t.Fatal(err)
		}
		if header != "" && !signed {
			req.Header.Set(HeaderContentSHA256, header)
		}
		onWire := req.Header.Get(HeaderContentSHA256)
		sameBody := bytes.Equal(received, sent)
		var want bool
		switch {
		case header == "" || !signed:
			want = sameBody
		case onWire == UnsignedPayload:
			want = true
		case onWire == hex.EncodeToString(sum[:]):
			want = sameBody
		default:
			want = false
		}
		_, err = v.Verify(req, received)
		if (err == nil) != want {
			t.Fatalf("header %q (signed %v), received %q: Verify = %v, want accepted %v", header, signed, received, err, want)
		}
	})
}
