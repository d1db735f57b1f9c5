package mock

import (
	"slices"
	"strings"
	"time"
)

// Reads that lag behind writes (Config.ReadLag), as on a platform whose
// reads are served by replicas: ShowDevicePolicy, ListDevicePolicies and
// ShowTargetsInDevicePolicy see each instance as it was ReadLag ago, while
// writes act on the current state. The out-of-band helpers (Server.Policy
// and the others) always see the current state, so a test can tell what
// was really written from what a client was shown.

// pastState is an instance as it was until a change made at until; a nil
// inst means the instance did not exist yet.
type pastState struct {
	until time.Time
	inst  *instance
}

// changeInstance is change for a change of one instance: with a read lag,
// it keeps the instance as it was before the change, for lagged reads.
func (s *Server) changeInstance(instanceID string, f func() (changed bool, e *Error)) *Error {
	if s.readLag <= 0 {
		return s.change(f)
	}
	return s.change(func() (bool, *Error) {
		before := cloneInstance(s.st.instance(s.projectID, instanceID, false))
		changed, e := f()
		if changed {
			s.remember(instanceID, before)
		}
		return changed, e
	})
}

// remember records the state an instance had until now. States that no
// lagged read can see any more (replaced before now - readLag) are
// dropped, so the history holds only the changes of the last readLag.
// The caller holds stMu.
func (s *Server) remember(instanceID string, before *instance) {
	now := s.now()
	cutoff := now.Add(-s.readLag)
	past := s.history[instanceID]
	stale := 0
	for stale < len(past) && !past[stale].until.After(cutoff) {
		stale++
	}
	s.history[instanceID] = append(slices.Delete(past, 0, stale), pastState{until: now, inst: before})
}

// readView is the instance as a lagged read sees it: as it was readLag
// ago, that is before the first change made since then. The caller holds
// stMu for reading; the instance returned must not be modified.
func (s *Server) readView(instanceID string) *instance {
	current := s.st.instance(s.projectID, instanceID, false)
	if s.readLag <= 0 {
		return current
	}
	cutoff := s.now().Add(-s.readLag)
	for _, p := range s.history[instanceID] {
		if p.until.After(cutoff) {
			return p.inst
		}
	}
	return current
}

// cloneInstance copies an instance deeply; nil stays nil.
func cloneInstance(inst *instance) *instance {
	if inst == nil {
		return nil
	}
	c := newInstance()
	for id, p := range inst.policies {
		cp := clonePolicy(p)
		c.policies[id] = &cp
	}
	for t, bs := range inst.bindings {
		c.bindings[t] = slices.Clone(bs)
	}
	return c
}

// viewPolicy answers ShowDevicePolicy from the lagged view.
func (s *Server) viewPolicy(instanceID, policyID string) (Policy, *Error) {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	inst := s.readView(instanceID)
	if inst == nil || inst.policies[policyID] == nil {
		return Policy{}, policyNotFound(policyID)
	}
	return clonePolicy(inst.policies[policyID]), nil
}

// viewPolicies lists the policies of the lagged view, newest first.
func (s *Server) viewPolicies(instanceID string) []Policy {
	s.stMu.RLock()
	defer s.stMu.RUnlock()
	return sortedPolicies(s.readView(instanceID))
}

// sortedPolicies copies the policies of an instance, newest first.
func sortedPolicies(inst *instance) []Policy {
	out := []Policy{}
	if inst != nil {
		for _, p := range inst.policies {
			out = append(out, clonePolicy(p))
		}
	}
	slices.SortFunc(out, func(a, b Policy) int { return strings.Compare(b.PolicyID, a.PolicyID) })
	return out
}
