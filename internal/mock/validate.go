package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// Limits of the mock that the reference does not give.
const (
	maxBodyBytes       = 1 << 20
	maxNameFilterChars = 256
	maxTopicBytes      = 128
	maxTargetIDChars   = 128
	maxInstanceIDChars = 64
	maxPolicyNameChars = 128
	maxAppIDChars      = 36
	maxOffset          = 500
	defaultLimit       = 10
	topicPrefix        = "topic:"
	defaultMarker      = "ffffffffffffffffffffffff"
	idLength           = 24
)

// Error is an API error: the HTTP status and the body the mock answers
// with. The out-of-band helpers return it too.
type Error struct {
	// Status is the HTTP status, e.g. 400.
	Status int
	// Code is the error_code, e.g. "IOTDA.000006".
	Code string
	// Msg is the error_msg.
	Msg string
}

// Error renders the status, code and message.
func (e *Error) Error() string {
	return fmt.Sprintf("iotda mock: %d %s: %s", e.Status, e.Code, e.Msg)
}

func invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeInvalidInput, Msg: "Invalid input. " + fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeBadRequest, Msg: "Bad request. " + fmt.Sprintf(format, args...)}
}

func outOfRange(param string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codeOutOfRange,
		Msg: fmt.Sprintf("Invalid input. The specified parameter '%s' is out of range.", param)}
}

// quote quotes a value for an error message, cut short so that a huge input
// does not make a huge answer.
func quote(s string) string {
	const maxQuoted = 64
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

// isName reports whether s is made of ASCII letters, digits, '_' and '-'.
func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '_' && s[i] != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isResourceChars reports whether s is made of the characters a resource
// may contain: ASCII letters, digits and /{}$=+#?*:._-.
func isResourceChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune("/{}$=+#?*:._-", rune(s[i])) {
			return false
		}
	}
	return true
}

// isID reports whether s is a record id: 24 lower-case hex digits.
func isID(s string) bool {
	if len(s) != idLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789abcdef", rune(s[i])) {
			return false
		}
	}
	return true
}

func validatePolicyName(name string) *Error {
	switch {
	case name == "":
		return invalid("policy_name is required.")
	case len(name) > maxPolicyNameChars:
		return invalid("policy_name %s is longer than %d characters.", quote(name), maxPolicyNameChars)
	case !isName(name):
		return invalid("policy_name %s contains a character other than letters, digits, underscores and hyphens.", quote(name))
	}
	return nil
}

func validateAppID(appID string) *Error {
	switch {
	case len(appID) > maxAppIDChars:
		return invalid("app_id %s is longer than %d characters.", quote(appID), maxAppIDChars)
	case !isName(appID):
		return invalid("app_id %s contains a character other than letters, digits, underscores and hyphens.", quote(appID))
	}
	return nil
}

func validateInstanceID(instanceID string) *Error {
	switch {
	case len(instanceID) > maxInstanceIDChars:
		return invalid("Instance-Id %s is longer than %d characters.", quote(instanceID), maxInstanceIDChars)
	case !isName(instanceID):
		return invalid("Instance-Id %s contains a character other than letters, digits, underscores and hyphens.", quote(instanceID))
	}
	return nil
}

func validateStatements(stmts []Statement) *Error {
	switch {
	case len(stmts) == 0:
		return invalid("statement is required: 1 to %d statements.", maxStatements)
	case len(stmts) > maxStatements:
		return invalid("statement has %d statements; at most %d are allowed.", len(stmts), maxStatements)
	}
	for i, st := range stmts {
		if err := validateStatement(fmt.Sprintf("statement[%d]", i), st); err != nil {
			return err
		}
	}
	encoded, err := json.Marshal(stmts)
	if err != nil {
		return invalid("statement cannot be encoded: %v.", err)
	}
	if len(encoded) > maxPolicyBytes {
		return invalid("statement is %d bytes when JSON-encoded; a policy allows at most %d bytes (10 KB).", len(encoded), maxPolicyBytes)
	}
	return nil
}

func validateStatement(field string, st Statement) *Error {
	if st.Effect != effectAllow && st.Effect != effectDeny {
		return invalid("%s.effect %s must be %s or %s.", field, quote(st.Effect), effectAllow, effectDeny)
	}
	if len(st.Actions) == 0 {
		return invalid("%s.actions must not be empty.", field)
	}
	for i, a := range st.Actions {
		if a != actionPublish && a != actionSubscribe {
			return invalid("%s.actions[%d] %s must be %s or %s.", field, i, quote(a), actionPublish, actionSubscribe)
		}
	}
	switch {
	case len(st.Resources) == 0:
		return invalid("%s.resources must have 1 to %d entries.", field, maxResources)
	case len(st.Resources) > maxResources:
		return invalid("%s.resources has %d entries; at most %d are allowed.", field, len(st.Resources), maxResources)
	}
	for i, r := range st.Resources {
		switch {
		case !strings.HasPrefix(r, topicPrefix):
			return invalid("%s.resources[%d] %s must start with %q.", field, i, quote(r), topicPrefix)
		case !isResourceChars(r):
			return invalid("%s.resources[%d] %s contains a character other than letters, digits and /{}$=+#?*:._-.", field, i, quote(r))
		case len(r) == len(topicPrefix) || len(r)-len(topicPrefix) > maxTopicBytes:
			return invalid("%s.resources[%d] %s must have a topic of 1 to %d bytes after %q.", field, i, quote(r), maxTopicBytes, topicPrefix)
		}
	}
	return nil
}

func validateCreate(req CreatePolicyRequest) *Error {
	if err := validatePolicyName(req.PolicyName); err != nil {
		return err
	}
	if err := validateAppID(req.AppID); err != nil {
		return err
	}
	return validateStatements(req.Statement)
}

// policyUpdate is a validated update: nil fields are left as they are.
type policyUpdate struct {
	name      *string
	statement []Statement
}

func validateUpdate(name *string, statement *[]Statement) (policyUpdate, *Error) {
	if name == nil && statement == nil {
		return policyUpdate{}, invalid("The request must change policy_name or statement.")
	}
	var u policyUpdate
	if name != nil {
		if err := validatePolicyName(*name); err != nil {
			return u, err
		}
		u.name = name
	}
	if statement != nil {
		if err := validateStatements(*statement); err != nil {
			return u, err
		}
		u.statement = *statement
	}
	return u, nil
}

func validateTargetType(targetType string) *Error {
	switch targetType {
	case targetTypeDevice, targetTypeProduct, targetTypeApp:
		return nil
	}
	return invalid("target_type %s must be %s, %s or %s.", quote(targetType),
		targetTypeDevice, targetTypeProduct, targetTypeApp)
}

// validateTargets checks a bind or unbind; maxIDs 0 means no limit.
func validateTargets(targetType string, ids []string, maxIDs int) *Error {
	if err := validateTargetType(targetType); err != nil {
		return err
	}
	switch {
	case len(ids) == 0:
		return invalid("target_ids must not be empty.")
	case maxIDs > 0 && len(ids) > maxIDs:
		return invalid("target_ids has %d ids; at most %d are allowed per call.", len(ids), maxIDs)
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		switch {
		case id == "" || len(id) > maxTargetIDChars:
			return invalid("target_ids[%d] %s must be 1 to %d characters long.", i, quote(id), maxTargetIDChars)
		case !isName(id):
			return invalid("target_ids[%d] %s contains a character other than letters, digits, underscores and hyphens.", i, quote(id))
		}
		if j, dup := seen[id]; dup {
			return invalid("target_ids[%d] %s repeats target_ids[%d].", i, quote(id), j)
		}
		seen[id] = i
	}
	return nil
}

// checkContentType requires a JSON media type on a request with a body.
func checkContentType(h http.Header) *Error {
	ct := h.Get("Content-Type")
	if ct == "" {
		return badRequest("A request with a body must have Content-Type application/json.")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return badRequest("Content-Type %s is not supported; use application/json.", quote(ct))
	}
	return nil
}

// decodeObject decodes a body that must be one JSON object into v.
func decodeObject(body []byte, v any) *Error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return badRequest("The request body is empty; a JSON object is required.")
	}
	if trimmed[0] != '{' {
		return badRequest("The request body must be a JSON object.")
	}
	err := json.Unmarshal(trimmed, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "the request body"
		}
		return badRequest("%s must be %s, not a JSON %s.", field, describeType(typeErr.Type), typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return badRequest("The request body is not valid JSON: %s (at byte %d).", syntaxErr.Error(), syntaxErr.Offset)
	}
	return badRequest("The request body is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	}
	return "a " + t.Kind().String()
}

func decodeCreate(body []byte) (CreatePolicyRequest, *Error) {
	var req CreatePolicyRequest
	if err := decodeObject(body, &req); err != nil {
		return req, err
	}
	return req, validateCreate(req)
}

func decodeUpdate(body []byte) (policyUpdate, *Error) {
	var wire struct {
		PolicyName *string      `json:"policy_name"`
		Statement  *[]Statement `json:"statement"`
	}
	if err := decodeObject(body, &wire); err != nil {
		return policyUpdate{}, err
	}
	return validateUpdate(wire.PolicyName, wire.Statement)
}

func decodeBind(body []byte) (BindRequest, *Error) {
	var req BindRequest
	if err := decodeObject(body, &req); err != nil {
		return req, err
	}
	return req, validateTargets(req.TargetType, req.TargetIDs, maxTargetsPerCall)
}

// pageQuery is a validated page request.
type pageQuery struct {
	limit  int
	offset int
	marker string
}

func defaultPage() pageQuery {
	return pageQuery{limit: defaultLimit, marker: defaultMarker}
}

func checkLimit(v int) *Error {
	if v < 1 || v > maxPageSize {
		return outOfRange("limit")
	}
	return nil
}

func checkOffset(v int) *Error {
	if v < 0 || v > maxOffset {
		return outOfRange("offset")
	}
	return nil
}

func checkMarker(v string) (string, *Error) {
	lower := strings.ToLower(v)
	if !isID(lower) {
		return "", outOfRange("marker")
	}
	return lower, nil
}

// targetsQuery is a validated list-targets request.
type targetsQuery struct {
	targetType string
	page       pageQuery
}

func decodeListTargets(body []byte) (targetsQuery, *Error) {
	q := targetsQuery{page: defaultPage()}
	if len(bytes.TrimSpace(body)) == 0 {
		return q, nil
	}
	var wire struct {
		TargetType string  `json:"target_type"`
		Limit      *int    `json:"limit"`
		Marker     *string `json:"marker"`
		Offset     *int    `json:"offset"`
	}
	if err := decodeObject(body, &wire); err != nil {
		return q, err
	}
	if wire.TargetType != "" {
		if err := validateTargetType(wire.TargetType); err != nil {
			return q, err
		}
		q.targetType = wire.TargetType
	}
	if wire.Limit != nil {
		if err := checkLimit(*wire.Limit); err != nil {
			return q, err
		}
		q.page.limit = *wire.Limit
	}
	if wire.Offset != nil {
		if err := checkOffset(*wire.Offset); err != nil {
			return q, err
		}
		q.page.offset = *wire.Offset
	}
	if wire.Marker != nil && *wire.Marker != "" {
		m, err := checkMarker(*wire.Marker)
		if err != nil {
			return q, err
		}
		q.page.marker = m
	}
	return q, nil
}

// policiesQuery is a validated ListDevicePolicies request.
type policiesQuery struct {
	appID      string
	policyName string
	page       pageQuery
}

func parseListQuery(rawQuery string) (policiesQuery, *Error) {
	q := policiesQuery{page: defaultPage()}
	values, err := signer.ParseQuery(rawQuery)
	if err != nil {
		return q, badRequest("The query string cannot be parsed: %s.", quote(rawQuery))
	}
	if v := values.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return q, outOfRange("limit")
		}
		if err := checkLimit(n); err != nil {
			return q, err
		}
		q.page.limit = n
	}
	if v := values.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return q, outOfRange("offset")
		}
		if err := checkOffset(n); err != nil {
			return q, err
		}
		q.page.offset = n
	}
	if v := values.Get("marker"); v != "" {
		m, err := checkMarker(v)
		if err != nil {
			return q, err
		}
		q.page.marker = m
	}
	if v := values.Get("app_id"); v != "" {
		if err := validateAppID(v); err != nil {
			return q, err
		}
		q.appID = v
	}
	if v := values.Get("policy_name"); v != "" {
		if n := len([]rune(v)); n > maxNameFilterChars {
			return q, invalid("policy_name %s is longer than %d characters.", quote(v), maxNameFilterChars)
		}
		q.policyName = v
	}
	return q, nil
}
