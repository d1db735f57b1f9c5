package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// The mock's figures under load, over HTTP on 127.0.0.1 with keep-alive
// connections, as a client sees them:
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/mock/

// benchSeed is how many bindings the state holds before the write load.
const benchSeed = 5500

// benchServer starts a mock on 127.0.0.1 that keeps connections alive,
// stopped with the benchmark.
func benchServer(b *testing.B, statePath string) (*Server, *benchClient) {
	b.Helper()
	s, err := New(Config{ProjectID: TestProjectID, Credentials: []Credential{{AccessKey: TestAccessKey, SecretKey: TestSecretKey}}, StatePath: statePath})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	b.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			b.Error(err)
		}
	})
	return s, &benchClient{
		base: hs.URL + "/v5/iot/" + TestProjectID + "/device-policies",
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
}

// benchClient sends signed requests and is safe for concurrent use.
type benchClient struct {
	base string
	http *http.Client
}

func (c *benchClient) do(method, path string, in any) error {
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
	req.Header.Set("Content-Type", "application/json")
	if err := signer.Sign(req, body, signer.Credentials{AccessKey: TestAccessKey, SecretKey: TestSecretKey}, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return nil
}

// BenchmarkWrites runs 1, 4, 16 and 64 concurrent writers, each binding
// and unbinding a target of its own (one write per call) on a policy,
// while one reader reads another policy, which has 5,500 bindings, again
// and again. It reports the acknowledged writes per second and the read
// latency, in memory and with a state file.
func BenchmarkWrites(b *testing.B) {
	for _, withState := range []bool{false, true} {
		for _, writers := range []int{1, 4, 16, 64} {
			name := "memory"
			if withState {
				name = "state"
			}
			b.Run(fmt.Sprintf("%s/writers=%d", name, writers), func(b *testing.B) {
				var path string
				if withState {
					path = filepath.Join(b.TempDir(), "state.db")
				}
				benchWrites(b, path, writers)
			})
		}
	}
}

// benchWrites is one run of BenchmarkWrites: b.N writes shared by writers.
func benchWrites(b *testing.B, path string, writers int) {
	s, c := benchServer(b, path)
	seed := mustCreate(b, s, "", "seed")
	ids := make([]string, benchSeed)
	for i := range ids {
		ids[i] = "seed-" + strconv.Itoa(i)
	}
	if _, err := s.Bind("", seed.PolicyID, targetTypeDevice, ids...); err != nil {
		b.Fatal(err)
	}
	load := mustCreate(b, s, "", "load")

	stop, stopped := make(chan struct{}), make(chan struct{})
	var latencies []time.Duration
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if err := c.do(http.MethodGet, "/"+seed.PolicyID, nil); err != nil {
				b.Error(err)
				return
			}
			latencies = append(latencies, time.Since(start))
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			id := fmt.Sprintf("writer-%d", w)
			for i := 0; next.Add(1) <= int64(b.N); i++ {
				op := "/bind"
				if i%2 == 1 {
					op = "/unbind"
				}
				if err := c.do(http.MethodPost, "/"+load.PolicyID+op, bindBody(targetTypeDevice, id)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	<-stopped
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "writes/s")
	if len(latencies) > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "read-p50-µs")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "read-p99-µs")
	}
}

// BenchmarkLargeBodies sends 256 concurrent POSTs of 1 MiB each with a
// well-formed signature that does not match, so the mock reads each body
// before it refuses it, and reports the peak heap in use meanwhile: the
// bodies in memory at once are bounded (DefaultMaxBodies).
func BenchmarkLargeBodies(b *testing.B) {
	const posts = 256
	_, c := benchServer(b, "")
	body := bytes.Repeat([]byte("x"), maxBodyBytes)
	var peak atomic.Uint64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for range posts {
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodPost, c.base, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set(signer.HeaderDate, time.Now().UTC().Format(signer.DateFormat))
				req.Header.Set(signer.HeaderAuthorization, signer.AlgorithmBasic+" Access="+TestAccessKey+", SignedHeaders=x-sdk-date, Signature="+strings.Repeat("0", 64))
				resp, err := c.http.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					b.Errorf("status %d, want 401", resp.StatusCode)
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	close(stop)
	<-stopped
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
