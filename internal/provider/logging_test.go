package provider

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestClientLogsMaskSecrets sends real requests with a client logging
// through tflog and checks the log has each request and no secret, even when
// a secret ends up in a logged field.
func TestClientLogsMaskSecrets(t *testing.T) {
	t.Parallel()
	const token = "iam-token-that-must-not-leak"
	srv := mock.NewTestServer(t, mock.Config{Tokens: []string{token}})
	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	logger := tflogLogger{secrets: []string{mock.TestSecretKey, token}}

	for _, creds := range []iotda.Credentials{
		{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
		{AuthToken: token},
	} {
		client, err := iotda.New(iotda.Config{Endpoint: srv.URL, ProjectID: mock.TestProjectID, Credentials: creds, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.ListPolicies(ctx, iotda.ListPoliciesFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	logger.Debug(ctx, "a message quoting "+token, map[string]any{"header": "X-Auth-Token: " + token, "secret": mock.TestSecretKey})

	text := out.String()
	entries, err := tflogtest.MultilineJSONDecode(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d log entries, want 3 (two requests and one message)", len(entries))
	}
	if entries[0]["operation"] != "ListDevicePolicies" || entries[0]["status"] != float64(200) {
		t.Errorf("request entry = %v", entries[0])
	}
	for _, secret := range []string{token, mock.TestSecretKey} {
		if strings.Contains(text, secret) {
			t.Errorf("the log contains the secret %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "***") {
		t.Errorf("nothing was masked:\n%s", text)
	}
}

// TestFrameworkTraceOnlyWhenKept runs the built provider under the CLI with
// its standard error (where it writes its logs for the CLI to read)
// captured, and checks the plugin framework writes trace lines only when
// the CLI keeps them: not at all without a log variable, none at DEBUG, and
// as before at TRACE or when TF_LOG_SDK_FRAMEWORK or TF_LOG_SDK asks for
// them.
func TestFrameworkTraceOnlyWhenKept(t *testing.T) {
	t.Parallel()
	cliProviderConfig(t)
	provider := filepath.Join(sharedCLIDir, "bin", "terraform-provider-iotda")
	tf := terraformCLI(t)
	srv := mock.NewTestServer(t, mock.Config{})
	for _, tc := range []struct {
		env              string
		framework, trace bool // framework lines at any level; trace lines
	}{
		{"", false, false},
		{"TF_LOG=DEBUG", true, false},
		{"TF_LOG=TRACE", true, true},
		{"TF_LOG_PROVIDER=trace", true, true},
		{"TF_LOG_SDK_FRAMEWORK=trace", true, true},
		{"TF_LOG_SDK=trace", true, true}, // the level of every SDK logger, the framework's too
	} {
		t.Run(cmp.Or(tc.env, "no log variable"), func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			stderr := filepath.Join(work, "stderr.log")
			wrapper := "#!/bin/sh\nexec '" + provider + "' \"$@\" 2>>'" + stderr + "'\n"
			if err := os.MkdirAll(filepath.Join(work, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(work, "bin", "terraform-provider-iotda"), []byte(wrapper), 0o700); err != nil { //nolint:gosec // an executable script
				t.Fatal(err)
			}
			cliConfig := overridesConfig(t, map[string]string{"iotda-terraform/iotda": filepath.Join(work, "bin")})
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(requiredProviders+bindingConfig(srv, deviceIDs(0, 3))), 0o600); err != nil {
				t.Fatal(err)
			}
			env := []string{"TF_LOG=", "TF_LOG_PROVIDER=", "TF_LOG_SDK=", "TF_LOG_SDK_PROTO=", "TF_LOG_SDK_FRAMEWORK=", "TF_LOG_PATH=" + filepath.Join(work, "cli.log")}
			if tc.env != "" {
				env = append(env, tc.env)
			}
			if out, err := runTerraform(tf, dir, cliConfig, env, "plan", "-no-color"); err != nil {
				t.Fatalf("plan: %v\n%s", err, out)
			}
			logs, err := os.ReadFile(stderr)
			if err != nil {
				t.Fatal(err)
			}
			var proto, framework, trace int
			for _, line := range strings.Split(string(logs), "\n") {
				switch {
				case strings.Contains(line, `"@module":"sdk.proto"`):
					proto++
				case strings.Contains(line, `"@module":"sdk.framework"`):
					framework++
					if strings.Contains(line, `"@level":"trace"`) {
						trace++
					}
				}
			}
			if proto == 0 {
				t.Fatalf("no sdk.proto line on the provider's standard error: it was not captured\n%s", logs)
			}
			if (framework > 0) != tc.framework || (trace > 0) != tc.trace {
				t.Errorf("%d framework lines, %d at trace; want framework lines: %v, trace lines: %v", framework, trace, tc.framework, tc.trace)
			}
		})
	}
}
