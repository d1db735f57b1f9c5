package iotda

// Statement is one rule of a device policy.
type Statement struct {
	Effect    string   `json:"effect"`
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
}

// Values of Statement.Effect.
const (
	EffectAllow = "ALLOW"
	EffectDeny  = "DENY"
)

// Values of Statement.Actions.
const (
	ActionPublish   = "iotda:devices:publish"
	ActionSubscribe = "iotda:devices:subscribe"
)

// Values of a binding's target type.
const (
	TargetTypeDevice  = "device"
	TargetTypeProduct = "product"
	TargetTypeApp     = "app"
)

// TargetTypes returns every target type, devices first, then products,
// then resource spaces.
func TargetTypes() []string { return []string{TargetTypeDevice, TargetTypeProduct, TargetTypeApp} }

// CreatePolicyRequest is the body of CreateDevicePolicy.
type CreatePolicyRequest struct {
	PolicyName string      `json:"policy_name"`
	AppID      string      `json:"app_id,omitempty"`
	Statement  []Statement `json:"statement"`
}

// UpdatePolicyRequest is the body of UpdateDevicePolicy. The resource space
// of a policy cannot be changed.
type UpdatePolicyRequest struct {
	PolicyName string      `json:"policy_name,omitempty"`
	Statement  []Statement `json:"statement,omitempty"`
}

// Policy is a device policy as the API returns it.
type Policy struct {
	AppID      string      `json:"app_id"`
	PolicyID   string      `json:"policy_id"`
	PolicyName string      `json:"policy_name"`
	Statement  []Statement `json:"statement"`
	CreateTime string      `json:"create_time"`
	UpdateTime string      `json:"update_time"`
}

// PolicySummary is a list item of ListDevicePolicies: a policy without its
// statements.
type PolicySummary struct {
	AppID      string `json:"app_id"`
	PolicyID   string `json:"policy_id"`
	PolicyName string `json:"policy_name"`
	CreateTime string `json:"create_time"`
	UpdateTime string `json:"update_time"`
}

// pageInfo describes one page of a listing. Count is the total number of
// matching records; Marker is the id of the last record of the page.
type pageInfo struct {
	Count  int64  `json:"count"`
	Marker string `json:"marker,omitempty"`
}

// listPoliciesResponse is the body of ListDevicePolicies.
type listPoliciesResponse struct {
	Policies []PolicySummary `json:"policies"`
	Page     pageInfo        `json:"page"`
}

// ListPoliciesFilter narrows ListDevicePolicies. Empty fields do not filter.
type ListPoliciesFilter struct {
	AppID      string
	PolicyName string
}

// bindRequest is the body of BindDevicePolicy and UnbindDevicePolicy.
type bindRequest struct {
	TargetType string   `json:"target_type"`
	TargetIDs  []string `json:"target_ids"`
}

// TargetFailure is one target that a bind or unbind call could not handle.
type TargetFailure struct {
	TargetID  string `json:"target_id"`
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// BindResult is the body of a 200 answer to bind or unbind: per-target
// outcomes, since the call as a whole succeeds even when targets fail.
type BindResult struct {
	PolicyID       string          `json:"policy_id"`
	TargetType     string          `json:"target_type"`
	SuccessTargets []string        `json:"success_targets"`
	FailureTargets []TargetFailure `json:"failure_targets"`
}

// listTargetsRequest is the body of ShowTargetsInDevicePolicy. Offset
// (0 to MaxOffset) skips records after the marker: the client uses it to
// fetch several pages from one marker at once.
type listTargetsRequest struct {
	TargetType string `json:"target_type,omitempty"`
	Limit      int    `json:"limit,omitempty"`
	Marker     string `json:"marker,omitempty"`
	Offset     int    `json:"offset,omitempty"`
}

// Target is one object a policy is bound to.
type Target struct {
	TargetType string `json:"target_type"`
	TargetID   string `json:"target_id"`
}

// listTargetsResponse is the body of ShowTargetsInDevicePolicy.
type listTargetsResponse struct {
	Targets []Target `json:"targets"`
	Page    pageInfo `json:"page"`
}

// errorBody is the JSON body of an API error. The API gateway adds
// request_id to its own errors.
type errorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
	RequestID string `json:"request_id,omitempty"`
}

// Documented error codes of per-target failures in bind and unbind answers.
const (
	CodeTargetPolicyLimit = "IOTDA.015204"
	codeTargetNotBound    = "IOTDA.015207"
)
