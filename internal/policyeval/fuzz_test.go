package policyeval

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// refToken is one element of a pattern in the reference matcher: '*', '?'
// or 'l' for the literal character unit.
type refToken struct {
	kind byte
	unit string
}

// units splits s the way the matcher counts characters: one unit per UTF-8
// encoded code point, one per byte that is not valid UTF-8.
func units(s string) []string {
	var out []string
	for s != "" {
		_, n := utf8.DecodeRuneInString(s)
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// refMatch is the reference matcher: substitute the variables, then match
// by plain recursive backtracking. It is exponential in the number of "*"
// and only used on short inputs.
func refMatch(resource, topic string, id Identity) bool {
	rest, ok := strings.CutPrefix(resource, "topic:")
	if !ok {
		return false
	}
	var pat []refToken
	for rest != "" {
		if strings.HasPrefix(rest, "${") {
			if end := strings.Index(rest, "}"); end >= 0 {
				var value string
				switch rest[2:end] {
				case "devices.deviceId":
					value = id.DeviceID
				case "devices.productId":
					value = id.ProductID
				case "devices.clientId":
					value = id.ClientID
				default:
					return false
				}
				if value == "" {
					return false
				}
				for _, u := range units(value) {
					pat = append(pat, refToken{'l', u})
				}
				rest = rest[end+1:]
				continue
			}
		}
		u := units(rest)[0]
		switch u {
		case "*", "?":
			pat = append(pat, refToken{u[0], u})
		default:
			pat = append(pat, refToken{'l', u})
		}
		rest = rest[len(u):]
	}
	return refRec(pat, units(topic))
}

func refRec(pat []refToken, text []string) bool {
	if len(pat) == 0 {
		return len(text) == 0
	}
	switch pat[0].kind {
	case '*':
		for k := 1; k <= len(text); k++ {
			if refRec(pat[1:], text[k:]) {
				return true
			}
		}
		return false
	case '?':
		return len(text) > 0 && refRec(pat[1:], text[1:])
	default:
		return len(text) > 0 && text[0] == pat[0].unit && refRec(pat[1:], text[1:])
	}
}

func FuzzMatch(f *testing.F) {
	seeds := []struct{ resource, topic, device, product, client string }{
		{"topic:test/topic*/some", "test/topic1/pub/some", "", "", ""},
		{"topic:a/*", "a/", "", "", ""},
		{"topic:a/*", "a/b/c", "", "", ""},
		{"topic:*a*b", "xaaab", "", "", ""},
		{"topic:a?c", "ac", "", "", ""},
		{"topic:a?c", "abbc", "", "", ""},
		{"topic:a?c", "a\u00e9c", "", "", ""},
		{"topic:a?c", "a\xffc", "", "", ""},
		{"topic:/v1/+/up", "/v1/+/up", "", "", ""},
		{"topic:/v1/+/up", "/v1/dev1/up", "", "", ""},
		{"topic:/v1/#", "/v1/a/b", "", "", ""},
		{"topic:/v1/${devices.deviceId}/up", "/v1/dev1/up", "dev1", "", ""},
		{"topic:/p/${devices.productId}/*", "/p/prod1/x", "", "prod1", ""},
		{"topic:/c/${devices.clientId}", "/c/c1", "", "", "c1"},
		{"topic:/v1/${devices.deviceId}/up", "/v1//up", "", "p", ""},
		{"topic:/v1/${devices.deviceId}/up", "/v1/abc/up", "*", "", ""},
		{"topic:${devices.name}", "${devices.name}", "", "", ""},
		{"topic:/v1/${devices", "/v1/${devices", "", "", ""},
		{"topic:v1/up", "/v1/up", "", "", ""},
		{"/v1/up", "/v1/up", "", "", ""},
		{"topic:$oc/*", "$oc/devices/x/sys/messages/up", "", "", ""},
		{"topic:**", "x", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.resource, s.topic, s.device, s.product, s.client)
	}
	f.Fuzz(func(t *testing.T, resource, topic, device, product, client string) {
		id := Identity{DeviceID: device, ProductID: product, ClientID: client}
		got := matchResource(resource, topic, id)
		// Keep the exponential reference to inputs it finishes quickly.
		if len(resource) > 48 || len(topic) > 24 || strings.Count(resource, "*") > 6 ||
			len(device) > 8 || len(product) > 8 || len(client) > 8 {
			return
		}
		if want := refMatch(resource, topic, id); got != want {
			t.Fatalf("matchResource(%q, %q, %+v) = %v, reference says %v", resource, topic, id, got, want)
		}
		res, err := Evaluate([]Statement{allow(pub, resource)}, "publish", topic, id)
		switch {
		case topic == "" || strings.HasPrefix(topic, "topic:"):
			if err == nil {
				t.Fatalf("Evaluate on %q = %+v, want an error", topic, res)
			}
		case err != nil:
			t.Fatalf("Evaluate: %v", err)
		case strings.HasPrefix(topic, "$"):
			if res.Decision != DecisionNotGoverned || !res.Allowed || res.Matched != nil {
				t.Fatalf("Evaluate on %q = %+v, want NOT_GOVERNED", topic, res)
			}
		case res.Allowed != got || (res.Decision == DecisionAllow) != got || (len(res.Matched) == 1) != got:
			t.Fatalf("Evaluate on %q with %q = %+v, but matchResource = %v", topic, resource, res, got)
		}
	})
}

// inclusionPattern builds a pattern of at most maxTokens tokens from fuzz
// bytes, each picking an element of inclusionAlphabet.
func inclusionPattern(b []byte) string {
	const maxTokens = 4
	var s strings.Builder
	s.WriteString("topic:")
	for i, c := range b {
		if i == maxTokens {
			break
		}
		s.WriteString(inclusionAlphabet[int(c)%len(inclusionAlphabet)])
	}
	return s.String()
}

// FuzzInclusion checks the inclusion check against brute force: a positive
// answer must hold for every topic of up to seven characters over a, b and
// c and every identity of inclusionIdentities, and a negative answer for a
// variable-free q must come with a witness that q matches and no pattern of
// ps matches. An empty p2 means a single pattern p1.
func FuzzInclusion(f *testing.F) {
	// Bytes index inclusionAlphabet: 0 a, 1 b, 2 ?, 3 *, 4 deviceId, 5 productId, 6 unknown.
	seeds := []struct{ p1, p2, q []byte }{
		{[]byte{3}, nil, []byte{0, 1}},
		{[]byte{3, 3}, nil, []byte{3}},
		{[]byte{0, 3}, nil, []byte{3}},
		{[]byte{3}, nil, []byte{0, 2, 1}},
		{[]byte{2}, []byte{2, 3}, []byte{3}},
		{[]byte{2}, []byte{2, 2, 3}, []byte{3}},
		{[]byte{3, 0, 3}, nil, []byte{2, 0, 2}},
		{[]byte{3}, nil, []byte{4}},
		{[]byte{2}, nil, []byte{4}},
		{[]byte{4, 3}, nil, []byte{4, 2}},
		{[]byte{5, 3}, nil, []byte{4, 2}},
		{[]byte{4}, nil, []byte{0}},
		{[]byte{6}, nil, []byte{0}},
		{[]byte{3}, nil, []byte{6}},
		{[]byte{3, 2}, nil, []byte{2, 3}},
		{nil, nil, []byte{3}},
	}
	for _, s := range seeds {
		f.Add(s.p1, s.p2, s.q)
	}
	topics := topicsUpTo(7)
	f.Fuzz(func(t *testing.T, p1, p2, q []byte) {
		ps := []string{inclusionPattern(p1)}
		if len(p2) > 0 {
			ps = append(ps, inclusionPattern(p2))
		}
		checkInclusion(t, ps, inclusionPattern(q), topics)
	})
}
