// Command iotda-mock-load measures the iotda-mock program under load, on
// 127.0.0.1, and prints its figures. Every load is bounded in count and in
// time.
//
//	iotda-mock-load -mock PATH [-bindings 5500] [-writers 16] [-duration 5s]
//	                [-posts 1000] [-post-bytes 1048576] [-slow 50]
//
// It starts the program at PATH itself (the mock's test project and key
// pair, given through the environment) and stops it with SIGTERM after
// each run:
//
//  1. Writes, without and with -state: seeds one policy with -bindings
//     bindings (20 per call), then for -duration runs -writers concurrent
//     writers (each binds and unbinds a target of its own, one write per
//     call) while one reader reads a policy again and again. It prints the
//     acknowledged writes per second and the read latency p50 and p99.
//  2. Memory: -posts concurrent POSTs of -post-bytes each against a fresh
//     mock, then the peak resident memory of the mock (VmHWM in
//     /proc/PID/status; Linux only) and its resident memory before. Twice:
//     with no credentials at all, and with a well-formed signature of a
//     known access key that does not match (the body must be read to find
//     out).
//  3. Slow senders: -slow connections that send the headers of a 1 MiB POST
//     with such a signature and then one byte per second; it prints how long
//     the mock keeps them open (at most 20 s, when the tool gives up).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// slowLimit bounds how long the tool waits on a slow sender.
const slowLimit = 20 * time.Second

func main() {
	mockPath := flag.String("mock", "", "path of the iotda-mock program (required)")
	bindings := flag.Int("bindings", 5500, "bindings in the state before the write load")
	writers := flag.Int("writers", 16, "concurrent writers")
	duration := flag.Duration("duration", 5*time.Second, "length of the write load (at most 1m)")
	posts := flag.Int("posts", 1000, "concurrent unauthenticated POSTs (at most 2000)")
	postBytes := flag.Int("post-bytes", 1<<20, "body size of each POST (at most 1 MiB)")
	slow := flag.Int("slow", 50, "slow senders (at most 200)")
	flag.Parse()
	if *mockPath == "" || *duration <= 0 || *duration > time.Minute || *posts < 0 || *posts > 2000 ||
		*postBytes < 0 || *postBytes > 1<<20 || *slow < 0 || *slow > 200 || *bindings < 0 || *bindings > 20000 || *writers < 1 || *writers > 256 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*mockPath, *bindings, *writers, *duration, *posts, *postBytes, *slow); err != nil {
		fmt.Fprintln(os.Stderr, "iotda-mock-load:", err)
		os.Exit(1)
	}
}

func run(mockPath string, bindings, writers int, duration time.Duration, posts, postBytes, slow int) error {
	dir, err := os.MkdirTemp("", "iotda-mock-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("iotda-mock-load: %d bindings, %d writers for %s, %d posts of %d bytes, %d slow senders\n",
		bindings, writers, duration, posts, postBytes, slow)
	for _, withState := range []bool{false, true} {
		var args []string
		label := "without -state"
		if withState {
			args = []string{"-state", filepath.Join(dir, "state.json")}
			label = "with -state   "
		}
		m, err := start(mockPath, args)
		if err != nil {
			return err
		}
		res, err := writeLoad(m.url, bindings, writers, duration)
		m.stop()
		if err != nil {
			return fmt.Errorf("write load %s: %w", strings.TrimSpace(label), err)
		}
		fmt.Printf("writes %s: %7.0f acknowledged writes/s (%d in %s, %d failed); reads during writes: %d, p50 %s, p99 %s\n",
			label, float64(res.writes)/res.elapsed.Seconds(), res.writes, res.elapsed.Round(time.Millisecond), res.failed,
			res.readCount, res.p50, res.p99)
	}
	for _, forged := range []bool{false, true} {
		if posts == 0 {
			break
		}
		m, err := start(mockPath, nil)
		if err != nil {
			return err
		}
		before, _ := memory(m.cmd.Process.Pid, "VmRSS")
		answered, failed := postLoad(m.url, posts, postBytes, forged)
		peak, err := memory(m.cmd.Process.Pid, "VmHWM")
		m.stop()
		if err != nil {
			return err
		}
		label := "with no credentials"
		if forged {
			label = "with a forged signature"
		}
		fmt.Printf("memory: %d concurrent POSTs of %d bytes %s (%d answered, %d cut off): RSS %.1f MB before, peak %.1f MB\n",
			posts, postBytes, label, answered, failed, float64(before)/1e6, float64(peak)/1e6)
	}
	if slow > 0 {
		m, err := start(mockPath, nil)
		if err != nil {
			return err
		}
		held := slowLoad(m.url, slow)
		m.stop()
		fmt.Printf("slow senders: %d connections with a forged signature sending 1 byte/s: the mock closed them after p50 %s, max %s (the tool gives up at %s)\n",
			slow, held[len(held)/2].Round(100*time.Millisecond), held[len(held)-1].Round(100*time.Millisecond), slowLimit)
	}
	return nil
}

// mockProcess is a running iotda-mock.
type mockProcess struct {
	cmd *exec.Cmd
	url string
}

func start(path string, args []string) (*mockProcess, error) {
	cmd := exec.Command(path, append([]string{"-listen", "127.0.0.1:0", "-project-id", mock.TestProjectID}, args...)...)
	cmd.Env = append(os.Environ(), "IOTDA_MOCK_ACCESS_KEY="+mock.TestAccessKey, "IOTDA_MOCK_SECRET_KEY="+mock.TestSecretKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case line := <-lines:
		_, url, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
		if !ok {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("the mock printed %q", line)
		}
		return &mockProcess{cmd: cmd, url: url}, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("the mock did not start in 30s")
	}
}

func (m *mockProcess) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		<-done
	}
}

// memory reads a field of /proc/PID/status, in bytes.
func memory(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// caller sends signed requests.
type caller struct {
	base   string
	client *http.Client
}

func newCaller(base string, conns int) *caller {
	return &caller{base: base + "/v5/iot/" + mock.TestProjectID + "/device-policies", client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxIdleConns: conns},
	}}
}

func (c *caller) do(method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Project-Id", mock.TestProjectID)
	if err := signer.Sign(req, body, signer.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey}, time.Now()); err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type statement struct {
	Effect    string   `json:"effect"`
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
}

func (c *caller) createPolicy(name string) (string, error) {
	var p struct {
		PolicyID string `json:"policy_id"`
	}
	err := c.do(http.MethodPost, "", map[string]any{
		"policy_name": name,
		"statement":   []statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/load"}}},
	}, &p)
	return p.PolicyID, err
}

func (c *caller) bind(policyID, op string, ids ...string) error {
	var res struct {
		FailureTargets []json.RawMessage `json:"failure_targets"`
	}
	if err := c.do(http.MethodPost, "/"+policyID+"/"+op, map[string]any{"target_type": "device", "target_ids": ids}, &res); err != nil {
		return err
	}
	if len(res.FailureTargets) > 0 {
		return fmt.Errorf("%s: %d targets failed", op, len(res.FailureTargets))
	}
	return nil
}

type writeResult struct {
	writes, failed int64
	elapsed        time.Duration
	readCount      int
	p50, p99       time.Duration
}

func writeLoad(base string, bindings, writers int, duration time.Duration) (writeResult, error) {
	var res writeResult
	c := newCaller(base, writers+2)
	seed, err := c.createPolicy("seed")
	if err != nil {
		return res, err
	}
	for i := 0; i < bindings; i += 20 {
		ids := make([]string, 0, 20)
		for j := i; j < min(i+20, bindings); j++ {
			ids = append(ids, "seed-"+strconv.Itoa(j))
		}
		if err := c.bind(seed, "bind", ids...); err != nil {
			return res, fmt.Errorf("seeding: %w", err)
		}
	}
	load, err := c.createPolicy("load")
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var writes, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			id := "writer-" + strconv.Itoa(w)
			for i := 0; ctx.Err() == nil; i++ {
				op := "bind"
				if i%2 == 1 {
					op = "unbind"
				}
				if err := c.bind(load, op, id); err != nil {
					failed.Add(1)
					continue
				}
				writes.Add(1)
			}
		})
	}
	var latencies []time.Duration
	wg.Go(func() {
		for ctx.Err() == nil {
			t := time.Now()
			if err := c.do(http.MethodGet, "/"+seed, nil, nil); err != nil {
				failed.Add(1)
				continue
			}
			latencies = append(latencies, time.Since(t))
		}
	})
	wg.Wait()
	res.elapsed = time.Since(start)
	res.writes, res.failed = writes.Load(), failed.Load()
	res.readCount = len(latencies)
	if len(latencies) > 0 {
		slices.Sort(latencies)
		res.p50 = latencies[len(latencies)/2].Round(10 * time.Microsecond)
		res.p99 = latencies[len(latencies)*99/100].Round(10 * time.Microsecond)
	}
	return res, nil
}

// postLoad sends n unauthenticated POSTs of size bytes at once and returns
// how many were answered and how many failed.
func postLoad(base string, n, size int, forged bool) (answered, failed int) {
	body := bytes.Repeat([]byte("x"), size)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableKeepAlives: true}}
	url := base + "/v5/iot/" + mock.TestProjectID + "/device-policies"
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-gate
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				bad.Add(1)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			if forged {
				forge(req.Header)
			}
			resp, err := client.Do(req)
			if err != nil {
				bad.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ok.Add(1)
		})
	}
	close(gate)
	wg.Wait()
	return int(ok.Load()), int(bad.Load())
}

// forge adds a well-formed signature of the test access key that does not
// match: only the body can show it is wrong.
func forge(h http.Header) {
	h.Set(signer.HeaderDate, time.Now().UTC().Format(signer.DateFormat))
	h.Set(signer.HeaderAuthorization, signer.AlgorithmBasic+" Access="+mock.TestAccessKey+", SignedHeaders=x-sdk-date, Signature="+strings.Repeat("0", 64))
}

// slowLoad opens n connections that trickle a body and returns how long
// each stayed open, sorted.
func slowLoad(base string, n int) []time.Duration {
	addr := strings.TrimPrefix(base, "http://")
	held := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer conn.Close()
			h := http.Header{}
			forge(h)
			fmt.Fprintf(conn, "POST /v5/iot/%s/device-policies HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
				mock.TestProjectID, addr, 1<<20)
			_ = h.Write(conn)
			fmt.Fprint(conn, "\r\n")
			closed := make(chan struct{})
			go func() { _, _ = io.Copy(io.Discard, conn); close(closed) }()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			deadline := time.After(slowLimit)
		loop:
			for {
				select {
				case <-closed:
					break loop
				case <-deadline:
					break loop
				case <-tick.C:
					_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
					_, _ = conn.Write([]byte("x"))
				}
			}
			held[i] = time.Since(start)
		})
	}
	wg.Wait()
	slices.Sort(held)
	return held
}
