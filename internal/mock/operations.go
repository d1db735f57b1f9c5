package mock

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Codes the mock chose itself (see the package documentation).
const (
	codePolicyNotFound = "IOTDA.015201"
	codeDuplicateName  = "IOTDA.015202"
	codePolicyQuota    = "IOTDA.015203"
	codeInternal       = "IOTDA.000500"
	codeBodyTimeout    = "IOTDA.000408"
	codeBodiesBusy     = "IOTDA.000503"
)

const (
	msgTargetPolicyLimit = "Operation not allowed. The number of policies bound to the target reaches the upper limit (5)."
	msgTargetNotBound    = "Invalid input. The target does not bind the device-policy."
)

func policyNotFound(policyID string) *Error {
	return &Error{Status: http.StatusNotFound, Code: codePolicyNotFound,
		Msg: fmt.Sprintf("Not found. The device-policy %s does not exist.", quote(policyID))}
}

// perform carries out a routed, authenticated request and returns the
// status and the body (an *Error, a value to encode, or nil for none).
func (s *Server) perform(rt routed, r *http.Request, body []byte) (int, any) {
	status, out, e := s.operate(rt, r, body)
	if e != nil {
		return e.Status, e
	}
	return status, out
}

// operate checks what every operation checks (the Instance-Id header, the
// media type of a JSON body) and runs the route's handler.
func (s *Server) operate(rt routed, r *http.Request, body []byte) (int, any, *Error) {
	instanceID := r.Header.Get(headerInstanceID)
	if e := validateInstanceID(instanceID); e != nil {
		return 0, nil, e
	}
	if len(body) > 0 && rt.jsonBody {
		if e := checkContentType(r.Header); e != nil {
			return 0, nil, e
		}
	}
	return rt.handle(s, request{instanceID: instanceID, params: rt.params, r: r, body: body})
}

// withBody decodes the body of req and, when it is valid, answers with
// status and what do returns.
func withBody[T, R any](req request, decode func([]byte) (T, *Error), status int, do func(T) (R, *Error)) (int, any, *Error) {
	v, e := decode(req.body)
	if e != nil {
		return 0, nil, e
	}
	res, e := do(v)
	return status, res, e
}

func (s *Server) handleCreate(req request) (int, any, *Error) {
	return withBody(req, decodeCreate, http.StatusCreated, func(c CreatePolicyRequest) (Policy, *Error) {
		return s.create(req.instanceID, c)
	})
}

func (s *Server) handleUpdate(req request) (int, any, *Error) {
	return withBody(req, decodeUpdate, http.StatusOK, func(u policyUpdate) (Policy, *Error) {
		return s.update(req.instanceID, req.params["policy_id"], u)
	})
}

func (s *Server) handleShow(req request) (int, any, *Error) {
	p, e := s.viewPolicy(req.instanceID, req.params["policy_id"])
	return http.StatusOK, p, e
}

func (s *Server) handleDelete(req request) (int, any, *Error) {
	return http.StatusNoContent, nil, s.remove(req.instanceID, req.params["policy_id"])
}

func (s *Server) handleList(req request) (int, any, *Error) {
	q, e := parseListQuery(req.r.URL.RawQuery)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, s.list(req.instanceID, q), nil
}

func (s *Server) handleBind(req request) (int, any, *Error) {
	return withBody(req, decodeBind, http.StatusOK, func(b BindRequest) (BindResult, *Error) {
		return s.bind(req.instanceID, req.params["policy_id"], b.TargetType, b.TargetIDs, true)
	})
}

func (s *Server) handleUnbind(req request) (int, any, *Error) {
	return withBody(req, decodeBind, http.StatusOK, func(b BindRequest) (BindResult, *Error) {
		return s.unbind(req.instanceID, req.params["policy_id"], b.TargetType, b.TargetIDs)
	})
}

func (s *Server) handleListTargets(req request) (int, any, *Error) {
	return withBody(req, decodeListTargets, http.StatusOK, func(q targetsQuery) (ListTargetsResponse, *Error) {
		return s.listTargets(req.instanceID, req.params["policy_id"], q)
	})
}

// policyLocked finds a policy of an instance.
func (s *Server) policyLocked(instanceID, policyID string) (*instance, *Policy, *Error) {
	inst := s.st.instance(s.projectID, instanceID, false)
	if inst == nil || inst.policies[policyID] == nil {
		return nil, nil, policyNotFound(policyID)
	}
	return inst, inst.policies[policyID], nil
}

func nameTaken(inst *instance, appID, name, except string) *Error {
	for id, p := range inst.policies {
		if id != except && p.AppID == appID && p.PolicyName == name {
			return &Error{Status: http.StatusBadRequest, Code: codeDuplicateName,
				Msg: fmt.Sprintf("Invalid input. A device-policy named %s already exists in resource space %s.", quote(name), quote(appID))}
		}
	}
	return nil
}

// create adds a validated policy.
func (s *Server) create(instanceID string, req CreatePolicyRequest) (Policy, *Error) {
	return s.putPolicy(instanceID, func() (*Policy, *Error) {
		appID := req.AppID
		if appID == "" {
			appID = defaultAppID(s.projectID, instanceID)
		}
		inst := s.st.instance(s.projectID, instanceID, true)
		if e := nameTaken(inst, appID, req.PolicyName, ""); e != nil {
			return nil, e
		}
		if len(inst.policies) >= maxPoliciesPerInstance {
			return nil, &Error{Status: http.StatusBadRequest, Code: codePolicyQuota,
				Msg: fmt.Sprintf("Operation not allowed. The number of device-policies in the instance reaches the upper limit (%d).", maxPoliciesPerInstance)}
		}
		now := s.now()
		ts := now.UTC().Format(timeFormat)
		p := &Policy{
			AppID:      appID,
			PolicyID:   s.st.newID(now),
			PolicyName: req.PolicyName,
			Statement:  cloneStatements(req.Statement),
			CreateTime: ts,
			UpdateTime: ts,
		}
		inst.policies[p.PolicyID] = p
		return p, nil
	})
}

// update changes a policy with a validated update.
func (s *Server) update(instanceID, policyID string, u policyUpdate) (Policy, *Error) {
	return s.putPolicy(instanceID, func() (*Policy, *Error) {
		inst, p, e := s.policyLocked(instanceID, policyID)
		if e != nil {
			return nil, e
		}
		if u.name != nil {
			if e := nameTaken(inst, p.AppID, *u.name, policyID); e != nil {
				return nil, e
			}
			p.PolicyName = *u.name
		}
		if u.statement != nil {
			p.Statement = cloneStatements(u.statement)
		}
		p.UpdateTime = s.now().UTC().Format(timeFormat)
		return p, nil
	})
}

// putPolicy runs f, which adds or changes a policy of the instance, and
// records and returns a copy of the policy f returns.
func (s *Server) putPolicy(instanceID string, f func() (*Policy, *Error)) (Policy, *Error) {
	var out Policy
	e := s.changeInstance(instanceID, func() (bool, *Error) {
		p, e := f()
		if e != nil {
			return false, e
		}
		out = clonePolicy(p)
		s.record(instanceID, logRecord{Op: logPutPolicy, Policy: &out})
		return true, nil
	})
	if e != nil {
		return Policy{}, e
	}
	return out, nil
}

// remove deletes a policy and its bindings.
func (s *Server) remove(instanceID, policyID string) *Error {
	return s.changeInstance(instanceID, func() (bool, *Error) {
		inst, _, e := s.policyLocked(instanceID, policyID)
		if e != nil {
			return false, e
		}
		inst.removePolicy(policyID)
		s.record(instanceID, logRecord{Op: logDeletePolicy, PolicyID: policyID})
		return true, nil
	})
}

// paginate pages records sorted newest (greatest id) first.
func paginate[T any](records []T, id func(T) string, q pageQuery) ([]T, Page) {
	page := Page{Count: int64(len(records))}
	// Records are newest first, their ids descending: the page starts at
	// the first one older than the marker, found by halving (a listing
	// of 100,000 bindings reads 2,000 pages).
	start, _ := slices.BinarySearchFunc(records, q.marker, func(rec T, marker string) int {
		if id(rec) < marker {
			return 1
		}
		return -1
	})
	start = min(start+q.offset, len(records))
	end := min(start+q.limit, len(records))
	out := records[start:end]
	if len(out) > 0 {
		page.Marker = id(out[len(out)-1])
	}
	return out, page
}

// list answers ListDevicePolicies.
func (s *Server) list(instanceID string, q policiesQuery) ListPoliciesResponse {
	all := s.viewPolicies(instanceID)
	matching := make([]PolicyBase, 0, len(all))
	for _, p := range all {
		if q.appID != "" && p.AppID != q.appID || q.policyName != "" && !strings.Contains(p.PolicyName, q.policyName) {
			continue
		}
		matching = append(matching, PolicyBase{AppID: p.AppID, PolicyID: p.PolicyID, PolicyName: p.PolicyName, CreateTime: p.CreateTime, UpdateTime: p.UpdateTime})
	}
	items, page := paginate(matching, func(p PolicyBase) string { return p.PolicyID }, q.page)
	return ListPoliciesResponse{Policies: items, Page: page}
}

func newBindResult(policyID, targetType string) BindResult {
	return BindResult{PolicyID: policyID, TargetType: targetType, SuccessTargets: []string{}, FailureTargets: []TargetFailure{}}
}

// bind binds validated targets, each with its own outcome. injected says
// whether failures set by FailTarget apply.
func (s *Server) bind(instanceID, policyID, targetType string, ids []string, injected bool) (BindResult, *Error) {
	var failures map[string]TargetFailure
	if injected {
		failures = s.injectedFailures(targetType, ids)
	}
	return s.changeBindings(instanceID, policyID, func(inst *instance) (BindResult, bool) {
		return s.bindLocked(instanceID, inst, policyID, targetType, ids, failures)
	})
}

// injectedFailures returns the failures FailTarget set for these targets.
func (s *Server) injectedFailures(targetType string, ids []string) map[string]TargetFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]TargetFailure{}
	for _, id := range ids {
		if f, ok := s.targetFailures[target{typ: targetType, id: id}]; ok {
			out[id] = f
		}
	}
	return out
}

func (s *Server) bindLocked(instanceID string, inst *instance, policyID, targetType string, ids []string, failures map[string]TargetFailure) (BindResult, bool) {
	res := newBindResult(policyID, targetType)
	changed := false
	for _, id := range ids {
		t := target{typ: targetType, id: id}
		if f, ok := failures[id]; ok {
			res.FailureTargets = append(res.FailureTargets, f)
			continue
		}
		bs := inst.bindings[t]
		switch {
		case slices.ContainsFunc(bs, func(b binding) bool { return b.policyID == policyID }):
			res.SuccessTargets = append(res.SuccessTargets, id)
		case len(bs) >= maxPoliciesPerTarget:
			res.FailureTargets = append(res.FailureTargets, TargetFailure{TargetID: id, ErrorCode: codeTargetPolicyLimit, ErrorMsg: msgTargetPolicyLimit})
		default:
			b := binding{recordID: s.st.newID(s.now()), policyID: policyID}
			inst.bindings[t] = append(bs, b)
			s.record(instanceID, logRecord{Op: logBind, Binding: &bindingFile{RecordID: b.recordID, PolicyID: policyID, TargetType: targetType, TargetID: id}})
			res.SuccessTargets = append(res.SuccessTargets, id)
			changed = true
		}
	}
	return res, changed
}

// unbind unbinds validated targets, each with its own outcome.
func (s *Server) unbind(instanceID, policyID, targetType string, ids []string) (BindResult, *Error) {
	return s.changeBindings(instanceID, policyID, func(inst *instance) (BindResult, bool) {
		return s.unbindLocked(instanceID, inst, policyID, targetType, ids)
	})
}

// changeBindings runs f, which changes the bindings of policyID and says
// whether it changed any, on the instance that holds the policy.
func (s *Server) changeBindings(instanceID, policyID string, f func(inst *instance) (BindResult, bool)) (BindResult, *Error) {
	var res BindResult
	e := s.changeInstance(instanceID, func() (bool, *Error) {
		inst, _, e := s.policyLocked(instanceID, policyID)
		if e != nil {
			return false, e
		}
		var changed bool
		res, changed = f(inst)
		return changed, nil
	})
	if e != nil {
		return BindResult{}, e
	}
	return res, nil
}

func (s *Server) unbindLocked(instanceID string, inst *instance, policyID, targetType string, ids []string) (BindResult, bool) {
	res := newBindResult(policyID, targetType)
	changed := false
	for _, id := range ids {
		if !inst.unbind(target{typ: targetType, id: id}, policyID) {
			res.FailureTargets = append(res.FailureTargets, TargetFailure{TargetID: id, ErrorCode: codeTargetNotBound, ErrorMsg: msgTargetNotBound})
			continue
		}
		s.record(instanceID, logRecord{Op: logUnbind, Binding: &bindingFile{PolicyID: policyID, TargetType: targetType, TargetID: id}})
		res.SuccessTargets = append(res.SuccessTargets, id)
		changed = true
	}
	return res, changed
}

// targetRecord is a binding of one policy, for listing.
type targetRecord struct {
	recordID string
	target   Target
}

// listTargets answers ShowTargetsInDevicePolicy.
func (s *Server) listTargets(instanceID, policyID string, q targetsQuery) (ListTargetsResponse, *Error) {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	inst := s.readView(instanceID)
	if inst == nil || inst.policies[policyID] == nil {
		return ListTargetsResponse{}, policyNotFound(policyID)
	}
	records := s.sortedBindings(inst, policyID, q.targetType)
	page, info := paginate(records, func(r targetRecord) string { return r.recordID }, q.page)
	res := ListTargetsResponse{Targets: make([]Target, 0, len(page)), Page: info}
	for _, r := range page {
		res.Targets = append(res.Targets, r.target)
	}
	return res, nil
}

// listingKey names one listing of a policy's bindings.
type listingKey struct {
	inst       *instance
	policyID   string
	targetType string
}

// sortedBindings is bindingsOf, kept until the state changes. The caller
// holds stMu for reading, so the version cannot change meanwhile; the
// records returned are shared and must not be modified.
func (s *Server) sortedBindings(inst *instance, policyID, targetType string) []targetRecord {
	s.listingsMu.Lock()
	defer s.listingsMu.Unlock()
	if s.listings == nil || s.listingsAt != s.version {
		s.listings, s.listingsAt = map[listingKey][]targetRecord{}, s.version
	}
	key := listingKey{inst: inst, policyID: policyID, targetType: targetType}
	records, ok := s.listings[key]
	if !ok {
		records = bindingsOf(inst, policyID, targetType)
		s.listings[key] = records
	}
	return records
}

// bindingsOf lists the bindings of a policy, newest first; an empty
// targetType means every type.
func bindingsOf(inst *instance, policyID, targetType string) []targetRecord {
	var records []targetRecord
	for t, bs := range inst.bindings {
		if targetType != "" && t.typ != targetType {
			continue
		}
		for _, b := range bs {
			if b.policyID == policyID {
				records = append(records, targetRecord{recordID: b.recordID, target: Target{TargetType: t.typ, TargetID: t.id}})
			}
		}
	}
	slices.SortFunc(records, func(a, b targetRecord) int { return strings.Compare(b.recordID, a.recordID) })
	return records
}
