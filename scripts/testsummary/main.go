// Command testsummary reads the output of `go test -json` on standard input
// and prints what `go test` prints without -v (package results, and the full
// output of every test that failed, as soon as it fails), then a summary:
// tests run, passed, failed and skipped per package, the skipped tests with
// their reasons, the Terraform CLI the acceptance tests used, and a closing
// line of the form "N passed, N failed, N skipped".
//
//	go test -json ./... | go run ./scripts/testsummary -cli "$TF_ACC_TERRAFORM_PATH"
//
// Subtests count as tests. A package that fails outside any test (a build
// failure, a panic, a timeout) counts as one failed test, so the closing
// line never says "0 failed" for a run that failed. It exits 1 when anything
// failed or the input held no test at all.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (see `go doc cmd/test2json`), with the
// build events `go test -json` adds.
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// counts are the results of one package.
type counts struct {
	passed, failed, skipped int
	// failedOutside is set when the package failed with no test failing
	// (build failure, panic or timeout outside a test).
	failedOutside bool
}

func (c counts) run() int { return c.passed + c.failed + c.skipped }

// skip is a skipped test and the reason it gave.
type skip struct{ pkg, test, reason string }

// summary accumulates the stream.
type summary struct {
	out      io.Writer
	packages map[string]*counts
	order    []string
	// output buffers each running test's lines until it ends; they are
	// printed only if it fails.
	output map[string][]string
	skips  []skip
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, packages: map[string]*counts{}, output: map[string][]string{}}
}

func (s *summary) pkg(name string) *counts {
	c, ok := s.packages[name]
	if !ok {
		c = &counts{}
		s.packages[name] = c
		s.order = append(s.order, name)
	}
	return c
}

// add handles one event.
func (s *summary) add(e event) {
	if e.Action == "build-output" {
		fmt.Fprint(s.out, e.Output)
		return
	}
	if e.Package == "" {
		return
	}
	key := e.Package + " " + e.Test
	if e.Test == "" {
		s.addPackage(e)
		return
	}
	switch e.Action {
	case "output":
		if !strings.HasPrefix(e.Output, "=== PAUSE") && !strings.HasPrefix(e.Output, "=== CONT") {
			s.output[key] = append(s.output[key], e.Output)
		}
	case "pass":
		s.pkg(e.Package).passed++
		delete(s.output, key)
	case "skip":
		s.pkg(e.Package).skipped++
		s.skips = append(s.skips, skip{e.Package, e.Test, skipReason(s.output[key])})
		delete(s.output, key)
	case "fail":
		s.pkg(e.Package).failed++
		s.flush(key)
	}
}

// addPackage handles an event of a package as a whole.
func (s *summary) addPackage(e event) {
	switch e.Action {
	case "start":
		s.pkg(e.Package)
	case "output":
		if e.Output != "PASS\n" && e.Output != "FAIL\n" {
			fmt.Fprint(s.out, e.Output)
		}
	case "fail":
		c := s.pkg(e.Package)
		// Tests still running when their package failed (a panic or a
		// timeout) never get an event of their own: show what they printed.
		prefix := e.Package + " "
		var running []string
		for key := range s.output {
			if strings.HasPrefix(key, prefix) {
				running = append(running, key)
			}
		}
		sort.Strings(running)
		for _, key := range running {
			s.flush(key)
		}
		if c.failed == 0 {
			c.failedOutside = true
		}
	}
}

// flush prints a test's buffered output.
func (s *summary) flush(key string) {
	for _, line := range s.output[key] {
		fmt.Fprint(s.out, line)
	}
	delete(s.output, key)
}

// skipReason picks the message a test gave t.Skip from its output: the
// last "    file_test.go:NN: message" line before "--- SKIP".
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "--- SKIP") || strings.HasPrefix(line, "=== ") {
			continue
		}
		if _, msg, ok := strings.Cut(line, ".go:"); ok {
			if _, msg, ok := strings.Cut(msg, ": "); ok {
				return msg
			}
		}
		return line
	}
	return "no reason given"
}

// totals adds up every package.
func (s *summary) totals() (total counts, failedPackages []string) {
	for _, name := range s.order {
		c := s.packages[name]
		total.passed += c.passed
		total.failed += c.failed
		total.skipped += c.skipped
		if c.failedOutside {
			total.failed++
			failedPackages = append(failedPackages, name)
		}
	}
	return total, failedPackages
}

// report prints the summary; module is trimmed from package names and cli
// describes the Terraform CLI.
func (s *summary) report(module, cli string) (failed bool) {
	trim := func(p string) string {
		if p == module {
			return "."
		}
		return strings.TrimPrefix(p, module+"/")
	}
	total, failedPackages := s.totals()
	fmt.Fprintln(s.out)
	fmt.Fprintln(s.out, "== tests per package (subtests included)")
	width := len("package")
	for _, name := range s.order {
		width = max(width, len(trim(name)))
	}
	fmt.Fprintf(s.out, "%-*s %6s %6s %6s %7s\n", width, "package", "run", "passed", "failed", "skipped")
	for _, name := range s.order {
		c := s.packages[name]
		if c.run() == 0 && !c.failedOutside {
			continue
		}
		note := ""
		if c.failedOutside {
			note = "  FAILED outside any test"
		}
		fmt.Fprintf(s.out, "%-*s %6d %6d %6d %7d%s\n", width, trim(name), c.run(), c.passed, c.failed, c.skipped, note)
	}
	for _, sk := range s.skips {
		fmt.Fprintf(s.out, "skipped: %s %s: %s\n", trim(sk.pkg), sk.test, sk.reason)
	}
	for _, p := range failedPackages {
		fmt.Fprintf(s.out, "FAIL: %s failed outside any test (build failure, panic or timeout: see above)\n", trim(p))
	}
	fmt.Fprintf(s.out, "acceptance tests ran with %s\n", cli)
	withTests := 0
	for _, name := range s.order {
		if c := s.packages[name]; c.run() > 0 || c.failedOutside {
			withTests++
		}
	}
	plural := "s"
	if withTests == 1 {
		plural = ""
	}
	fmt.Fprintf(s.out, "%d tests run in %d package%s\n", total.run(), withTests, plural)
	fmt.Fprintf(s.out, "%d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped)
	return total.failed > 0 || total.run() == 0
}

// describeCLI runs `cli version` and returns its first line and path.
func describeCLI(cli string) string {
	if cli == "" {
		return "no CLI given (TF_ACC_TERRAFORM_PATH is not set)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Sprintf("%s (its version is unknown: %v)", cli, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return fmt.Sprintf("%s (%s)", strings.TrimSpace(first), cli)
}

// modulePath reads the module path from go.mod in the current folder.
func modulePath() string {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

func main() {
	cli := flag.String("cli", "", "path of the Terraform CLI the acceptance tests used")
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, modulePath(), describeCLI(*cli)))
}

// run reads the stream from in and writes to out; it returns the exit code.
func run(in io.Reader, out io.Writer, module, cli string) int {
	s := newSummary(out)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// Not an event (go vet or the go command itself): pass it on.
			fmt.Fprintln(out, sc.Text())
			continue
		}
		s.add(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testsummary: reading the test output: %v\n", err)
		s.report(module, cli)
		return 1
	}
	if s.report(module, cli) {
		return 1
	}
	return 0
}
