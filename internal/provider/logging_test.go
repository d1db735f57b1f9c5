package provider

import (
	"bytes"
	"context"
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
