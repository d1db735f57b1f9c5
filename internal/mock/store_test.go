package mock

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{ProjectID: TestProjectID, Tokens: []string{"tok"}, StatePath: path}
	s1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := mustCreate(t, s1, "", "a")
	b := mustCreate(t, s1, "inst-2", "b")
	if _, err := s1.Bind("", a.PolicyID, "device", "d1", "d2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Bind("", a.PolicyID, "product", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.UpdatePolicy("inst-2", b.PolicyID, UpdatePolicyRequest{PolicyName: "b2"}); err != nil {
		t.Fatal(err)
	}
	gone := mustCreate(t, s1, "", "gone")
	if err := s1.DeletePolicy("", gone.PolicyID); err != nil {
		t.Fatal(err)
	}

	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Policies(""); len(got) != 1 || !policiesEqual(got[0], a) {
		t.Errorf("default instance after restart = %+v, want %+v", got, a)
	}
	if got, ok := s2.Policy("inst-2", b.PolicyID); !ok || got.PolicyName != "b2" {
		t.Errorf("inst-2 policy after restart = %+v, %v", got, ok)
	}
	if got := s2.Targets("", a.PolicyID, ""); !slices.Equal(got, []string{"d1", "d2", "p1"}) {
		t.Errorf("targets after restart = %v", got)
	}
	res, e := s2.listTargets("", a.PolicyID, targetsQuery{page: defaultPage()})
	if e != nil || len(res.Targets) != 3 || res.Targets[0].TargetID != "p1" || res.Targets[2].TargetID != "d1" {
		t.Errorf("list-targets order after restart = %+v, %v", res.Targets, e)
	}
	c := mustCreate(t, s2, "", "c")
	if c.PolicyID <= gone.PolicyID {
		t.Errorf("new id %s is not above the ids before the restart (%s)", c.PolicyID, gone.PolicyID)
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
	s3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s3.Policies("")); n != 2 {
		t.Errorf("%d policies after another project wrote, want 2", n)
	}
}

func TestStateOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ts := NewTestServer(t, Config{StatePath: path})
	c := newClient(t, ts)
	p := c.mustCreate("persisted")
	s2, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"t"}, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s2.Policy("", p.PolicyID); !ok || !policiesEqual(got, p) {
		t.Errorf("after restart = %+v, %v", got, ok)
	}
	// Reads do not write.
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	c.do(http.MethodGet, "/device-policies", nil)
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("a list rewrote the state file")
	}
}

func TestStateWrittenAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s, err := New(Config{ProjectID: TestProjectID, Tokens: []string{"tok"}, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	p := mustCreate(t, s, "", "p")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads int
	var bad []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			data, err := os.ReadFile(path)
			if err == nil {
				_, err = decodeState(data)
			}
			if err != nil {
				bad = append(bad, err.Error())
			}
			reads++
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	for i := range 200 {
		ids := []string{"d" + strings.Repeat("x", i%50+1)}
		if i%2 == 0 {
			_, err = s.Bind("", p.PolicyID, "device", ids...)
		} else {
			_, err = s.Unbind("", p.PolicyID, "device", ids...)
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			// Close writes the whole state file; the next change opens the
			// log again.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d reads saw a broken file, e.g. %s", len(bad), reads, bad[0])
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"state.json", "state.json.log"}) {
		t.Errorf("directory holds %v, want only state.json and its log", names)
	}
}

func TestStateWriteFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ts := NewTestServer(t, Config{StatePath: filepath.Join(dir, "state.json")})
	c := newClient(t, ts)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	wantError(t, c.do(http.MethodPost, "/device-policies", createRequest("p")), http.StatusInternalServerError, "IOTDA.000500", "state file")
	if _, err := ts.CreatePolicy("", createRequest("q")); !isCode(err, "IOTDA.000500") {
		t.Errorf("out-of-band create error = %v", err)
	}
}

func TestStateLoadErrors(t *testing.T) {
	valid := `{"version":1,"clock":0,"counter":1,"projects":{"p":{"instances":{"":{"policies":[` +
		`{"app_id":"app","policy_id":"000000000000000000000001","policy_name":"a","statement":[{"effect":"ALLOW","actions":["iotda:devices:publish"],"resources":["topic:a"]}],"create_time":"20230810T070547Z","update_time":"20230810T070547Z"}],` +
		`"bindings":[{"record_id":"000000000000000000000002","policy_id":"000000000000000000000001","target_type":"device","target_id":"d"}]}}}}}`
	if _, err := decodeState([]byte(valid)); err != nil {
		t.Fatalf("the valid state is rejected: %v", err)
	}
	cases := map[string]string{
		"not JSON":             `{"version":`,
		"wrong version":        strings.Replace(valid, `"version":1`, `"version":2`, 1),
		"bad policy id":        strings.Replace(valid, `"policy_id":"000000000000000000000001","policy_name"`, `"policy_id":"x","policy_name"`, 1),
		"bad statement":        strings.Replace(valid, `"ALLOW"`, `"MAYBE"`, 1),
		"bad time":             strings.Replace(valid, `"create_time":"20230810T070547Z"`, `"create_time":"yesterday"`, 1),
		"no app id":            strings.Replace(valid, `"app_id":"app"`, `"app_id":""`, 1),
		"binding of no policy": strings.Replace(valid, `"policy_id":"000000000000000000000001","target_type"`, `"policy_id":"000000000000000000000009","target_type"`, 1),
		"bad target type":      strings.Replace(valid, `"target_type":"device"`, `"target_type":"group"`, 1),
		"bad instance id":      strings.Replace(valid, `"instances":{""`, `"instances":{"a b"`, 1),
		"bad project id":       strings.Replace(valid, `"projects":{"p"`, `"projects":{""`, 1),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if data == valid {
				t.Fatal("the case does not change the valid state")
			}
			if _, err := decodeState([]byte(data)); err == nil {
				t.Error("decodeState accepted it")
			}
		})
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{ProjectID: "p", Tokens: []string{"t"}, StatePath: path}); err == nil {
		t.Error("New accepted a broken state file")
	}
	if _, err := New(Config{ProjectID: "p", Tokens: []string{"t"}, StatePath: filepath.Dir(path)}); err == nil {
		t.Error("New accepted a directory as the state file")
	}
}
