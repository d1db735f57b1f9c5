package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

// The state log. With a state file FILE, each commit appends the changes it
// covers to FILE.log as JSON lines and syncs them: a few hundred bytes
// instead of the whole state. When the log has grown past the size of the
// state file (or at least minLogBytes), or after any failure, a commit
// writes the whole state to FILE instead and empties the log. At start the
// mock reads FILE, applies the records of FILE.log that FILE does not hold
// yet, and checks the result against the API's rules.

// minLogBytes is the log size below which the state file is not rewritten.
const minLogBytes = 1 << 20

// Operations of the log.
const (
	logPutPolicy    = "put_policy"
	logDeletePolicy = "delete_policy"
	logBind         = "bind"
	logUnbind       = "unbind"
)

// logRecord is one change: a policy as it is now, a deleted policy (and so
// its bindings), a binding made or a binding removed.
type logRecord struct {
	// V is the number of the change; the records of one change share it.
	V        uint64       `json:"v"`
	Op       string       `json:"op"`
	Project  string       `json:"project"`
	Instance string       `json:"instance"`
	Policy   *Policy      `json:"policy,omitempty"`
	PolicyID string       `json:"policy_id,omitempty"`
	Binding  *bindingFile `json:"binding,omitempty"`
}

func logPath(statePath string) string { return statePath + ".log" }

// record notes a change for the log; the caller holds the write lock.
func (s *Server) record(instanceID string, r logRecord) {
	if s.statePath == "" {
		return
	}
	r.Project, r.Instance = s.projectID, instanceID
	s.pending = append(s.pending, r)
}

// apply replays a record on a store loaded from the state file.
func (st *store) apply(r logRecord) error {
	inst := st.instance(r.Project, r.Instance, true)
	switch r.Op {
	case logPutPolicy:
		if r.Policy == nil || !isID(r.Policy.PolicyID) {
			return errors.New("put_policy without a valid policy")
		}
		p := clonePolicy(r.Policy)
		inst.policies[p.PolicyID] = &p
		st.observeID(p.PolicyID)
	case logDeletePolicy:
		if inst.policies[r.PolicyID] == nil {
			return fmt.Errorf("delete_policy of policy %s, which does not exist", quote(r.PolicyID))
		}
		inst.removePolicy(r.PolicyID)
	case logBind, logUnbind:
		b := r.Binding
		if b == nil {
			return fmt.Errorf("%s without a binding", r.Op)
		}
		t := target{typ: b.TargetType, id: b.TargetID}
		if r.Op == logUnbind {
			if !inst.unbind(t, b.PolicyID) {
				return fmt.Errorf("unbind of %s %s, which is not bound", b.TargetType, quote(b.TargetID))
			}
			return nil
		}
		bs := inst.bindings[t]
		if slices.ContainsFunc(bs, func(x binding) bool { return x.policyID == b.PolicyID }) || !isID(b.RecordID) {
			return fmt.Errorf("bind of %s %s: already bound, or record id %s not valid", b.TargetType, quote(b.TargetID), quote(b.RecordID))
		}
		inst.bindings[t] = append(bs, binding{recordID: b.RecordID, policyID: b.PolicyID})
		st.observeID(b.RecordID)
	default:
		return fmt.Errorf("unknown operation %s", quote(r.Op))
	}
	return nil
}

// loadDurable reads the state file and the log beside it, and checks the
// result against the API's rules. It returns the store and the number of
// the last change it holds.
func loadDurable(path string) (*store, uint64, error) {
	st, err := loadState(path)
	if err != nil {
		return nil, 0, err
	}
	last := st.changes
	data, err := os.ReadFile(logPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return st, last, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading the state log: %w", err)
	}
	replayed := false
	var prev uint64
	lines := bytes.Split(data, []byte("\n"))
	// The last element follows the last newline: empty, or a line cut short
	// whose change was never acknowledged.
	for n, line := range lines[:len(lines)-1] {
		var r logRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, 0, fmt.Errorf("%s, line %d: %w", logPath(path), n+1, err)
		}
		if r.V < prev {
			return nil, 0, fmt.Errorf("%s, line %d: change %d after change %d", logPath(path), n+1, r.V, prev)
		}
		prev = r.V
		if r.V <= st.changes {
			continue // already in the state file
		}
		if err := st.apply(r); err != nil {
			return nil, 0, fmt.Errorf("%s, line %d: %w", logPath(path), n+1, err)
		}
		last, replayed = r.V, true
	}
	if !replayed {
		return st, last, nil
	}
	// The replayed state obeys the same rules as a state file.
	encoded, err := st.encode(last)
	if err != nil {
		return nil, 0, err
	}
	checked, err := decodeState(encoded)
	if err != nil {
		return nil, 0, fmt.Errorf("%s with its log: %w", path, err)
	}
	return checked, last, nil
}
