package provider

import (
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// providerEnv lists the environment variables the provider reads.
var providerEnv = []string{
	"HW_REGION_NAME", "HW_IOTDA_ENDPOINT", "HW_IOTDA_ACCESS_ADDRESS", "HW_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID",
	"HW_IOTDA_INSTANCE_ID", "HW_ACCESS_KEY", "HUAWEICLOUD_SDK_AK", "HW_SECRET_KEY", "HUAWEICLOUD_SDK_SK",
	"HW_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN", "HW_AUTH_TOKEN",
}

// TestMain keeps the caller's provider settings (real credentials, an
// instance id) out of the tests, which configure everything themselves
// or take them from realSettings. With -sweep=<region> it runs the
// sweepers instead of the tests (resource.TestMain). Started by a CLI as
// the huaweicloud provider, the test binary serves the stand-in of
// huaweicloud_standin_test.go instead.
func TestMain(m *testing.M) {
	if serveHuaweicloudStandIn() {
		return
	}
	for _, name := range providerEnv {
		realSettings[name] = os.Getenv(name)
		_ = os.Unsetenv(name)
	}
	resource.TestMain(cleanupAfter{m})
}

// cleanupAfter runs the tests, then removes the shared CLI and release folders;
// resource.TestMain exits with the result.
type cleanupAfter struct{ m *testing.M }

func (c cleanupAfter) Run() int {
	code := c.m.Run()
	if sharedCLIDir != "" {
		_ = os.RemoveAll(sharedCLIDir)
	}
	if releaseDir != "" {
		_ = os.RemoveAll(releaseDir)
	}
	return code
}

func init() {
	resource.AddTestSweepers("iotda_device_policy", &resource.Sweeper{
		Name: "iotda_device_policy",
		F:    sweepPolicies,
	})
}

// sweepPolicies deletes, in the instance the HW_* settings name, every
// policy whose name starts with testPrefix: what interrupted test runs
// left behind. Deleting a policy unbinds its targets. region replaces
// HW_REGION_NAME.
func sweepPolicies(region string) error {
	client, err := realClient(func(name string) string {
		if name == "HW_REGION_NAME" {
			return region
		}
		return realSettings[name]
	})
	if err != nil {
		return err
	}
	ps, err := testPolicies(client, testPrefix)
	if err != nil {
		return fmt.Errorf("listing device policies: %w", err)
	}
	if err := deletePolicies(client, testPrefix); err != nil {
		return err
	}
	fmt.Printf("sweeper: deleted %d device policies named %s*\n", len(ps), testPrefix)
	return nil
}
