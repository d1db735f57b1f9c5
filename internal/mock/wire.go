package mock

// The wire types of the API, written from the official IoTDA API pages (the
// device-policy operations and their data structures), not
// from the client's types: the mock decodes requests and encodes answers
// with these alone, so a misreading of the API in the client is not agreed
// with by the mock. The golden bodies of the API pages are decoded into
// them by the tests (see golden_test.go).

// Statement is one rule of a device policy.
type Statement struct {
	Effect    string   `json:"effect"`
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
}

// CreatePolicyRequest is the body of CreateDevicePolicy.
type CreatePolicyRequest struct {
	PolicyName string      `json:"policy_name"`
	AppID      string      `json:"app_id,omitempty"`
	Statement  []Statement `json:"statement"`
}

// UpdatePolicyRequest is the body of UpdateDevicePolicy: both fields are
// optional and there is no app_id.
type UpdatePolicyRequest struct {
	PolicyName string      `json:"policy_name,omitempty"`
	Statement  []Statement `json:"statement,omitempty"`
}

// Policy is the answer of create, update and show.
type Policy struct {
	AppID      string      `json:"app_id"`
	PolicyID   string      `json:"policy_id"`
	PolicyName string      `json:"policy_name"`
	Statement  []Statement `json:"statement"`
	CreateTime string      `json:"create_time"`
	UpdateTime string      `json:"update_time"`
}

// PolicyBase is a list item of ListDevicePolicies: no statement.
type PolicyBase struct {
	AppID      string `json:"app_id"`
	PolicyID   string `json:"policy_id"`
	PolicyName string `json:"policy_name"`
	CreateTime string `json:"create_time"`
	UpdateTime string `json:"update_time"`
}

// Page describes a page of a listing: count is the number of matching
// records, marker the id of the last record of the page.
type Page struct {
	Count  int64  `json:"count"`
	Marker string `json:"marker,omitempty"`
}

// ListPoliciesResponse is the answer of ListDevicePolicies.
type ListPoliciesResponse struct {
	Policies []PolicyBase `json:"policies"`
	Page     Page         `json:"page"`
}

// BindRequest is the body of BindDevicePolicy and UnbindDevicePolicy.
type BindRequest struct {
	TargetType string   `json:"target_type"`
	TargetIDs  []string `json:"target_ids"`
}

// TargetFailure is a target a bind or unbind could not handle.
type TargetFailure struct {
	TargetID  string `json:"target_id"`
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// BindResult is the answer of bind and unbind.
type BindResult struct {
	PolicyID       string          `json:"policy_id"`
	TargetType     string          `json:"target_type"`
	SuccessTargets []string        `json:"success_targets"`
	FailureTargets []TargetFailure `json:"failure_targets"`
}

// ListTargetsRequest is the body of ShowTargetsInDevicePolicy; every field
// is optional.
type ListTargetsRequest struct {
	TargetType string `json:"target_type,omitempty"`
	Limit      int    `json:"limit,omitempty"`
	Marker     string `json:"marker,omitempty"`
	Offset     int    `json:"offset,omitempty"`
}

// Target is an object a policy is bound to.
type Target struct {
	TargetType string `json:"target_type"`
	TargetID   string `json:"target_id"`
}

// ListTargetsResponse is the answer of ShowTargetsInDevicePolicy.
type ListTargetsResponse struct {
	Targets []Target `json:"targets"`
	Page    Page     `json:"page"`
}

// ErrorBody is the body of an error; the gateway's own errors add
// request_id.
type ErrorBody struct {
	ErrorCode string `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
	RequestID string `json:"request_id,omitempty"`
}

// Values of the reference.
const (
	effectAllow       = "ALLOW"
	effectDeny        = "DENY"
	actionPublish     = "iotda:devices:publish"
	actionSubscribe   = "iotda:devices:subscribe"
	targetTypeDevice  = "device"
	targetTypeProduct = "product"
	targetTypeApp     = "app"
)

// Error codes of the reference (section 3 and the bind and unbind pages).
const (
	codeInvalidInput       = "IOTDA.000006"
	codeBadRequest         = "IOTDA.000008"
	codeOutOfRange         = "IOTDA.000017"
	codeTargetPolicyLimit  = "IOTDA.015204"
	codeTargetNotBound     = "IOTDA.015207"
	codeAuthenticationFail = "APIGW.0301"
)

// Limits of the reference.
const (
	maxPoliciesPerInstance = 50
	maxPoliciesPerTarget   = 5
	maxTargetsPerCall      = 20
	maxPageSize            = 50
	maxStatements          = 10
	maxResources           = 10
	maxPolicyBytes         = 10 * 1024
)
