package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// startProgram runs the real program in a process of its own (see
// TestMain) and returns it with its URL.
func startProgram(t *testing.T, ctx context.Context, args string) (*exec.Cmd, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal("cannot find the test binary:", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS=-listen 127.0.0.1:0 "+args)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, readURL(t, stdout)
}

// tryCall sends a signed request and decodes a 2xx answer into out; an
// error is a transport failure or any other status.
func tryCall(client *http.Client, method, url string, in, out any) error {
	var data []byte
	if in != nil {
		var err error
		if data, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signer.Sign(req, data, signer.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey}, time.Now()); err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, body)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

// TestCrashKeepsAcknowledgedWrites kills the program with SIGKILL while
// writers create policies, bind and unbind targets, then starts it again
// on the same state file: every acknowledged change is there. A change
// under way at the kill may have happened or not.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	const (
		writers   = 8
		maxOps    = 400 // per writer
		killAfter = 300 // acknowledged changes, or 10 s
	)
	state := filepath.Join(t.TempDir(), "state.db")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd, url := startProgram(t, ctx, "-state "+state)
	base := url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	client := &http.Client{Timeout: 10 * time.Second}
	var shared mock.Policy
	if err := tryCall(client, http.MethodPost, base, mock.CreatePolicyRequest{PolicyName: "shared", Statement: crashStatement}, &shared); err != nil {
		t.Fatal(err)
	}

	// What each writer saw acknowledged. A target is owned by one writer,
	// so its last acknowledged bind or unbind is its state, unless a later
	// call on it got no answer.
	type outcome struct {
		created []string
		bound   map[string]bool // target id -> bound
		unsure  string          // the target of the call under way at the kill
	}
	outcomes := make([]outcome, writers)
	var acked atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			o := &outcomes[w]
			o.bound = map[string]bool{}
			for i := range maxOps {
				var err error
				switch id := fmt.Sprintf("w%d-%d", w, i); {
				case i%40 == 0:
					err = tryCall(client, http.MethodPost, base, mock.CreatePolicyRequest{PolicyName: id, Statement: crashStatement}, nil)
					if err == nil {
						o.created = append(o.created, id)
					}
				case i%4 == 3:
					id = fmt.Sprintf("w%d-%d", w, i-1)
					o.unsure = id
					if err = tryCall(client, http.MethodPost, base+"/"+shared.PolicyID+"/unbind", mock.BindRequest{TargetType: "device", TargetIDs: []string{id}}, nil); err == nil {
						o.bound[id], o.unsure = false, ""
					}
				default:
					o.unsure = id
					if err = tryCall(client, http.MethodPost, base+"/"+shared.PolicyID+"/bind", mock.BindRequest{TargetType: "device", TargetIDs: []string{id}}, nil); err == nil {
						o.bound[id], o.unsure = true, ""
					}
				}
				if err != nil {
					return // the program is gone
				}
				acked.Add(1)
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); acked.Load() < killAfter && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_ = cmd.Wait()
	if acked.Load() < killAfter/2 {
		t.Fatalf("only %d changes were acknowledged before the kill", acked.Load())
	}

	_, url = startProgram(t, ctx, "-state "+state)
	base = url + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	var policies mock.ListPoliciesResponse
	if err := tryCall(client, http.MethodGet, base+"?limit=50", nil, &policies); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range policies.Policies {
		names[p.PolicyName] = true
	}
	bound := map[string]bool{}
	for marker := ""; ; {
		var page mock.ListTargetsResponse
		if err := tryCall(client, http.MethodPost, base+"/"+shared.PolicyID+"/list-targets", mock.ListTargetsRequest{Limit: 50, Marker: marker}, &page); err != nil {
			t.Fatal(err)
		}
		for _, tg := range page.Targets {
			bound[tg.TargetID] = true
		}
		if len(page.Targets) < 50 {
			break
		}
		marker = page.Page.Marker
	}
	checked := 0
	for _, o := range outcomes {
		for _, name := range o.created {
			if !names[name] {
				t.Errorf("the acknowledged policy %s is missing after the crash", name)
			}
			checked++
		}
		for id, want := range o.bound {
			if id == o.unsure {
				continue
			}
			if bound[id] != want {
				t.Errorf("target %s: bound %v after the crash, but %v was acknowledged", id, bound[id], want)
			}
			checked++
		}
	}
	t.Logf("%d changes acknowledged before SIGKILL; %d policies and targets checked after the restart", acked.Load(), checked)
}

var crashStatement = []mock.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:crash"}}}
