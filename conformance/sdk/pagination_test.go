package sdk

import (
	"fmt"
	"slices"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iotda/v5/model"
)

// TestPagination reads policies and targets page by page the way the
// reference says to (limit, then marker = page.marker until a short page),
// and with offset, through the SDK.
func TestPagination(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, false)
	m := startMock(t, keys)
	c, _ := newClient(t, m, keys, clientOptions{})

	const policies = 23
	var ids []string
	for i := range policies {
		resp, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{
			PolicyName: fmt.Sprintf("conformance-page-%02d", i),
			Statement:  []model.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:t"}}},
		}})
		if err != nil {
			t.Fatalf("CreateDevicePolicy %d: %v", i, err)
		}
		ids = append(ids, deref(resp.PolicyId))
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)

	t.Run("policies_by_marker", func(t *testing.T) {
		var got []string
		limit := int32(10)
		var marker *string
		for page := 0; ; page++ {
			if page > policies {
				t.Fatalf("more than %d pages", policies)
			}
			resp, err := c.ListDevicePolicies(&model.ListDevicePoliciesRequest{Limit: &limit, Marker: marker})
			if err != nil {
				t.Fatalf("ListDevicePolicies page %d: %v", page, err)
			}
			items := derefSlice(resp.Policies)
			if resp.Page == nil || deref(resp.Page.Count) != policies {
				t.Errorf("page %d: page %v, want count %d (all matching records)", page, resp.Page, policies)
			}
			for _, p := range items {
				got = append(got, deref(p.PolicyId))
			}
			if len(items) < int(limit) {
				break
			}
			if resp.Page == nil || deref(resp.Page.Marker) != deref(items[len(items)-1].PolicyId) {
				t.Fatalf("page %d: marker %v, want the id of its last record", page, resp.Page)
			}
			marker = resp.Page.Marker
		}
		if !slices.Equal(got, newestFirst) {
			t.Errorf("pages gave %v, want every policy once, newest first: %v", got, newestFirst)
		}
	})

	t.Run("policies_by_offset", func(t *testing.T) {
		limit, offset := int32(5), int32(20)
		resp, err := c.ListDevicePolicies(&model.ListDevicePoliciesRequest{Limit: &limit, Offset: &offset})
		if err != nil {
			t.Fatalf("ListDevicePolicies: %v", err)
		}
		var got []string
		for _, p := range derefSlice(resp.Policies) {
			got = append(got, deref(p.PolicyId))
			if p.PolicyName == nil || p.CreateTime == nil || p.UpdateTime == nil || p.AppId == nil {
				t.Errorf("list item %v lacks a field of PolicyBase", p)
			}
		}
		if !slices.Equal(got, newestFirst[20:]) {
			t.Errorf("offset 20, limit 5: %v, want %v", got, newestFirst[20:])
		}
	})

	t.Run("targets", func(t *testing.T) {
		id := ids[0]
		var devices []string
		for i := range 45 {
			devices = append(devices, fmt.Sprintf("conformance_dev-%02d", i))
		}
		for start := 0; start < len(devices); start += 20 {
			batch := devices[start:min(start+20, len(devices))]
			if _, err := c.BindDevicePolicy(&model.BindDevicePolicyRequest{PolicyId: id,
				Body: &model.BindDevicePolicy{TargetType: "device", TargetIds: batch}}); err != nil {
				t.Fatalf("BindDevicePolicy: %v", err)
			}
		}
		var got []string
		limit := int32(20)
		var marker *string
		for page := 0; ; page++ {
			if page > len(devices) {
				t.Fatalf("more than %d pages", len(devices))
			}
			resp, err := c.ShowTargetsInDevicePolicy(&model.ShowTargetsInDevicePolicyRequest{PolicyId: id,
				Body: &model.ShowTargetsInDevicePolicyRequestBody{Limit: &limit, Marker: marker}})
			if err != nil {
				t.Fatalf("ShowTargetsInDevicePolicy page %d: %v", page, err)
			}
			if resp.Page == nil || deref(resp.Page.Count) != int64(len(devices)) {
				t.Errorf("page %d: page %v, want count %d", page, resp.Page, len(devices))
			}
			targets := derefSlice(resp.Targets)
			for _, tg := range targets {
				got = append(got, tg.TargetId)
			}
			if len(targets) < int(limit) {
				break
			}
			marker = resp.Page.Marker
		}
		// The order of targets bound in one call is not documented.
		if len(got) != len(devices) || !sameSet(got, devices) {
			t.Errorf("pages gave %v, want every device once: %v", got, devices)
		}
	})
}
