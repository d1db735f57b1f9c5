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
