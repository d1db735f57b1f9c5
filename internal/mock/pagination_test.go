package mock

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

func TestListPoliciesPagination(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	for i := range 23 {
		mustCreate(t, ts.Server, "", fmt.Sprintf("p%02d", i))
	}
	var want []string
	for _, p := range ts.Policies("") {
		want = append(want, p.PolicyID)
	}
	if !slices.IsSortedFunc(want, func(a, b string) int { return cmp.Compare(b, a) }) {
		t.Fatalf("Policies is not newest first: %v", want)
	}

	// Page through with the marker, as the reference says.
	var got []string
	query := "?limit=10"
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		res := decodeAs[ListPoliciesResponse](t, c.do(http.MethodGet, "/device-policies"+query, nil), http.StatusOK)
		if res.Page.Count != 23 {
			t.Errorf("page %d: count = %d, want 23", page, res.Page.Count)
		}
		for _, p := range res.Policies {
			got = append(got, p.PolicyID)
		}
		if len(res.Policies) > 0 && res.Page.Marker != res.Policies[len(res.Policies)-1].PolicyID {
			t.Errorf("page %d: marker %q is not the last id", page, res.Page.Marker)
		}
		if len(res.Policies) < 10 {
			break
		}
		query = "?limit=10&marker=" + res.Page.Marker
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged ids = %v, want %v", got, want)
	}

	cases := []struct {
		query      string
		from, to   int // want[from:to]
		wantMarker bool
	}{
		{"", 0, 10, true},
		{"?limit=50", 0, 23, true},
		{"?offset=5&limit=10", 5, 15, true},
		{"?offset=20", 20, 23, true},
		{"?offset=23", 23, 23, false},
		{"?offset=500", 23, 23, false},
		{"?marker=" + want[9] + "&offset=2&limit=5", 12, 17, true},
		{"?marker=" + want[22], 23, 23, false},
		{"?marker=000000000000000000000000", 23, 23, false},
		{"?marker=" + want[0], 1, 11, true},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			r := c.do(http.MethodGet, "/device-policies"+tc.query, nil)
			res := decodeAs[ListPoliciesResponse](t, r, http.StatusOK)
			var ids []string
			for _, p := range res.Policies {
				ids = append(ids, p.PolicyID)
			}
			if !slices.Equal(ids, want[tc.from:tc.to]) || res.Page.Count != 23 {
				t.Errorf("ids = %v (count %d), want %v", ids, res.Page.Count, want[tc.from:tc.to])
			}
			if (res.Page.Marker != "") != tc.wantMarker {
				t.Errorf("marker = %q", res.Page.Marker)
			}
			if res.Policies == nil {
				t.Errorf("policies is null: %s", r.body)
			}
		})
	}
}

func TestListTargetsPagination(t *testing.T) {
	ts := NewTestServer(t, Config{})
	c := newClient(t, ts)
	p := c.mustCreate("p")
	var devices []string
	for i := range 45 {
		devices = append(devices, fmt.Sprintf("dev-%02d", i))
	}
	// Bind in calls of at most 20, interleaving products.
	for start := 0; start < len(devices); start += 20 {
		end := min(start+20, len(devices))
		res := decodeAs[BindResult](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/bind", bindBody("device", devices[start:end]...)), http.StatusOK)
		if len(res.SuccessTargets) != end-start {
			t.Fatalf("bind = %+v", res)
		}
		if _, err := ts.Bind("", p.PolicyID, "product", fmt.Sprintf("prod-%d", start)); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Clone(devices)
	slices.Reverse(want) // newest binding first

	var got []string
	var body ListTargetsRequest
	body.TargetType = "device"
	body.Limit = 10
	for page := 0; ; page++ {
		if page > 6 {
			t.Fatal("paging does not end")
		}
		res := decodeAs[ListTargetsResponse](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets", body), http.StatusOK)
		if res.Page.Count != 45 {
			t.Errorf("page %d: count = %d, want 45", page, res.Page.Count)
		}
		for _, tg := range res.Targets {
			if tg.TargetType != "device" {
				t.Errorf("target %+v is not a device", tg)
			}
			got = append(got, tg.TargetID)
		}
		if len(res.Targets) > 0 && !isID(res.Page.Marker) {
			t.Errorf("page %d: marker %q is not a record id", page, res.Page.Marker)
		}
		if len(res.Targets) < 10 {
			break
		}
		body.Marker = res.Page.Marker
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged targets = %v, want %v", got, want)
	}

	all := decodeAs[ListTargetsResponse](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets",
		ListTargetsRequest{Limit: 50}), http.StatusOK)
	if all.Page.Count != 48 || len(all.Targets) != 48 || all.Targets[0] != (Target{TargetType: "product", TargetID: "prod-40"}) {
		t.Errorf("unfiltered: count %d, %d targets, first %+v", all.Page.Count, len(all.Targets), all.Targets[0])
	}
	off := decodeAs[ListTargetsResponse](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets",
		ListTargetsRequest{TargetType: "device", Offset: 40, Limit: 10}), http.StatusOK)
	var offIDs []string
	for _, tg := range off.Targets {
		offIDs = append(offIDs, tg.TargetID)
	}
	if !slices.Equal(offIDs, want[40:]) || off.Page.Count != 45 {
		t.Errorf("offset 40 = %v (count %d), want %v", offIDs, off.Page.Count, want[40:])
	}
	// A rebind keeps the original record, so the order does not change.
	if _, err := ts.Bind("", p.PolicyID, "device", devices[0]); err != nil {
		t.Fatal(err)
	}
	last := decodeAs[ListTargetsResponse](t, c.do(http.MethodPost, "/device-policies/"+p.PolicyID+"/list-targets",
		ListTargetsRequest{TargetType: "device", Offset: 44}), http.StatusOK)
	if len(last.Targets) != 1 || last.Targets[0].TargetID != devices[0] {
		t.Errorf("oldest binding after rebind = %+v", last.Targets)
	}
}
