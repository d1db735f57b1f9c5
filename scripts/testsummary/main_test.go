package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// fixture.jsonl is the real `go test -json` output of a module with a
// passing, a failing (in a subtest), a skipped and a panicking test, and a
// package that does not build.
func TestRunFailingStream(t *testing.T) {
	in, err := os.Open("testdata/fixture.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	if code := run(in, &out, "example.com/fx", "Terraform v1.11.4 (/usr/bin/terraform)"); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	got := out.String()
	for _, want := range []string{
		"    a_test.go:10: want 2, got 3\n--- FAIL: TestFail/bad",
		"panic: assignment to entry in nil map",
		"c/c_test.go:5:33: undefined: undefined\n",
		"FAIL\texample.com/fx/c [build failed]\n",
		"a            5      2      2       1\n",
		"c            0      0      0       0  FAILED outside any test\n",
		"skipped: a TestSkip: needs Terraform 1.14 or later\n",
		"acceptance tests ran with Terraform v1.11.4 (/usr/bin/terraform)\n",
		"8 tests run in 3 packages\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// The build failure counts as a failure: 2 failed tests + 1 package.
	if !strings.HasSuffix(got, "\n3 passed, 4 failed, 1 skipped\n") {
		t.Errorf("the closing line is not the totals:\n%s", got)
	}
	// Passing tests stay quiet, as without -v.
	for _, quiet := range []string{"quiet", "=== RUN   TestPass", "TestFail/ok", "=== PAUSE", "=== CONT"} {
		if strings.Contains(got, quiet) {
			t.Errorf("output shows %q of a passing test or a pause:\n%s", quiet, got)
		}
	}
}

func TestRunPassingStream(t *testing.T) {
	stream := `{"Action":"start","Package":"m/p"}
{"Action":"run","Package":"m/p","Test":"TestA"}
{"Action":"output","Package":"m/p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Package":"m/p","Test":"TestA"}
{"Action":"run","Package":"m/p","Test":"TestB"}
{"Action":"output","Package":"m/p","Test":"TestB","Output":"    b_test.go:3: no CLI\n"}
{"Action":"output","Package":"m/p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip","Package":"m/p","Test":"TestB"}
{"Action":"output","Package":"m/p","Output":"PASS\n"}
{"Action":"output","Package":"m/p","Output":"ok  \tm/p\t0.1s\n"}
{"Action":"pass","Package":"m/p"}
{"Action":"start","Package":"m/q"}
{"Action":"output","Package":"m/q","Output":"?   \tm/q\t[no test files]\n"}
{"Action":"skip","Package":"m/q"}
`
	var out bytes.Buffer
	if code := run(strings.NewReader(stream), &out, "m", "OpenTofu v1.12.6 (/cache/tofu)"); code != 0 {
		t.Errorf("exit code %d, want 0:\n%s", code, out.String())
	}
	got := out.String()
	want := "ok  \tm/p\t0.1s\n?   \tm/q\t[no test files]\n\n" +
		"== tests per package (subtests included)\n" +
		"package    run passed failed skipped\n" +
		"p            2      1      0       1\n" +
		"skipped: p TestB: no CLI\n" +
		"acceptance tests ran with OpenTofu v1.12.6 (/cache/tofu)\n" +
		"2 tests run in 1 package\n" +
		"1 passed, 0 failed, 1 skipped\n"
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunNoTests(t *testing.T) {
	var out bytes.Buffer
	if code := run(strings.NewReader("go: no packages to test\n"), &out, "m", "x"); code != 1 {
		t.Errorf("exit code %d for a run without tests, want 1", code)
	}
	if !strings.HasPrefix(out.String(), "go: no packages to test\n") || !strings.HasSuffix(out.String(), "0 passed, 0 failed, 0 skipped\n") {
		t.Errorf("output:\n%s", out.String())
	}
}
