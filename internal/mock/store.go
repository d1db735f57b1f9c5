package mock

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// timeFormat is the API's time layout, yyyyMMdd'T'HHmmss'Z' in UTC.
const timeFormat = "20060102T150405Z"

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

// The state file is a bbolt database. Its buckets:
//
//	meta      format, file_id, generation (commits so far), ids (clock and counter)
//	policies  PROJECT/INSTANCE/POLICY_ID -> the policy as the API shows it (JSON)
//	bindings  PROJECT/INSTANCE/POLICY_ID -> a bucket of the policy's bindings:
//	          TARGET_TYPE/TARGET_ID -> the binding's record id
//
// A policy's bindings have a bucket of their own so that a commit rewrites
// only the pages on the path to that policy: with one bucket of all
// bindings, keyed by their whole path, a few thousand bindings made it
// three levels deep, and a bind to another policy rewrote four pages
// instead of two. None of the names in a key can hold a "/" (see
// validate.go). Every value ends with a CRC-32C of its whole key (a
// binding's begins with its bucket's key) and value: bbolt checks its own
// pages, not the data in them, and a flipped byte must not turn one target
// id into another unnoticed.
var (
	bucketMeta     = []byte("meta")
	bucketPolicies = []byte("policies")
	bucketBindings = []byte("bindings")
	keyFormat      = []byte("format")
	keyFileID      = []byte("file_id")
	keyGeneration  = []byte("generation")
	keyIDs         = []byte("ids")
)

// stateFormat names the layout above; a database without it is refused.
const stateFormat = "iotda-mock state 3"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// keySum is the checksum of a key: of parent, "/" and key when a parent
// bucket's key is given, else of key alone.
func keySum(parent, key []byte) uint32 {
	if parent == nil {
		return crc32.Checksum(key, crcTable)
	}
	sum := crc32.Update(crc32.Checksum(parent, crcTable), crcTable, []byte("/"))
	return crc32.Update(sum, crcTable, key)
}

// seal appends the checksum of the key (see keySum) and value to value.
func seal(parent, key, value []byte) []byte {
	sum := crc32.Update(keySum(parent, key), crcTable, value)
	return binary.BigEndian.AppendUint32(slices.Clip(value), sum)
}

// unseal checks and strips the checksum seal added; bucket names where the
// value is, for the error.
func unseal(bucket string, parent, key, sealed []byte) ([]byte, error) {
	if len(sealed) >= 4 {
		value := sealed[:len(sealed)-4]
		if crc32.Update(keySum(parent, key), crcTable, value) == binary.BigEndian.Uint32(sealed[len(value):]) {
			return value, nil
		}
	}
	return nil, fmt.Errorf("bucket %s, key %s: checksum mismatch", bucket, quote(string(key)))
}

func dbKey(parts ...string) []byte { return []byte(strings.Join(parts, "/")) }

// dbMeta is what the meta bucket holds.
type dbMeta struct {
	fileID     string
	generation uint64
	clock      uint32
	counter    uint64
}

// putMeta writes what a commit changes in the meta bucket: the generation
// and the ids. The format and the file id are written once, with the
// buckets.
func putMeta(tx *bolt.Tx, m dbMeta) error {
	b := tx.Bucket(bucketMeta)
	var gen [8]byte
	var ids [12]byte
	binary.BigEndian.PutUint64(gen[:], m.generation)
	binary.BigEndian.PutUint32(ids[:], m.clock)
	binary.BigEndian.PutUint64(ids[4:], m.counter)
	if err := b.Put(keyGeneration, seal(nil, keyGeneration, gen[:])); err != nil {
		return err
	}
	return b.Put(keyIDs, seal(nil, keyIDs, ids[:]))
}

// createBuckets makes the buckets of a new state file and its meta.
func createBuckets(tx *bolt.Tx, m dbMeta) error {
	for _, name := range [][]byte{bucketMeta, bucketPolicies, bucketBindings} {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	b := tx.Bucket(bucketMeta)
	if err := b.Put(keyFormat, seal(nil, keyFormat, []byte(stateFormat))); err != nil {
		return err
	}
	if err := b.Put(keyFileID, seal(nil, keyFileID, []byte(m.fileID))); err != nil {
		return err
	}
	return putMeta(tx, m)
}

// readMeta reads and checks the meta bucket.
func readMeta(tx *bolt.Tx) (dbMeta, error) {
	var m dbMeta
	for _, name := range [][]byte{bucketMeta, bucketPolicies, bucketBindings} {
		if tx.Bucket(name) == nil {
			return m, fmt.Errorf("no bucket %s: not a state file of this version of the mock", name)
		}
	}
	get := func(key []byte, size int) ([]byte, error) {
		sealed := tx.Bucket(bucketMeta).Get(key)
		if sealed == nil {
			return nil, fmt.Errorf("meta has no %s", key)
		}
		v, err := unseal(string(bucketMeta), nil, key, sealed)
		if err == nil && size >= 0 && len(v) != size {
			err = fmt.Errorf("meta %s has %d bytes, want %d", key, len(v), size)
		}
		return v, err
	}
	format, err := get(keyFormat, -1)
	if err != nil {
		return m, err
	}
	if string(format) != stateFormat {
		return m, fmt.Errorf("its format is %s, and this version of the mock reads only %s", quote(string(format)), quote(stateFormat))
	}
	id, err := get(keyFileID, 32)
	if err != nil {
		return m, err
	}
	gen, err := get(keyGeneration, 8)
	if err != nil {
		return m, err
	}
	ids, err := get(keyIDs, 12)
	if err != nil {
		return m, err
	}
	m.fileID, m.generation = string(id), binary.BigEndian.Uint64(gen)
	m.clock, m.counter = binary.BigEndian.Uint32(ids), binary.BigEndian.Uint64(ids[4:])
	return m, nil
}

// putRecord writes one change into the database.
func putRecord(tx *bolt.Tx, r logRecord) error {
	policies, bindings := tx.Bucket(bucketPolicies), tx.Bucket(bucketBindings)
	switch r.Op {
	case logPutPolicy:
		data, err := json.Marshal(r.Policy)
		if err != nil {
			return err
		}
		key := dbKey(r.Project, r.Instance, r.Policy.PolicyID)
		return policies.Put(key, seal(nil, key, data))
	case logDeletePolicy:
		key := dbKey(r.Project, r.Instance, r.PolicyID)
		if err := policies.Delete(key); err != nil {
			return err
		}
		if err := bindings.DeleteBucket(key); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		return nil
	case logBind:
		b := r.Binding
		parent := dbKey(r.Project, r.Instance, b.PolicyID)
		pb, err := bindings.CreateBucketIfNotExists(parent)
		if err != nil {
			return err
		}
		key := dbKey(b.TargetType, b.TargetID)
		return pb.Put(key, seal(parent, key, []byte(b.RecordID)))
	case logUnbind:
		b := r.Binding
		pb := bindings.Bucket(dbKey(r.Project, r.Instance, b.PolicyID))
		if pb == nil {
			return nil
		}
		return pb.Delete(dbKey(b.TargetType, b.TargetID))
	}
	return fmt.Errorf("unknown change %s", quote(r.Op))
}

// The records of one instance, as read from the database.
type (
	instanceFile struct {
		Policies []Policy
		Bindings []bindingFile
	}
	bindingFile struct {
		RecordID   string
		PolicyID   string
		TargetType string
		TargetID   string
	}
)

// loadStore reads the whole state from the database and checks it against
// the API's rules.
func loadStore(tx *bolt.Tx) (*store, dbMeta, error) {
	m, err := readMeta(tx)
	if err != nil {
		return nil, m, err
	}
	type instKey struct{ project, instance string }
	files := map[instKey]*instanceFile{}
	file := func(project, instance string) *instanceFile {
		k := instKey{project, instance}
		if files[k] == nil {
			files[k] = &instanceFile{}
		}
		return files[k]
	}
	err = tx.Bucket(bucketPolicies).ForEach(func(k, sealed []byte) error {
		data, err := unseal(string(bucketPolicies), nil, k, sealed)
		if err != nil {
			return err
		}
		parts := strings.Split(string(k), "/")
		var p Policy
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("policy %s: %w", quote(string(k)), err)
		}
		if len(parts) != 3 || parts[2] != p.PolicyID {
			return fmt.Errorf("policy key %s does not name policy %s", quote(string(k)), quote(p.PolicyID))
		}
		f := file(parts[0], parts[1])
		f.Policies = append(f.Policies, p)
		return nil
	})
	if err != nil {
		return nil, m, err
	}
	bindings := tx.Bucket(bucketBindings)
	err = bindings.ForEach(func(parent, _ []byte) error {
		parts := strings.Split(string(parent), "/")
		pb := bindings.Bucket(parent)
		if pb == nil || len(parts) != 3 {
			return fmt.Errorf("bindings key %s is not a bucket named PROJECT/INSTANCE/POLICY", quote(string(parent)))
		}
		f := file(parts[0], parts[1])
		where := string(bucketBindings) + "/" + string(parent)
		return pb.ForEach(func(k, sealed []byte) error {
			if sealed == nil {
				return fmt.Errorf("bindings bucket %s holds a bucket %s", quote(string(parent)), quote(string(k)))
			}
			recordID, err := unseal(where, parent, k, sealed)
			if err != nil {
				return err
			}
			target := strings.Split(string(k), "/")
			if len(target) != 2 {
				return fmt.Errorf("binding key %s of policy %s is not TYPE/TARGET", quote(string(k)), quote(string(parent)))
			}
			f.Bindings = append(f.Bindings, bindingFile{RecordID: string(recordID), PolicyID: parts[2], TargetType: target[0], TargetID: target[1]})
			return nil
		})
	})
	if err != nil {
		return nil, m, err
	}
	st := newStore()
	st.clock, st.counter = m.clock, m.counter
	for k := range files {
		if k.project == "" || len(k.project) > maxInstanceIDChars || !isName(k.project) {
			return nil, m, fmt.Errorf("project id %s is not valid", quote(k.project))
		}
		if e := validateInstanceID(k.instance); e != nil {
			return nil, m, errors.New(e.Msg)
		}
	}
	for k, f := range files {
		slices.SortFunc(f.Bindings, func(a, b bindingFile) int { return strings.Compare(a.RecordID, b.RecordID) })
		inst, err := decodeInstance(st, *f)
		if err != nil {
			return nil, m, fmt.Errorf("project %s, instance %s: %w", quote(k.project), quote(k.instance), err)
		}
		st.instance(k.project, k.instance, true)
		st.projects[k.project][k.instance] = inst
	}
	if st.counter >= maxCounter {
		return nil, m, fmt.Errorf("the id counter %d is too large to go on from", st.counter)
	}
	return st, m, nil
}

// decodeInstance builds the state of one instance from its records, with
// the checks the API would make.
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
