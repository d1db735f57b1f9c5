package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// Installing the provider as an organisation without a clone does: from a
// release of a real version built by scripts/release.sh (with SHA256SUMS
// signed by a throw-away GPG key), laid out by `scripts/release.sh mirror`
// as a filesystem mirror that is also a network mirror, with a lock file
// that pins every released platform; no dev_overrides.

const (
	// releaseVersion is a real version, not a pre-release: `init` takes it
	// with an ordinary version constraint (versionConstraint).
	releaseVersion    = "0.1.0"
	versionConstraint = "~> 0.1"
	// mirrorSource names the host, so that OpenTofu (which reads a bare
	// iotda-terraform/iotda as registry.opentofu.org/iotda-terraform/iotda)
	// looks for what Terraform looks for: one mirror, one lock file.
	mirrorSource = "registry.terraform.io/iotda-terraform/iotda"
)

// release is a build of releaseVersion and its mirror.
type release struct {
	dist      string   // the build (DIST of scripts/release.sh)
	mirror    string   // what `scripts/release.sh mirror` made of it
	platforms []string // the provider's platforms in .goreleaser.yml
	sums      []byte   // the SHA256SUMS file
	signature []byte   // its detached signature
	publicKey []byte   // the armored public key that made it
}

var (
	releaseOnce   sync.Once
	sharedRelease *release
	releaseErr    error
	releaseTook   time.Duration
	// releaseDir holds the build and the GPG home; TestMain removes it.
	releaseDir string
)

// buildRelease builds the release once per test binary: goreleaser builds
// every platform, which takes minutes.
func buildRelease(t *testing.T) *release {
	t.Helper()
	releaseOnce.Do(func() {
		start := time.Now()
		sharedRelease, releaseErr = makeRelease()
		releaseTook = time.Since(start)
	})
	if releaseErr != nil {
		t.Fatal(releaseErr)
	}
	t.Logf("release %s of %d platforms built, signed and mirrored in %s", releaseVersion, len(sharedRelease.platforms), releaseTook.Round(time.Second))
	return sharedRelease
}

func makeRelease() (*release, error) {
	dir, err := os.MkdirTemp("", "iotda-release-") //nolint:usetesting // shared by every test of the binary, removed by TestMain
	if err != nil {
		return nil, err
	}
	releaseDir = dir
	r := &release{dist: filepath.Join(dir, "dist"), mirror: filepath.Join(dir, "mirror")}
	gnupg := filepath.Join(dir, "gnupg")
	if err := os.Mkdir(gnupg, 0o700); err != nil {
		return nil, err
	}
	gpgEnv := slices.Concat(os.Environ(), []string{"GNUPGHOME=" + gnupg})
	// gpg starts an agent for the key; it must not outlive the build.
	defer func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = gpgEnv
		_ = kill.Run()
	}()
	run := func(env []string, name string, args ...string) ([]byte, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return out, nil
	}
	if _, err := run(gpgEnv, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "IoTDA provider release test <release-test@example.invalid>", "ed25519", "sign", "1d"); err != nil {
		return nil, err
	}
	keys, err := run(gpgEnv, "gpg", "--batch", "--with-colons", "--list-secret-keys")
	if err != nil {
		return nil, err
	}
	fingerprint := regexp.MustCompile(`(?m)^fpr:+([0-9A-F]{40}):`).FindSubmatch(keys)
	if fingerprint == nil {
		return nil, fmt.Errorf("no fingerprint in gpg --list-secret-keys:\n%s", keys)
	}
	if r.publicKey, err = run(gpgEnv, "gpg", "--batch", "--armor", "--export", string(fingerprint[1])); err != nil {
		return nil, err
	}
	buildEnv := slices.Concat(gpgEnv, []string{"VERSION=" + releaseVersion, "DIST=" + r.dist, "GPG_FINGERPRINT=" + string(fingerprint[1])})
	if _, err := run(buildEnv, "../../scripts/release.sh", "build"); err != nil {
		return nil, err
	}
	if _, err := run(buildEnv, "../../scripts/release.sh", "mirror", r.mirror); err != nil {
		return nil, err
	}
	sums := filepath.Join(r.dist, "terraform-provider-iotda_"+releaseVersion+"_SHA256SUMS")
	if r.sums, err = os.ReadFile(sums); err != nil {
		return nil, err
	}
	if r.signature, err = os.ReadFile(sums + ".sig"); err != nil {
		return nil, err
	}
	config, err := os.ReadFile("../../.goreleaser.yml")
	if err != nil {
		return nil, err
	}
	// The first targets: list is the provider's build (the script keeps each on one line).
	targets := regexp.MustCompile(`(?m)^ *targets: \[(.*)\]$`).FindSubmatch(config)
	if targets == nil {
		return nil, fmt.Errorf("no targets: list in .goreleaser.yml")
	}
	r.platforms = strings.Split(strings.ReplaceAll(string(targets[1]), " ", ""), ",")
	return r, nil
}

// archive is the file name of the provider's archive for platform.
func (r *release) archive(platform string) string {
	return "terraform-provider-iotda_" + releaseVersion + "_" + platform + ".zip"
}

// h1 is the lock file hash of platform's archive, computed here from its files.
func (r *release) h1(t *testing.T, platform string) string {
	t.Helper()
	h, err := dirhash.HashZip(filepath.Join(r.dist, r.archive(platform)), dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// lockFile is the lock file `providers lock` writes for every platform,
// without the CLI's header comment (which names the CLI).
func (r *release) lockFile(t *testing.T) string {
	t.Helper()
	var hashes []string
	for _, p := range r.platforms {
		hashes = append(hashes, r.h1(t, p))
	}
	slices.Sort(hashes)
	var b strings.Builder
	fmt.Fprintf(&b, "provider %q {\n  version     = %q\n  constraints = %q\n  hashes = [\n", mirrorSource, releaseVersion, versionConstraint)
	for _, h := range hashes {
		fmt.Fprintf(&b, "    %q,\n", h)
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

// TestReleaseSignedChecksums checks what a private registry and the CLIs
// check: every platform's archive has the SHA-256 that SHA256SUMS lists,
// and the signature of SHA256SUMS verifies with the key that made it (with
// the OpenPGP library the CLIs verify with), and fails for changed sums.
func TestReleaseSignedChecksums(t *testing.T) {
	t.Parallel()
	r := buildRelease(t)
	listed := map[string]string{}
	for line := range strings.Lines(string(r.sums)) {
		sum, file, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not \"<sum>  <file>\"", line)
		}
		listed[file] = sum
	}
	for _, p := range r.platforms {
		data, err := os.ReadFile(filepath.Join(r.dist, r.archive(p)))
		if err != nil {
			t.Fatalf("platform %s of .goreleaser.yml: %v", p, err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != listed[r.archive(p)] {
			t.Errorf("%s: SHA-256 %x, SHA256SUMS lists %q", r.archive(p), got, listed[r.archive(p)])
		}
	}
	keyring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(r.publicKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(r.sums), bytes.NewReader(r.signature), nil); err != nil {
		t.Errorf("the signature of SHA256SUMS does not verify: %v", err)
	}
	changed := bytes.Replace(r.sums, []byte(listed[r.archive(r.platforms[0])]), []byte(strings.Repeat("0", 64)), 1)
	if _, err := openpgp.CheckDetachedSignature(keyring, bytes.NewReader(changed), bytes.NewReader(r.signature), nil); err == nil {
		t.Error("the signature of SHA256SUMS verifies for changed sums")
	}
}

// TestInstallFromMirrors installs the release with the CLI under test:
// a lock file for every platform from the filesystem mirror (`providers
// lock`, offline), `init` from the filesystem mirror, `init
// -lockfile=readonly` with that lock file in a second folder from the
// network mirror served over HTTPS, and an apply and destroy there against
// the mock.
func TestInstallFromMirrors(t *testing.T) {
	t.Parallel()
	r := buildRelease(t)
	tf := terraformCLI(t)
	srv := mock.NewTestServer(t, mock.Config{})
	// The configuration of the index page's "Trying it against the mock".
	config := fmt.Sprintf(`terraform {
  required_providers {
    iotda = {
      source  = %q
      version = %q
    }
  }
}

provider "iotda" {}

resource "iotda_device_policy" "telemetry" {
  policy_name = "telemetry-own-topics"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
}
`, mirrorSource, versionConstraint)
	checkMirrorIndex(t, r)

	// The filesystem mirror.
	fsConfig := writeCLIConfig(t, fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [%q]\n  }\n}\n", r.mirror, mirrorSource))
	first := t.TempDir()
	writeFile(t, filepath.Join(first, "main.tf"), config)
	args := []string{"providers", "lock", "-fs-mirror=" + r.mirror}
	for _, p := range r.platforms {
		args = append(args, "-platform="+p)
	}
	args = append(args, mirrorSource)
	runCLI(t, tf, first, fsConfig, nil, args...)
	lock := readFile(t, filepath.Join(first, ".terraform.lock.hcl"))
	t.Logf("providers lock wrote:\n%s", lock)
	if got, want := withoutComments(lock), r.lockFile(t); got != want {
		t.Fatalf("providers lock wrote\n%s\nwant (h1: hashes of the archives' files)\n%s", got, want)
	}
	runCLI(t, tf, first, fsConfig, nil, "init")
	if got := readFile(t, filepath.Join(first, ".terraform.lock.hcl")); got != lock {
		t.Errorf("init from the filesystem mirror changed the lock file:\n%s", got)
	}
	expectInstalled(t, tf, first, fsConfig)

	// A lock file whose hash of this platform is another's: the CLI refuses the archive.
	tampered := t.TempDir()
	writeFile(t, filepath.Join(tampered, "main.tf"), config)
	host := runtime.GOOS + "_" + runtime.GOARCH
	other := r.platforms[0]
	if other == host {
		other = r.platforms[1]
	}
	writeFile(t, filepath.Join(tampered, ".terraform.lock.hcl"), strings.ReplaceAll(lock, r.h1(t, host), r.h1(t, other)))
	// (The CLI may wrap the message: compare with single spaces.)
	if out, err := runTerraform(tf, tampered, fsConfig, nil, "init", "-lockfile=readonly", "-no-color"); err == nil ||
		!strings.Contains(strings.Join(strings.Fields(string(out)), " "), "match any of the checksums previously recorded") {
		t.Errorf("init with a lock file naming other hashes: %v, want a checksum error:\n%s", err, out)
	}

	// The network mirror, over HTTPS with a certificate the CLI is told to trust.
	var mu sync.Mutex
	var requested []string
	files := http.FileServer(http.Dir(r.mirror))
	mirror := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		requested = append(requested, req.URL.Path)
		mu.Unlock()
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(mirror.Close)
	certFile := filepath.Join(t.TempDir(), "mirror.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mirror.Certificate().Raw})))
	tlsEnv := []string{"SSL_CERT_FILE=" + certFile}
	netConfig := writeCLIConfig(t, fmt.Sprintf("provider_installation {\n  network_mirror {\n    url     = %q\n    include = [%q]\n  }\n}\n", mirror.URL+"/", mirrorSource))
	second := t.TempDir()
	writeFile(t, filepath.Join(second, "main.tf"), config)
	writeFile(t, filepath.Join(second, ".terraform.lock.hcl"), lock)
	runCLI(t, tf, second, netConfig, tlsEnv, "init", "-lockfile=readonly")
	mu.Lock()
	got := slices.Clone(requested)
	mu.Unlock()
	base := "/" + mirrorSource + "/"
	for _, want := range []string{base + "index.json", base + releaseVersion + ".json", base + r.archive(host)} {
		if !slices.Contains(got, want) {
			t.Errorf("init did not ask the network mirror for %s (asked: %q)", want, got)
		}
	}
	expectInstalled(t, tf, second, netConfig)

	// The provider installed from the network mirror manages a policy.
	runCLI(t, tf, second, netConfig, mockEnv(srv), "apply", "-auto-approve")
	if ps := srv.Policies(""); len(ps) != 1 || ps[0].PolicyName != "telemetry-own-topics" {
		t.Errorf("after apply the mock holds %+v, want the policy telemetry-own-topics", ps)
	}
	runCLI(t, tf, second, netConfig, mockEnv(srv), "plan", "-detailed-exitcode")
	runCLI(t, tf, second, netConfig, mockEnv(srv), "destroy", "-auto-approve")
	if ps := srv.Policies(""); len(ps) != 0 {
		t.Errorf("after destroy the mock holds %+v", ps)
	}
}

// checkMirrorIndex checks the network mirror's JSON files: the release's
// version, and for each platform its archive with the h1: hash of its
// files and the zh: hash (SHA-256) of SHA256SUMS.
func checkMirrorIndex(t *testing.T, r *release) {
	t.Helper()
	dir := filepath.Join(r.mirror, mirrorSource)
	var index struct {
		Versions map[string]struct{} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "index.json"))), &index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if _, ok := index.Versions[releaseVersion]; !ok || len(index.Versions) != 1 {
		t.Errorf("index.json lists %v, want %s", index.Versions, releaseVersion)
	}
	var version struct {
		Archives map[string]struct {
			URL    string   `json:"url"`
			Hashes []string `json:"hashes"`
		} `json:"archives"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, releaseVersion+".json"))), &version); err != nil {
		t.Fatalf("%s.json: %v", releaseVersion, err)
	}
	if len(version.Archives) != len(r.platforms) {
		t.Errorf("%s.json lists %d archives, want one for each of %q", releaseVersion, len(version.Archives), r.platforms)
	}
	for _, p := range r.platforms {
		a := version.Archives[p]
		sum := regexp.MustCompile(`(?m)^([0-9a-f]{64})  ` + regexp.QuoteMeta(r.archive(p)) + `$`).FindSubmatch(r.sums)
		if sum == nil {
			t.Fatalf("SHA256SUMS does not list %s", r.archive(p))
		}
		want := []string{r.h1(t, p), "zh:" + string(sum[1])}
		if a.URL != r.archive(p) || !slices.Equal(a.Hashes, want) {
			t.Errorf("%s.json: %s is %+v, want url %s and hashes %q", releaseVersion, p, a, r.archive(p), want)
		}
	}
}

// expectInstalled fails unless the CLI in dir reports the provider at the
// release's version (from the mirror, not a build of this checkout).
func expectInstalled(t *testing.T, tf, dir, cliConfig string) {
	t.Helper()
	out := runCLI(t, tf, dir, cliConfig, nil, "version")
	if want := "provider " + mirrorSource + " v" + releaseVersion; !strings.Contains(out, want) {
		t.Errorf("version does not say %q:\n%s", want, out)
	}
}

// withoutComments drops the comment lines at the top of a lock file.
func withoutComments(lock string) string {
	for strings.HasPrefix(lock, "#") || strings.HasPrefix(lock, "\n") {
		_, lock, _ = strings.Cut(lock, "\n")
	}
	return lock
}

func runCLI(t *testing.T, tf, dir, cliConfig string, env []string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := runTerraform(tf, dir, cliConfig, env, append(args, "-no-color")...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tf), strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s: %s", filepath.Base(tf), args[0], time.Since(start).Round(time.Millisecond))
	return string(out)
}

func writeCLIConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cli.tfrc")
	writeFile(t, path, text)
	return path
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
