package provider

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// Tests that speak to a mock of their own, not through an accTarget.

// createPolicy creates a policy in the default resource space out of
// band, as another user of the API would.
func createPolicy(t testing.TB, srv *mock.TestServer, name string, statements ...iotda.Statement) mock.Policy {
	t.Helper()
	stmts := make([]mock.Statement, len(statements))
	for i, s := range statements {
		stmts[i] = mock.Statement(s)
	}
	p, err := srv.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: name, Statement: stmts})
	if err != nil {
		t.Fatalf("creating policy %s: %v", name, err)
	}
	return p
}

// bindTargets binds targets out of band.
func bindTargets(t *testing.T, srv *mock.TestServer, policyID, targetType string, ids ...string) {
	t.Helper()
	if _, err := srv.Bind("", policyID, targetType, ids...); err != nil {
		t.Fatalf("binding %s %v to %s: %v", targetType, ids, policyID, err)
	}
}

// policyConfig is a policy with one ALLOW statement over the given
// resources and a DENY statement on the firmware topics.
func policyConfig(srv *mock.TestServer, name string, resources ...string) string {
	quoted := make([]string, len(resources))
	for i, r := range resources {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	return providerBlock(srv) + policyBlock(name, "", quoted)
}

// checkNoPolicies is a CheckDestroy that asks the mock.
func checkNoPolicies(srv *mock.TestServer) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if left := srv.Policies(""); len(left) != 0 {
			return fmt.Errorf("%d device policies still exist after destroy", len(left))
		}
		return nil
	}
}

// bindingConfig is a policy and a binding of the given devices to it.
func bindingConfig(srv *mock.TestServer, ids []string) string {
	return providerBlock(srv) + `
resource "iotda_device_policy" "test" {
  policy_name = "fleet"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/up"]
  }
}
` + bindingBlock(ids)
}

// testAccProviderFactories start a fresh provider for each use, with
// fastRetries.
var testAccProviderFactories = providerFactories(fastRetries)

// fastRetries makes the client wait only milliseconds between retries, so
// that tests of injected faults stay fast.
func fastRetries(cfg *iotda.Config) {
	cfg.RetryWaitMin = 10 * time.Millisecond
	cfg.RetryWaitMax = 50 * time.Millisecond
}

// providerFactories serve newTestProvider(adjust).
func providerFactories(adjust func(*iotda.Config)) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"iotda": func() (tfprotov6.ProviderServer, error) {
			return NewProtocol6(newTestProvider(adjust))(), nil
		},
	}
}

// newTestProvider is the provider whose client configuration adjust changes
// after the provider block is read, as terraform-provider-time's
// NewTestProvider swaps its clock.
func newTestProvider(adjust func(*iotda.Config)) provider.Provider {
	return &iotdaProvider{version: "test", getenv: os.Getenv, newClient: func(cfg iotda.Config) (*iotda.Client, error) {
		adjust(&cfg)
		return iotda.New(cfg)
	}}
}

// providerBlock configures the provider for srv with the mock's test keys.
func providerBlock(srv *mock.TestServer) string {
	return providerBlockWith(srv, mock.TestSecretKey, "")
}

func providerBlockWith(srv *mock.TestServer, secretKey, extra string) string {
	return fmt.Sprintf(`
provider "iotda" {
  endpoint    = %q
  region      = "cn-north-4"
  project_id  = %q
  access_key  = %q
  secret_key  = %q
  max_retries = 2
%s
}
`, srv.URL, mock.TestProjectID, mock.TestAccessKey, secretKey, extra)
}
