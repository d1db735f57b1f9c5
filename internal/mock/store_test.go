package mock

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// checkRules checks a state against the API's rules, as a state file is
// checked when it is loaded.
func checkRules(st *store) error {
	for pid, insts := range st.projects {
		for iid, inst := range insts {
			var f instanceFile
			for _, p := range inst.policies {
				f.Policies = append(f.Policies, clonePolicy(p))
			}
			for t, bs := range inst.bindings {
				for _, b := range bs {
					f.Bindings = append(f.Bindings, bindingFile{RecordID: b.recordID, PolicyID: b.policyID, TargetType: t.typ, TargetID: t.id})
				}
			}
			slices.SortFunc(f.Bindings, func(a, b bindingFile) int { return strings.Compare(a.RecordID, b.RecordID) })
			if _, err := decodeInstance(newStore(), f); err != nil {
				return fmt.Errorf("project %s, instance %s: %w", pid, iid, err)
			}
		}
	}
	return nil
}

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s1 := restart(t, path)
	a := mustCreate(t, s1, "", "a")
	b := mustCreate(t, s1, "inst-2", "b")
	if _, err := s1.Bind("", a.PolicyID, "device", "d1", "d2", "d3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Bind("", a.PolicyID, "product", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Unbind("", a.PolicyID, "device", "d3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.UpdatePolicy("inst-2", b.PolicyID, UpdatePolicyRequest{PolicyName: "b2"}); err != nil {
		t.Fatal(err)
	}
	gone := mustCreate(t, s1, "", "gone")
	if _, err := s1.Bind("", gone.PolicyID, "device", "d1"); err != nil {
		t.Fatal(err)
	}
	if err := s1.DeletePolicy("", gone.PolicyID); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Bind("", a.PolicyID, "device", "late"); !isCode(err, codeInternal) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("bind after Close: %v, want refused", err)
	}

	s2 := restart(t, path)
	if got := s2.Policies(""); len(got) != 1 || !policiesEqual(got[0], a) {
		t.Errorf("default instance after restart = %+v, want %+v", got, a)
	}
	if got, ok := s2.Policy("inst-2", b.PolicyID); !ok || got.PolicyName != "b2" {
		t.Errorf("inst-2 policy after restart = %+v, %v", got, ok)
	}
	if got := s2.Targets("", a.PolicyID, ""); !slices.Equal(got, []string{"d1", "d2", "p1"}) {
		t.Errorf("targets after restart = %v", got)
	}
	if got := s2.Targets("", gone.PolicyID, ""); len(got) != 0 {
		t.Errorf("bindings of the deleted policy came back: %v", got)
	}
	res, e := s2.listTargets("", a.PolicyID, targetsQuery{page: defaultPage()})
	if e != nil || len(res.Targets) != 3 || res.Targets[0].TargetID != "p1" || res.Targets[2].TargetID != "d1" {
		t.Errorf("list-targets order after restart = %+v, %v", res.Targets, e)
	}
	// The newest id was the deleted policy's: ids still go up.
	if c := mustCreate(t, s2, "", "c"); c.PolicyID <= gone.PolicyID {
		t.Errorf("new id %s is not above the ids before the restart (%s)", c.PolicyID, gone.PolicyID)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}

	// Another project's state is kept when a server of another project writes.
	other, err := New(Config{ProjectID: "ffffffffffffffffffffffffffffffff", Tokens: []string{"tok"}, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(other.Policies("")); n != 0 {
		t.Errorf("another project sees %d policies", n)
	}
	mustCreate(t, other, "", "other")
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(restart(t, path).Policies("")); n != 2 {
		t.Errorf("%d policies after another project wrote, want 2", n)
	}
}

func TestStateOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ts := NewTestServer(t, Config{StatePath: path})
	c := newClient(t, ts)
	p := c.mustCreate("persisted")
	// Reads do not write.
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	c.do(http.MethodGet, "/device-policies", nil)
	c.do(http.MethodGet, "/device-policies/"+p.PolicyID, nil)
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("a read wrote the state file")
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if got, ok := restart(t, path).Policy("", p.PolicyID); !ok || !policiesEqual(got, p) {
		t.Errorf("after restart = %+v, %v", got, ok)
	}
}

// TestStateInUse starts a second mock on the state file of a running one.
func TestStateInUse(t *testing.T) {
	_, path := stateServer(t)
	_, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second mock on one state file: %v", err)
	}
}

// savedState makes a state file with a policy bound to a device and
// returns its path and the policy.
func savedState(t *testing.T) (string, Policy) {
	t.Helper()
	s, path := stateServer(t)
	p := mustCreate(t, s, "", "a")
	if _, err := s.Bind("", p.PolicyID, "device", "d"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, p
}

// editState changes a closed state file directly.
func editState(t *testing.T, path string, edit func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(edit); err != nil {
		t.Fatal(err)
	}
}

// startError starts a mock on path and returns the error it was refused
// with; it fails the test when the mock starts.
func startError(t *testing.T, path string, recoverStale bool) error {
	t.Helper()
	s, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path, Recover: recoverStale})
	if err == nil {
		s.Close()
		t.Fatal("the mock started")
	}
	return err
}

// TestStateRecordsChecked writes records that break the API's rules, or
// the file's layout, into a state file: the mock refuses to start on it.
func TestStateRecordsChecked(t *testing.T) {
	path, p := savedState(t)
	valid, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	policyKey := dbKey(TestProjectID, "", p.PolicyID)
	putPolicy := func(key []byte, edit func(string) string) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			sealed := tx.Bucket(bucketPolicies).Get(policyKey)
			data := []byte(edit(string(sealed[:len(sealed)-4])))
			if err := tx.Bucket(bucketPolicies).Delete(policyKey); err != nil {
				return err
			}
			return tx.Bucket(bucketPolicies).Put(key, seal(nil, key, data))
		}
	}
	replace := func(from, to string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, from) {
				t.Fatalf("%s is not in %s", from, s)
			}
			return strings.Replace(s, from, to, 1)
		}
	}
	same := func(s string) string { return s }
	putBinding := func(policyID string, key []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			parent := dbKey(TestProjectID, "", policyID)
			b, err := tx.Bucket(bucketBindings).CreateBucketIfNotExists(parent)
			if err != nil {
				return err
			}
			return b.Put(key, seal(parent, key, []byte("ffffffff0000000000000099")))
		}
	}
	// moveBinding puts the sealed record of the binding to device d under
	// another key or in another policy's bucket, unchanged.
	moveBinding := func(policyID string, key []byte) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			sealed := bytes.Clone(tx.Bucket(bucketBindings).Bucket(policyKey).Get([]byte("device/d")))
			b, err := tx.Bucket(bucketBindings).CreateBucketIfNotExists(dbKey(TestProjectID, "", policyID))
			if err != nil {
				return err
			}
			return b.Put(key, sealed)
		}
	}
	cases := []struct {
		name string
		edit func(tx *bolt.Tx) error
		want string
	}{
		{"bad statement", putPolicy(policyKey, replace(`"ALLOW"`, `"MAYBE"`)), "effect"},
		{"bad time", putPolicy(policyKey, replace(`"create_time":"`, `"create_time":"yesterday`)), "yyyyMMdd"},
		{"no app id", putPolicy(policyKey, replace(`"app_id":"`, `"app_id":"","x":"`)), "app_id"},
		{"not JSON", putPolicy(policyKey, func(string) string { return "{" }), "policy"},
		{"key naming another policy", putPolicy(dbKey(TestProjectID, "", "000000000000000000000001"), same), "does not name"},
		{"bad instance id", putPolicy(dbKey(TestProjectID, "a b", p.PolicyID), same), "Instance-Id"},
		{"bad project id", putPolicy(dbKey("", "", p.PolicyID), same), "project id"},
		{"binding of no policy", putBinding("000000000000000000000009", []byte("device/x")), "does not exist"},
		{"bad target type", putBinding(p.PolicyID, []byte("group/x")), "target_type"},
		{"short binding key", putBinding(p.PolicyID, []byte("device")), "not TYPE/TARGET"},
		{"binding outside a policy's bucket", func(tx *bolt.Tx) error {
			key := dbKey(TestProjectID, "", p.PolicyID, "device", "x")
			return tx.Bucket(bucketBindings).Put(key, seal(nil, key, []byte("ffffffff0000000000000099")))
		}, "not a bucket"},
		{"binding moved to another target", moveBinding(p.PolicyID, []byte("device/e")), "checksum mismatch"},
		{"binding moved to another policy", moveBinding("000000000000000000000009", []byte("device/d")), "checksum mismatch"},
		{"flipped byte", func(tx *bolt.Tx) error {
			v := bytes.Clone(tx.Bucket(bucketPolicies).Get(policyKey))
			v[10] ^= 1
			return tx.Bucket(bucketPolicies).Put(policyKey, v)
		}, "checksum mismatch"},
		{"another format", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keyFormat, seal(nil, keyFormat, []byte("iotda-mock state 2")))
		}, "format"},
		{"missing bucket", func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketBindings) }, "no bucket bindings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, valid, 0o600); err != nil {
				t.Fatal(err)
			}
			editState(t, path, tc.edit)
			err := startError(t, path, true)
			if !strings.Contains(err.Error(), "cannot be used") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q in it", err, tc.want)
			}
		})
	}
}

// TestStartRefusesDamagedFiles starts on files that cannot be a state
// file, even with recover: each is refused with the reason, never read as
// an empty state.
func TestStartRefusesDamagedFiles(t *testing.T) {
	path, _ := savedState(t)
	valid, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 64<<10)
	_, _ = rand.Read(garbage)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", garbage, "invalid database"},
		{"empty", nil, "empty"},
		{"cut to two pages", valid[:8192], "cut short"},
		{"cut inside the first page", valid[:100], "invalid database"},
		{"cut in half", valid[:len(valid)/2], "cut short"},
		{"earlier JSON format", []byte(`{"version":1,"clock":0,"counter":1,"projects":{}}`), "JSON state file of earlier versions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			err := startError(t, path, true)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q, want %q and the path in it", err, tc.want)
			}
			if data, _ := os.ReadFile(path); !bytes.Equal(data, tc.data) {
				t.Error("the refused file was changed")
			}
		})
	}
	t.Run("log of the earlier format", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "state.json.log"), []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := startError(t, filepath.Join(dir, "state.json"), true); !strings.Contains(err.Error(), "move") {
			t.Errorf("error %q does not say how to start afresh", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if err := startError(t, t.TempDir(), false); !strings.Contains(err.Error(), "directory") {
			t.Errorf("error %q", err)
		}
	})
}

// anotherStateFile returns the bytes of a state file of its own, closed,
// holding one policy named "another".
func anotherStateFile(t *testing.T) []byte {
	t.Helper()
	s, path := stateServer(t)
	mustCreate(t, s, "", "another")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestStartRefusesStaleState starts on a state file that does not follow
// from the one the mock last committed to: refused with the reason, and
// accepted as it is with recover.
func TestStartRefusesStaleState(t *testing.T) {
	path, p := savedState(t)
	older, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := restart(t, path)
	if _, err := s.Bind("", p.PolicyID, "device", "newer"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	newer, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mark, err := os.ReadFile(markPath(path))
	if err != nil {
		t.Fatal(err)
	}
	anotherFile := anotherStateFile(t)
	cases := []struct {
		name string
		file []byte // nil: no file
		mark string
		want string
		// what the mock holds with recover: the policies' names and the
		// targets of the policy "a"
		wantNames, wantTargets []string
	}{
		{"older copy", older, string(mark), "older copy", []string{"a"}, []string{"d"}},
		{"another state file", anotherFile, string(mark), "was replaced", []string{"another"}, []string{}},
		{"file lost", nil, string(mark), "is missing", []string{}, []string{}},
		{"damaged generation file", newer, "x", "not a generation file", []string{"a"}, []string{"d", "newer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			write := func() {
				t.Helper()
				if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if tc.file != nil {
					if err := os.WriteFile(path, tc.file, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(markPath(path), []byte(tc.mark), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write()
			if err := startError(t, path, false); !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "-recover") {
				t.Errorf("error %q, want %q and the way to recover", err, tc.want)
			}
			recovered, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path, Recover: true})
			if err != nil {
				t.Fatalf("with recover: %v", err)
			}
			names := []string{}
			for _, p := range recovered.Policies("") {
				names = append(names, p.PolicyName)
			}
			if !slices.Equal(names, tc.wantNames) {
				t.Errorf("policies with recover = %v, want %v", names, tc.wantNames)
			}
			if got := recovered.Targets("", p.PolicyID, ""); !slices.Equal(got, tc.wantTargets) {
				t.Errorf("targets with recover = %v, want %v", got, tc.wantTargets)
			}
			if err := recovered.Close(); err != nil {
				t.Fatal(err)
			}
			// Recovered, the file follows from itself again.
			if err := restart(t, path).Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, newer, 0o600); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUnchangedStateFileMayGo removes, or replaces, a state file the mock
// never committed a change to: nothing is lost, so the mock starts without
// -recover, on a new empty file or on the one now there.
func TestUnchangedStateFileMayGo(t *testing.T) {
	s, path := stateServer(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s = restart(t, path)
	if got := s.Policies(""); len(got) != 0 {
		t.Errorf("policies = %v, want none", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, anotherStateFile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	s = restart(t, path)
	if got := s.Policies(""); len(got) != 1 || got[0].PolicyName != "another" {
		t.Errorf("policies = %v, want the one of the file now there", got)
	}
}

// FuzzLoadRecord loads a state file with an arbitrary policy record and an
// arbitrary binding record in an arbitrary bucket of bindings: loading
// never panics, and a state it accepts obeys the API's rules.
func FuzzLoadRecord(f *testing.F) {
	policy := `{"app_id":"app","policy_id":"000000000000000000000003","policy_name":"b","statement":[{"effect":"DENY","actions":["iotda:devices:subscribe"],"resources":["topic:b"]}],"create_time":"20230810T070547Z","update_time":"20230810T070547Z"}`
	f.Add("p//000000000000000000000003", policy, "p//000000000000000000000003", "device/d", "000000000000000000000004")
	f.Add("p/i/000000000000000000000003", policy, "p/i/000000000000000000000001", "app/a", "000000000000000000000005")
	f.Add("p//x", `{}`, "p//000000000000000000000003", "product/p", "00")
	f.Add("", `null`, "///", "//", "")
	dir := f.TempDir()
	base := filepath.Join(dir, "base.db")
	if err := createState(base); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, policyKey, policy, bindingBucket, bindingKey, recordID string) {
		if policyKey == "" || bindingBucket == "" || bindingKey == "" || len(policyKey) > 512 || len(bindingBucket) > 512 || len(bindingKey) > 512 {
			return // not keys bbolt stores
		}
		path := filepath.Join(t.TempDir(), "state.db")
		if err := os.WriteFile(path, valid, 0o600); err != nil {
			t.Fatal(err)
		}
		editState(t, path, func(tx *bolt.Tx) error {
			pk, bb, bk := []byte(policyKey), []byte(bindingBucket), []byte(bindingKey)
			if err := tx.Bucket(bucketPolicies).Put(pk, seal(nil, pk, []byte(policy))); err != nil {
				return err
			}
			b, err := tx.Bucket(bucketBindings).CreateBucketIfNotExists(bb)
			if err != nil {
				return err
			}
			return b.Put(bk, seal(bb, bk, []byte(recordID)))
		})
		s, err := New(Config{ProjectID: "p", Tokens: []string{"t"}, StatePath: path})
		if err != nil {
			return
		}
		defer s.Close()
		if err := checkRules(s.st); err != nil {
			t.Fatalf("accepted a state that breaks the rules: %v", err)
		}
		var maxID string
		for _, insts := range s.st.projects {
			for _, inst := range insts {
				for id := range inst.policies {
					maxID = max(maxID, id)
				}
				for _, bs := range inst.bindings {
					for _, b := range bs {
						maxID = max(maxID, b.recordID)
					}
				}
			}
		}
		if id := s.st.newID(time.Unix(0, 0)); id <= maxID {
			t.Fatalf("new id %s is not above the loaded %s", id, maxID)
		}
	})
}
