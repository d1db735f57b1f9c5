package mock

import (
	"slices"
)

// The out-of-band helpers change or read the state as another user of the
// API would. instanceID "" is the default instance (no Instance-Id header).
// They apply the API's rules but are not calls: they are not counted, and
// faults and FailTarget do not affect them. Their errors are *Error values.

// CreatePolicy creates a policy as CreateDevicePolicy would.
func (s *Server) CreatePolicy(instanceID string, req CreatePolicyRequest) (Policy, error) {
	if e := validateInstanceID(instanceID); e != nil {
		return Policy{}, e
	}
	if e := validateCreate(req); e != nil {
		return Policy{}, e
	}
	p, e := s.create(instanceID, req)
	if e != nil {
		return Policy{}, e
	}
	return p, nil
}

// UpdatePolicy updates a policy as UpdateDevicePolicy would. As on the
// wire (where both fields are omitted when empty), an empty PolicyName or
// Statement leaves that field unchanged.
func (s *Server) UpdatePolicy(instanceID, policyID string, req UpdatePolicyRequest) (Policy, error) {
	var name *string
	if req.PolicyName != "" {
		name = &req.PolicyName
	}
	var statement *[]Statement
	if len(req.Statement) > 0 {
		statement = &req.Statement
	}
	u, e := validateUpdate(name, statement)
	if e != nil {
		return Policy{}, e
	}
	p, e := s.update(instanceID, policyID, u)
	if e != nil {
		return Policy{}, e
	}
	return p, nil
}

// DeletePolicy deletes a policy and its bindings as DeleteDevicePolicy
// would.
func (s *Server) DeletePolicy(instanceID, policyID string) error {
	if e := s.remove(instanceID, policyID); e != nil {
		return e
	}
	return nil
}

// Policy returns a policy, and false when the instance has none with that
// id.
func (s *Server) Policy(instanceID, policyID string) (Policy, bool) {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	_, p, e := s.policyLocked(instanceID, policyID)
	if e != nil {
		return Policy{}, false
	}
	return clonePolicy(p), true
}

// Policies returns every policy of an instance, newest first.
func (s *Server) Policies(instanceID string) []Policy {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	return sortedPolicies(s.st.instance(s.projectID, instanceID, false))
}

// Bind binds targets as BindDevicePolicy would, without its limit of 20 ids
// per call and without the failures set by FailTarget.
func (s *Server) Bind(instanceID, policyID, targetType string, ids ...string) (BindResult, error) {
	if e := validateInstanceID(instanceID); e != nil {
		return BindResult{}, e
	}
	if e := validateTargets(targetType, ids, 0); e != nil {
		return BindResult{}, e
	}
	res, e := s.bind(instanceID, policyID, targetType, ids, false)
	if e != nil {
		return BindResult{}, e
	}
	return res, nil
}

// Unbind unbinds targets as UnbindDevicePolicy would, without its limit of
// 20 ids per call.
func (s *Server) Unbind(instanceID, policyID, targetType string, ids ...string) (BindResult, error) {
	if e := validateInstanceID(instanceID); e != nil {
		return BindResult{}, e
	}
	if e := validateTargets(targetType, ids, 0); e != nil {
		return BindResult{}, e
	}
	res, e := s.unbind(instanceID, policyID, targetType, ids)
	if e != nil {
		return BindResult{}, e
	}
	return res, nil
}

// Targets returns the sorted ids of the targets of that type bound to a
// policy. An empty targetType means every type; an id bound as two types
// then appears twice.
func (s *Server) Targets(instanceID, policyID, targetType string) []string {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	ids := []string{}
	inst := s.st.instance(s.projectID, instanceID, false)
	if inst == nil {
		return ids
	}
	for _, r := range bindingsOf(inst, policyID, targetType) {
		ids = append(ids, r.target.TargetID)
	}
	slices.Sort(ids)
	return ids
}

// DefaultAppID returns the id of an instance's default resource space, the
// app_id of policies created without one.
func (s *Server) DefaultAppID(instanceID string) string {
	return defaultAppID(s.projectID, instanceID)
}
