package mock

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// walServer is a mock with a state file in a fresh directory.
func walServer(t *testing.T) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"tok"}, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func restart(t *testing.T, path string) *Server {
	t.Helper()
	s, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"tok"}, StatePath: path})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	return s
}

// TestLogReplay makes every kind of change after the state file was
// written, so that only the log holds them, and restarts from the disk.
func TestLogReplay(t *testing.T) {
	s, path := walServer(t)
	a := mustCreate(t, s, "", "a") // the first change writes the state file
	b := mustCreate(t, s, "inst-2", "b")
	gone := mustCreate(t, s, "", "gone")
	if _, err := s.Bind("", a.PolicyID, "device", "d1", "d2", "d3"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bind("", gone.PolicyID, "device", "d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Unbind("", a.PolicyID, "device", "d2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePolicy("inst-2", b.PolicyID, UpdatePolicyRequest{PolicyName: "b2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy("", gone.PolicyID); err != nil {
		t.Fatal(err)
	}
	snapshot, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snapshot), `"b2"`) {
		t.Fatal("the state file was rewritten: the test does not exercise the log")
	}

	s2 := restart(t, path)
	if got := s2.Targets("", a.PolicyID, ""); !slices.Equal(got, []string{"d1", "d3"}) {
		t.Errorf("targets after replay = %v, want d1 d3", got)
	}
	if got, ok := s2.Policy("inst-2", b.PolicyID); !ok || got.PolicyName != "b2" {
		t.Errorf("updated policy after replay = %+v, %v", got, ok)
	}
	if _, ok := s2.Policy("", gone.PolicyID); ok {
		t.Error("a deleted policy came back")
	}
	if got := s2.Targets("", gone.PolicyID, ""); len(got) != 0 {
		t.Errorf("bindings of the deleted policy came back: %v", got)
	}
	if c := mustCreate(t, s2, "", "c"); c.PolicyID <= gone.PolicyID {
		t.Errorf("new id %s is not above the replayed ids", c.PolicyID)
	}
	// Close leaves the whole state in the file and an empty log.
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(logPath(path)); err != nil || info.Size() != 0 {
		t.Errorf("log after Close: %v, %v", info, err)
	}
	s3 := restart(t, path)
	if got := s3.Policies(""); len(got) != 2 {
		t.Errorf("%d policies from the state file alone, want 2", len(got))
	}
}

// TestCloseDuringChanges closes the mock again and again while changes are
// made: Close and the writes take turns on the disk, a change after a Close
// opens the log again, and every acknowledged change is on disk after a
// restart with no Close at the end (as after a crash).
func TestCloseDuringChanges(t *testing.T) {
	s, path := walServer(t)
	p := mustCreate(t, s, "", "p")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []string
	)
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.Bind("", p.PolicyID, "device", id); err != nil {
					t.Errorf("bind %s: %v", id, err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	closes := 0
	for running := true; running; closes++ {
		select {
		case <-done:
			running = false
		default:
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close %d: %v", closes+1, err)
		}
	}
	if _, err := s.Bind("", p.PolicyID, "device", "after"); err != nil {
		t.Fatalf("bind after Close: %v", err)
	}
	acked = append(acked, "after")
	slices.Sort(acked)
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, acked) {
		t.Errorf("after %d Closes and a restart: targets %v, want %v", closes, got, acked)
	}
}

// TestLogCompaction lowers the compaction size: the state file is then
// rewritten and the log emptied as the log grows, with nothing lost.
func TestLogCompaction(t *testing.T) {
	s, path := walServer(t)
	s.compactAt = 1 // the log is compacted as soon as it outgrows the file
	p := mustCreate(t, s, "", "p")
	var want []string
	for i := range 40 {
		id := "t" + strings.Repeat("x", i)
		if _, err := s.Bind("", p.PolicyID, "device", id); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	info, err := os.Stat(logPath(path))
	if err != nil {
		t.Fatal(err)
	}
	snapshot, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > int64(len(snapshot))+1024 {
		t.Errorf("the log is %d bytes, the state file %d: no compaction", info.Size(), len(snapshot))
	}
	if !strings.Contains(string(snapshot), `"target_id":"txxxxxxxxxx"`) {
		t.Error("the state file was never rewritten")
	}
	slices.Sort(want)
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, want) {
		t.Errorf("targets after restart = %v, want %v", got, want)
	}
}

// TestLogOnStart covers what a crash can leave: a last line cut short
// (never acknowledged) is ignored, records the state file already holds
// (a crash between writing it and emptying the log) are skipped, and a log
// that breaks the API's rules or is garbled in the middle is refused.
func TestLogOnStart(t *testing.T) {
	s, path := walServer(t)
	p := mustCreate(t, s, "", "p")
	if _, err := s.Bind("", p.PolicyID, "device", "d1"); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(logPath(path))
	if err != nil || len(log) == 0 {
		t.Fatalf("log: %q, %v", log, err)
	}
	write := func(data string) {
		t.Helper()
		if err := os.WriteFile(logPath(path), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	write(string(log) + `{"v":99,"op":"bind","project":"` + TestProjectID + `","instance":"","binding":{"record_`)
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("with a cut last line: targets %v, want d1", got)
	}
	write(string(log) + string(log)) // replayed twice: a bind of a bound target
	if _, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path}); err == nil {
		t.Error("a log binding the same target twice was accepted")
	}
	write(`garbage` + "\n" + string(log))
	if _, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path}); err == nil {
		t.Error("a garbled line in the middle was accepted")
	}
	write(strings.Replace(string(log), `"target_id":"d1"`, `"target_id":"a b"`, 1))
	if _, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path}); err == nil {
		t.Error("a log breaking the API's rules was accepted")
	}

	// The state file holds the change (written after the log), the log was
	// not emptied: the record is skipped, not applied twice.
	write(string(log))
	s2 := restart(t, path)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	write(string(log))
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("with records the state file holds: targets %v, want d1", got)
	}
}

// TestLogRemovedWhileRunning checks that a change is not acknowledged when
// the log it is appended to is no longer the one on disk.
func TestLogRemovedWhileRunning(t *testing.T) {
	s, path := walServer(t)
	p := mustCreate(t, s, "", "p")
	if err := os.Remove(logPath(path)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Bind("", p.PolicyID, "device", "d1"); !isCode(err, codeInternal) {
		t.Errorf("bind with the log removed: %v, want %s", err, codeInternal)
	}
	// The next change writes the whole state again.
	if _, err := s.Bind("", p.PolicyID, "device", "d2"); err != nil {
		t.Fatal(err)
	}
	if got := restart(t, path).Targets("", p.PolicyID, ""); !slices.Equal(got, []string{"d1", "d2"}) {
		t.Errorf("targets after restart = %v, want d1 d2", got)
	}
}

// FuzzLoadLog starts from a valid state file and an arbitrary log: loading
// must never panic, and a state it accepts obeys the API's rules.
func FuzzLoadLog(f *testing.F) {
	p := `{"app_id":"app","policy_id":"000000000000000000000003","policy_name":"b","statement":[{"effect":"DENY","actions":["iotda:devices:subscribe"],"resources":["topic:b"]}],"create_time":"20230810T070547Z","update_time":"20230810T070547Z"}`
	f.Add([]byte(`{"v":2,"op":"bind","project":"p","instance":"","binding":{"record_id":"000000000000000000000004","policy_id":"000000000000000000000001","target_type":"device","target_id":"e"}}` + "\n"))
	f.Add([]byte(`{"v":2,"op":"put_policy","project":"p","instance":"i","policy":` + p + `}` + "\n" + `{"v":3,"op":"delete_policy","project":"p","instance":"","policy_id":"000000000000000000000001"}` + "\n"))
	f.Add([]byte(`{"v":2,"op":"unbind","project":"p","instance":"","binding":{"policy_id":"000000000000000000000001","target_type":"device","target_id":"d"}}` + "\n{\"v\":3"))
	f.Add([]byte("\n\n"))
	state := `{"version":1,"clock":0,"counter":2,"changes":1,"projects":{"p":{"instances":{"":{"policies":[` +
		`{"app_id":"app","policy_id":"000000000000000000000001","policy_name":"a","statement":[{"effect":"ALLOW","actions":["iotda:devices:publish"],"resources":["topic:a"]}],"create_time":"20230810T070547Z","update_time":"20230810T070547Z"}],` +
		`"bindings":[{"record_id":"000000000000000000000002","policy_id":"000000000000000000000001","target_type":"device","target_id":"d"}]}}}}}`
	f.Fuzz(func(t *testing.T, log []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		if err := os.WriteFile(path, []byte(state), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(logPath(path), log, 0o600); err != nil {
			t.Fatal(err)
		}
		st, last, err := loadDurable(path)
		if err != nil {
			return
		}
		data, err := st.encode(last)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeState(data); err != nil {
			t.Fatalf("accepted a log that breaks the rules: %v\n%s", err, log)
		}
	})
}
