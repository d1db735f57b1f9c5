package mock

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// timeFormat is the API's time layout, yyyyMMdd'T'HHmmss'Z' in UTC.
const timeFormat = "20060102T150405Z"

// stateVersion is the version of the state file format.
const stateVersion = 1

// maxCounter bounds the id counter of a loaded state, far below the point
// where it would wrap around.
const maxCounter = 1 << 62

// target is what a policy can be bound to: a type and an id together.
type target struct {
	typ string
	id  string
}

// binding ties a target to a policy; recordID orders list-targets.
type binding struct {
	recordID string
	policyID string
}

// instance is the state of one IoTDA instance of a project.
type instance struct {
	policies map[string]*Policy
	// bindings holds, per target, the policies it is bound to (at most
	// maxPoliciesPerTarget of them).
	bindings map[target][]binding
}

func newInstance() *instance {
	return &instance{policies: map[string]*Policy{}, bindings: map[target][]binding{}}
}

// removePolicy deletes a policy and its bindings.
func (inst *instance) removePolicy(policyID string) {
	delete(inst.policies, policyID)
	for t, bs := range inst.bindings {
		bs = slices.DeleteFunc(bs, func(b binding) bool { return b.policyID == policyID })
		if len(bs) == 0 {
			delete(inst.bindings, t)
		} else {
			inst.bindings[t] = bs
		}
	}
}

// unbind deletes the binding of policyID to t; false when there is none.
func (inst *instance) unbind(t target, policyID string) bool {
	bs := inst.bindings[t]
	i := slices.IndexFunc(bs, func(b binding) bool { return b.policyID == policyID })
	if i < 0 {
		return false
	}
	if bs = slices.Delete(bs, i, i+1); len(bs) == 0 {
		delete(inst.bindings, t)
	} else {
		inst.bindings[t] = bs
	}
	return true
}

// store is everything the mock remembers. The Server's stMu guards it.
type store struct {
	// clock and counter make ids: clock never goes back, counter always
	// goes up.
	clock    uint32
	counter  uint64
	projects map[string]map[string]*instance
	// changes is the number of the last change a loaded state file held.
	changes uint64
}

func newStore() *store {
	return &store{projects: map[string]map[string]*instance{}}
}

// newID returns a fresh record id, greater than every id given before.
func (st *store) newID(now time.Time) string {
	sec := now.Unix()
	sec = max(sec, 0)
	sec = min(sec, math.MaxUint32)
	st.clock = max(st.clock, uint32(sec))
	st.counter++
	return fmt.Sprintf("%08x%016x", st.clock, st.counter)
}

// observeID makes sure ids given from now on are greater than id, which
// must be a valid id (see isID).
func (st *store) observeID(id string) {
	clock, _ := strconv.ParseUint(id[:8], 16, 32)
	counter, _ := strconv.ParseUint(id[8:], 16, 64)
	st.clock = max(st.clock, uint32(clock))
	st.counter = max(st.counter, counter)
}

// instance returns the state of an instance, or nil when it has none and
// create is false.
func (st *store) instance(projectID, instanceID string, create bool) *instance {
	insts := st.projects[projectID]
	if insts == nil {
		if !create {
			return nil
		}
		insts = map[string]*instance{}
		st.projects[projectID] = insts
	}
	inst := insts[instanceID]
	if inst == nil && create {
		inst = newInstance()
		insts[instanceID] = inst
	}
	return inst
}

// defaultAppID derives the id of an instance's default resource space: 28
// letters and digits, stable for a project and instance.
func defaultAppID(projectID, instanceID string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte("iotda-mock default resource space\x00" + projectID + "\x00" + instanceID))
	var b strings.Builder
	for _, c := range sum[:28] {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

func clonePolicy(p *Policy) Policy {
	c := *p
	c.Statement = cloneStatements(p.Statement)
	return c
}

func cloneStatements(stmts []Statement) []Statement {
	out := make([]Statement, len(stmts))
	for i, s := range stmts {
		out[i] = Statement{
			Effect:    s.Effect,
			Actions:   slices.Clone(s.Actions),
			Resources: slices.Clone(s.Resources),
		}
	}
	return out
}

// The state file format.
type (
	stateFile struct {
		Version int    `json:"version"`
		Clock   uint32 `json:"clock"`
		Counter uint64 `json:"counter"`
		// Changes is the number of the last change the file holds; the
		// log's records up to it are already in the file.
		Changes  uint64                 `json:"changes,omitempty"`
		Projects map[string]projectFile `json:"projects"`
	}
	projectFile struct {
		Instances map[string]instanceFile `json:"instances"`
	}
	instanceFile struct {
		Policies []Policy      `json:"policies"`
		Bindings []bindingFile `json:"bindings"`
	}
	bindingFile struct {
		RecordID   string `json:"record_id"`
		PolicyID   string `json:"policy_id"`
		TargetType string `json:"target_type"`
		TargetID   string `json:"target_id"`
	}
)

// encode renders the store, which holds the changes up to the given one,
// as the state file, in a stable order.
func (st *store) encode(changes uint64) ([]byte, error) {
	f := stateFile{Version: stateVersion, Clock: st.clock, Counter: st.counter, Changes: changes, Projects: map[string]projectFile{}}
	for pid, insts := range st.projects {
		pf := projectFile{Instances: map[string]instanceFile{}}
		for iid, inst := range insts {
			inf := instanceFile{Policies: []Policy{}, Bindings: []bindingFile{}}
			for _, p := range inst.policies {
				inf.Policies = append(inf.Policies, clonePolicy(p))
			}
			slices.SortFunc(inf.Policies, func(a, b Policy) int { return strings.Compare(a.PolicyID, b.PolicyID) })
			for t, bs := range inst.bindings {
				for _, b := range bs {
					inf.Bindings = append(inf.Bindings, bindingFile{RecordID: b.recordID, PolicyID: b.policyID, TargetType: t.typ, TargetID: t.id})
				}
			}
			slices.SortFunc(inf.Bindings, func(a, b bindingFile) int { return strings.Compare(a.RecordID, b.RecordID) })
			pf.Instances[iid] = inf
		}
		f.Projects[pid] = pf
	}
	return json.Marshal(f)
}

// decodeState parses and checks a state file against the API's rules.
func decodeState(data []byte) (*store, error) {
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parsing the state file: %w", err)
	}
	if f.Version != stateVersion {
		return nil, fmt.Errorf("state file version %d is not supported (want %d)", f.Version, stateVersion)
	}
	st := newStore()
	st.clock, st.counter, st.changes = f.Clock, f.Counter, f.Changes
	for pid, pf := range f.Projects {
		if pid == "" || !isName(pid) {
			return nil, fmt.Errorf("state file: project id %s is not valid", quote(pid))
		}
		for iid, inf := range pf.Instances {
			if err := validateInstanceID(iid); err != nil {
				return nil, fmt.Errorf("state file: %s", err.Msg)
			}
			inst, err := decodeInstance(st, inf)
			if err != nil {
				return nil, fmt.Errorf("state file: project %s, instance %s: %w", quote(pid), quote(iid), err)
			}
			if st.projects[pid] == nil {
				st.projects[pid] = map[string]*instance{}
			}
			st.projects[pid][iid] = inst
		}
	}
	if st.counter >= maxCounter {
		return nil, fmt.Errorf("state file: the id counter %d is too large to go on from", st.counter)
	}
	return st, nil
}

func decodeInstance(st *store, inf instanceFile) (*instance, error) {
	inst := newInstance()
	if len(inf.Policies) > maxPoliciesPerInstance {
		return nil, fmt.Errorf("%d policies; at most %d are allowed", len(inf.Policies), maxPoliciesPerInstance)
	}
	names := map[[2]string]bool{}
	for _, p := range inf.Policies {
		if !isID(p.PolicyID) {
			return nil, fmt.Errorf("policy id %s is not 24 lower-case hex digits", quote(p.PolicyID))
		}
		if inst.policies[p.PolicyID] != nil {
			return nil, fmt.Errorf("policy id %s appears twice", p.PolicyID)
		}
		if err := validateCreate(CreatePolicyRequest{PolicyName: p.PolicyName, AppID: p.AppID, Statement: p.Statement}); err != nil {
			return nil, fmt.Errorf("policy %s: %s", p.PolicyID, err.Msg)
		}
		if p.AppID == "" {
			return nil, fmt.Errorf("policy %s has no app_id", p.PolicyID)
		}
		key := [2]string{p.AppID, p.PolicyName}
		if names[key] {
			return nil, fmt.Errorf("policy name %s appears twice in resource space %s", quote(p.PolicyName), quote(p.AppID))
		}
		names[key] = true
		for _, ts := range []string{p.CreateTime, p.UpdateTime} {
			if _, err := time.Parse(timeFormat, ts); err != nil {
				return nil, fmt.Errorf("policy %s: time %s is not yyyyMMddTHHmmssZ", p.PolicyID, quote(ts))
			}
		}
		c := clonePolicy(&p)
		inst.policies[p.PolicyID] = &c
		st.observeID(p.PolicyID)
	}
	records := map[string]bool{}
	for _, b := range inf.Bindings {
		if !isID(b.RecordID) || records[b.RecordID] {
			return nil, fmt.Errorf("binding record id %s is not valid or appears twice", quote(b.RecordID))
		}
		records[b.RecordID] = true
		if inst.policies[b.PolicyID] == nil {
			return nil, fmt.Errorf("binding %s names policy %s, which does not exist", b.RecordID, quote(b.PolicyID))
		}
		if err := validateTargets(b.TargetType, []string{b.TargetID}, 0); err != nil {
			return nil, fmt.Errorf("binding %s: %s", b.RecordID, err.Msg)
		}
		t := target{typ: b.TargetType, id: b.TargetID}
		bs := inst.bindings[t]
		if slices.ContainsFunc(bs, func(x binding) bool { return x.policyID == b.PolicyID }) {
			return nil, fmt.Errorf("binding %s repeats an earlier binding", b.RecordID)
		}
		if len(bs) >= maxPoliciesPerTarget {
			return nil, fmt.Errorf("binding %s: target %s %s has more than %d policies", b.RecordID, b.TargetType, b.TargetID, maxPoliciesPerTarget)
		}
		inst.bindings[t] = append(bs, binding{recordID: b.RecordID, policyID: b.PolicyID})
		st.observeID(b.RecordID)
	}
	return inst, nil
}

// loadState reads the state file at path; a missing file is an empty store.
func loadState(path string) (*store, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return nil, fmt.Errorf("the directory of the state file %s does not exist", path)
		}
		return newStore(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the state file: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}
