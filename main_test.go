package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionInjected builds the provider the way the Makefile and the
// release do and checks that -version prints what the build injected.
func TestVersionInjected(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "terraform-provider-iotda")
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-X main.version=9.8.7-test -X main.commit=0123abc", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-version").CombinedOutput()
	if err != nil {
		t.Fatalf("-version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "terraform-provider-iotda 9.8.7-test (commit 0123abc)"; got != want {
		t.Errorf("-version printed %q, want %q", got, want)
	}
}

func TestVersionLineWithoutCommit(t *testing.T) {
	if got, want := versionLine(), "terraform-provider-iotda dev"; got != want {
		t.Errorf("versionLine() = %q, want %q", got, want)
	}
}

func TestFrameworkLogLevel(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		level string // "" when the framework is left alone
	}{
		{map[string]string{}, "OFF"},
		{map[string]string{"TF_LOG": "off"}, "OFF"},
		{map[string]string{"TF_LOG": "debug"}, "DEBUG"},
		{map[string]string{"TF_LOG": "Info"}, "INFO"},
		{map[string]string{"TF_LOG": " INFO "}, ""}, // the CLI does not trim: an unknown level, read as trace
		{map[string]string{"TF_LOG": "WARN"}, "WARN"},
		{map[string]string{"TF_LOG": "ERROR"}, "ERROR"},
		{map[string]string{"TF_LOG": "TRACE"}, ""},
		{map[string]string{"TF_LOG": "JSON"}, ""},                                   // trace, as JSON
		{map[string]string{"TF_LOG": "verbose"}, ""},                                // the CLI reads an unknown level as trace
		{map[string]string{"TF_LOG": "TRACE", "TF_LOG_PROVIDER": "ERROR"}, "ERROR"}, // the provider's level wins
		{map[string]string{"TF_LOG": "ERROR", "TF_LOG_PROVIDER": "trace"}, ""},
		{map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"}, ""}, // the user's choice
		{map[string]string{"TF_LOG_SDK_FRAMEWORK": "error", "TF_LOG": "trace"}, ""},
		{map[string]string{"TF_LOG_SDK": "off", "TF_LOG": "debug"}, ""}, // the user's choice for every SDK logger
		{map[string]string{"TF_LOG_SDK": "trace"}, ""},
	} {
		level, ok := frameworkLogLevel(func(name string) string { return tc.env[name] })
		if ok != (tc.level != "") || level != tc.level {
			t.Errorf("%v: frameworkLogLevel = %q, %v; want %q", tc.env, level, ok, tc.level)
		}
	}
}
