package sdk

import (
	"fmt"
	"strings"
	"testing"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iotda/v5/model"
)

// TestBadInput checks that input the reference rules out is answered 400
// with the documented codes, as the SDK reports it.
func TestBadInput(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, false)
	m := startMock(t, keys)
	c, _ := newClient(t, m, keys, clientOptions{})
	allow := []model.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:t"}}}
	created, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{PolicyName: "conformance-bad-input", Statement: allow}})
	if err != nil {
		t.Fatalf("CreateDevicePolicy: %v", err)
	}
	id := deref(created.PolicyId)

	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("conformance_dev-%02d", i)
	}
	zero, over := int32(0), int32(51)
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"create_effect", func() error {
			_, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{PolicyName: "conformance-x",
				Statement: []model.Statement{{Effect: "MAYBE", Actions: allow[0].Actions, Resources: allow[0].Resources}}}})
			return err
		}, "IOTDA.000006"},
		{"create_name", func() error {
			_, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{PolicyName: "has space", Statement: allow}})
			return err
		}, "IOTDA.000006"},
		{"create_documentation_action", func() error {
			_, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{PolicyName: "conformance-x",
				Statement: []model.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish\riotda:devices:subscribe"}, Resources: allow[0].Resources}}}})
			return err
		}, "IOTDA.000006"},
		{"create_resource_without_topic_prefix", func() error {
			_, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{PolicyName: "conformance-x",
				Statement: []model.Statement{{Effect: "ALLOW", Actions: allow[0].Actions, Resources: []string{"/v1/t"}}}}})
			return err
		}, "IOTDA.000006"},
		{"create_no_statement", func() error {
			_, err := c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{PolicyName: "conformance-x", Statement: []model.Statement{}}})
			return err
		}, "IOTDA.000006"},
		{"update_nothing", func() error {
			_, err := c.UpdateDevicePolicy(&model.UpdateDevicePolicyRequest{PolicyId: id, Body: &model.UpdateDevicePolicy{}})
			return err
		}, "IOTDA.000006"},
		{"bind_target_type", func() error {
			_, err := c.BindDevicePolicy(&model.BindDevicePolicyRequest{PolicyId: id, Body: &model.BindDevicePolicy{TargetType: "group", TargetIds: []string{"x"}}})
			return err
		}, "IOTDA.000006"},
		{"bind_21_targets", func() error {
			_, err := c.BindDevicePolicy(&model.BindDevicePolicyRequest{PolicyId: id, Body: &model.BindDevicePolicy{TargetType: "device", TargetIds: tooMany}})
			return err
		}, "IOTDA.000006"},
		{"unbind_no_targets", func() error {
			_, err := c.UnbindDevicePolicy(&model.UnbindDevicePolicyRequest{PolicyId: id, Body: &model.UnBindDevicePolicy{TargetType: "device", TargetIds: []string{}}})
			return err
		}, "IOTDA.000006"},
		{"list_limit_0", func() error {
			_, err := c.ListDevicePolicies(&model.ListDevicePoliciesRequest{Limit: &zero})
			return err
		}, "IOTDA.000017"},
		{"list_limit_51", func() error {
			_, err := c.ListDevicePolicies(&model.ListDevicePoliciesRequest{Limit: &over})
			return err
		}, "IOTDA.000017"},
		{"list_targets_limit_51", func() error {
			_, err := c.ShowTargetsInDevicePolicy(&model.ShowTargetsInDevicePolicyRequest{PolicyId: id,
				Body: &model.ShowTargetsInDevicePolicyRequestBody{Limit: &over}})
			return err
		}, "IOTDA.000017"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantServiceError(t, tc.name, tc.call(), 400, tc.code)
		})
	}

	// None of it changed the policy.
	shown, err := c.ShowDevicePolicy(&model.ShowDevicePolicyRequest{PolicyId: id})
	if err != nil {
		t.Fatalf("ShowDevicePolicy: %v", err)
	}
	checkPolicy(t, "ShowDevicePolicy after bad input", shown.PolicyName, shown.Statement, shown.CreateTime, shown.UpdateTime, "conformance-bad-input", allow)
}

// TestUnknownPolicy checks that every operation on a policy id that does
// not exist is answered 404.
func TestUnknownPolicy(t *testing.T) {
	t.Parallel()
	keys := newKeys(t, false)
	m := startMock(t, keys)
	c, _ := newClient(t, m, keys, clientOptions{})
	const id = "0123456789abcdef01234567"
	name := "conformance-unknown"
	statement := []model.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:t"}}}
	targets := []string{"conformance_dev-1"}
	calls := map[string]func() error{
		"show": func() error {
			_, err := c.ShowDevicePolicy(&model.ShowDevicePolicyRequest{PolicyId: id})
			return err
		},
		"update": func() error {
			_, err := c.UpdateDevicePolicy(&model.UpdateDevicePolicyRequest{PolicyId: id, Body: &model.UpdateDevicePolicy{PolicyName: &name, Statement: &statement}})
			return err
		},
		"delete": func() error {
			_, err := c.DeleteDevicePolicy(&model.DeleteDevicePolicyRequest{PolicyId: id})
			return err
		},
		"bind": func() error {
			_, err := c.BindDevicePolicy(&model.BindDevicePolicyRequest{PolicyId: id, Body: &model.BindDevicePolicy{TargetType: "device", TargetIds: targets}})
			return err
		},
		"unbind": func() error {
			_, err := c.UnbindDevicePolicy(&model.UnbindDevicePolicyRequest{PolicyId: id, Body: &model.UnBindDevicePolicy{TargetType: "device", TargetIds: targets}})
			return err
		},
		"list_targets": func() error {
			_, err := c.ShowTargetsInDevicePolicy(&model.ShowTargetsInDevicePolicyRequest{PolicyId: id})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantServiceError(t, name, call(), 404, "")
		})
	}
}

// TestAuthenticationFailures checks that a request the gateway cannot
// authenticate is answered 401 APIGW.0301, in both signing modes, and that
// a request for another project is refused.
func TestAuthenticationFailures(t *testing.T) {
	t.Parallel()
	permanent := newKeys(t, false)
	temporary := newKeys(t, true)
	mPermanent := startMock(t, permanent)
	mTemporary := startMock(t, temporary)

	wrongSecret := permanent
	wrongSecret.SecretKey = strings.ToUpper(permanent.SecretKey)
	unknownKey := permanent
	unknownKey.AccessKey = "CONFORMANCEUNKNOWNAK"
	noToken := temporary
	noToken.SecurityToken = ""
	wrongToken := temporary
	wrongToken.SecurityToken = temporary.SecurityToken + "x"
	otherProject := permanent
	otherProject.ProjectID = strings.Repeat("0", 32)

	cases := []struct {
		name   string
		mock   *mockProcess
		keys   mockKeys
		status int
		code   string
	}{
		{"wrong_secret_key", mPermanent, wrongSecret, 401, "APIGW.0301"},
		{"unknown_access_key", mPermanent, unknownKey, 401, "APIGW.0301"},
		{"temporary_key_without_token", mTemporary, noToken, 401, "APIGW.0301"},
		{"temporary_key_wrong_token", mTemporary, wrongToken, 401, "APIGW.0301"},
		{"other_project", mPermanent, otherProject, 403, ""},
	}
	for _, tc := range cases {
		for _, mode := range []struct {
			name    string
			derived bool
		}{{"basic", false}, {"derived", true}} {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				c, rec := newClient(t, tc.mock, tc.keys, clientOptions{Derived: mode.derived})
				_, err := c.ListDevicePolicies(&model.ListDevicePoliciesRequest{})
				wantServiceError(t, "ListDevicePolicies", err, tc.status, tc.code)
				_, err = c.CreateDevicePolicy(&model.CreateDevicePolicyRequest{Body: &model.CreateDevicePolicy{PolicyName: "conformance-refused",
					Statement: []model.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:t"}}}}})
				wantServiceError(t, "CreateDevicePolicy", err, tc.status, tc.code)
				if len(rec.all()) != 2 {
					t.Errorf("the SDK sent %d requests, want 2 (no retry)", len(rec.all()))
				}
			})
		}
	}

	// The refused create left nothing behind.
	c, _ := newClient(t, mPermanent, permanent, clientOptions{})
	listed, err := c.ListDevicePolicies(&model.ListDevicePoliciesRequest{})
	if err != nil {
		t.Fatalf("ListDevicePolicies: %v", err)
	}
	if n := len(derefSlice(listed.Policies)); n != 0 {
		t.Errorf("%d policies after refused creates, want 0", n)
	}
}
