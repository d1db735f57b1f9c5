package provider

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func env(values map[string]string) func(string) string {
	return func(name string) string { return values[name] }
}

func TestResolveConfig(t *testing.T) {
	t.Parallel()
	full := providerModel{
		Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("proj"),
		AccessKey: types.StringValue("ak"), SecretKey: types.StringValue("sk"),
	}
	t.Run("default endpoint from region", func(t *testing.T) {
		cfg, diags := resolveConfig(full, env(nil))
		if diags.HasError() || cfg.Endpoint != "https://iotda.cn-north-4.myhuaweicloud.com" {
			t.Fatalf("endpoint %q, diags %v", cfg.Endpoint, diags)
		}
	})
	t.Run("environment fallbacks in order", func(t *testing.T) {
		cfg, diags := resolveConfig(providerModel{}, env(map[string]string{
			"HW_IOTDA_ENDPOINT":          "https://abc.st1.iotda-app.ap-southeast-1.myhuaweicloud.com",
			"HUAWEICLOUD_SDK_PROJECT_ID": "sdk-proj",
			"HUAWEICLOUD_SDK_AK":         "sdk-ak",
			"HW_SECRET_KEY":              "hw-sk",
			"HUAWEICLOUD_SDK_SK":         "sdk-sk",
			"HW_IOTDA_INSTANCE_ID":       "inst",
			"HW_SECURITY_TOKEN":          "tok",
		}))
		if diags.HasError() {
			t.Fatal(diags)
		}
		if cfg.Region != "ap-southeast-1" || cfg.ProjectID != "sdk-proj" || cfg.Credentials.AccessKey != "sdk-ak" ||
			cfg.Credentials.SecretKey != "hw-sk" || cfg.InstanceID != "inst" || cfg.Credentials.SecurityToken != "tok" {
			t.Fatalf("resolved %+v", cfg)
		}
	})
	t.Run("configuration wins over environment", func(t *testing.T) {
		cfg, _ := resolveConfig(full, env(map[string]string{"HW_PROJECT_ID": "env-proj", "HW_ACCESS_KEY": "env-ak"}))
		if cfg.ProjectID != "proj" || cfg.Credentials.AccessKey != "ak" {
			t.Fatalf("resolved %+v", cfg)
		}
	})
	t.Run("token alone is enough", func(t *testing.T) {
		_, diags := resolveConfig(providerModel{Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("p")}, env(map[string]string{"HW_AUTH_TOKEN": "t"}))
		if diags.HasError() {
			t.Fatal(diags)
		}
	})
	t.Run("client settings not set", func(t *testing.T) {
		cfg, _ := resolveConfig(full, env(nil))
		if cfg.MaxRetries != nil || cfg.BatchParallelism != 0 || cfg.Insecure || cfg.MaxRetryAfter != 0 {
			t.Fatalf("unset settings resolved to %v, %d, %v", cfg.MaxRetries, cfg.BatchParallelism, cfg.Insecure)
		}
	})
	t.Run("client settings", func(t *testing.T) {
		model := full
		model.MaxRetries, model.BatchParallelism, model.Insecure = types.Int64Value(0), types.Int64Value(3), types.BoolValue(true)
		model.MaxRetryAfter = types.Int64Value(90)
		cfg, _ := resolveConfig(model, env(nil))
		if cfg.MaxRetries == nil || *cfg.MaxRetries != 0 || cfg.BatchParallelism != 3 || !cfg.Insecure || cfg.MaxRetryAfter != 90*time.Second {
			t.Fatalf("max_retries 0, batch_parallelism 3, insecure, max_retry_after 90 resolved to %v, %d, %v, %s", cfg.MaxRetries, cfg.BatchParallelism, cfg.Insecure, cfg.MaxRetryAfter)
		}
	})
	missing := map[string]struct {
		model providerModel
		want  string
	}{
		"no endpoint or region":        {providerModel{ProjectID: types.StringValue("p"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, "HW_REGION_NAME"},
		"no project":                   {providerModel{Region: types.StringValue("cn-north-4"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, "HW_PROJECT_ID"},
		"no access key":                {providerModel{Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("p"), SecretKey: types.StringValue("s")}, "HW_ACCESS_KEY"},
		"no secret key":                {providerModel{Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("p"), AccessKey: types.StringValue("a")}, "HW_SECRET_KEY"},
		"unknown project":              {providerModel{Region: types.StringValue("cn-north-4"), ProjectID: types.StringUnknown(), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, "not known until apply"},
		"unknown parallelism":          {providerModel{Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("p"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s"), BatchParallelism: types.Int64Unknown()}, `"batch_parallelism" must be known`},
		"endpoint not a URL":           {providerModel{Endpoint: types.StringValue("iotda.example.com"), ProjectID: types.StringValue("p"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, `is not an http(s) URL such as https://a1b2c3d4e5.st1.iotda-app.cn-north-4.myhuaweicloud.com. Write it with its scheme: "https://iotda.example.com"`},
		"endpoint with another scheme": {providerModel{Endpoint: types.StringValue("ftp://iotda.example.com"), ProjectID: types.StringValue("p"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, `"ftp://iotda.example.com" is not an http(s) URL`},
	}
	// An endpoint without scheme is shown with https://; a mistyped scheme
	// or a port without host is not: prefixing it would suggest nonsense
	// such as "https://https:/host".
	for endpoint, want := range map[string]string{
		"iotda.example.com":        "https://iotda.example.com",
		"127.0.0.1:18388":          "https://127.0.0.1:18388",
		"localhost:18388":          "https://localhost:18388",
		"https:/iotda.example.com": "",
		"https//iotda.example.com": "",
		"http//127.0.0.1:18388":    "",
		":18388":                   "",
		"ftp://iotda.example.com":  "",
	} {
		t.Run("endpoint "+endpoint, func(t *testing.T) {
			_, diags := resolveConfig(providerModel{Endpoint: types.StringValue(endpoint), ProjectID: types.StringValue("p"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, env(nil))
			if len(diags.Errors()) != 1 || diags.Errors()[0].Summary() != "Invalid IoTDA Endpoint" {
				t.Fatalf("diagnostics %s, want the one error Invalid IoTDA Endpoint", diags)
			}
			detail := diags.Errors()[0].Detail()
			if hint := fmt.Sprintf("Write it with its scheme: %q", want); want != "" && !strings.Contains(detail, hint) {
				t.Errorf("detail %q does not contain %q", detail, hint)
			}
			if want == "" && strings.Contains(detail, "Write it with its scheme") {
				t.Errorf("detail %q suggests a scheme for an endpoint that is not a host without one", detail)
			}
		})
	}
	t.Run("no credentials at all is one error", func(t *testing.T) {
		_, diags := resolveConfig(providerModel{Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("p")}, env(nil))
		if len(diags.Errors()) != 1 || diags.Errors()[0].Summary() != "Missing IoTDA Credentials" {
			t.Fatalf("diagnostics %s, want the one error Missing IoTDA Credentials", diags)
		}
	})
	for name, tc := range missing {
		t.Run(name, func(t *testing.T) {
			_, diags := resolveConfig(tc.model, env(nil))
			if !diags.HasError() {
				t.Fatal("no error")
			}
			if got := fmt.Sprint(diags); !regexp.MustCompile(regexp.QuoteMeta(tc.want)).MatchString(got) {
				t.Fatalf("diagnostics %s do not mention %q", got, tc.want)
			}
		})
	}
}

func TestAccProvider_missingSettings(t *testing.T) {
	t.Parallel()
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "iotda" {
  region     = "cn-north-4"
  access_key = "ak"
  secret_key = "sk"
}
resource "iotda_device_policy" "p" {
  policy_name = "p"
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/a"]
  }
}`,
			ExpectError: expectError(`Missing IoTDA Project ID.*HW_PROJECT_ID`),
		}},
	})
}

// TestAccProvider_maxRetriesZero reads a policy through the provider as
// users get it (New, not newTestProvider): max_retries = 0 sends a failing
// call once.
func TestAccProvider_maxRetriesZero(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	policy, err := srv.CreatePolicy("", mock.CreatePolicyRequest{PolicyName: "p", Statement: []mock.Statement{{Effect: "ALLOW", Actions: []string{"iotda:devices:publish"}, Resources: []string{"topic:/a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusServiceUnavailable, Count: 5})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"iotda": providerserver.NewProtocol6WithError(New("test")()),
		},
		Steps: []resource.TestStep{{
			Config: strings.Replace(providerBlock(srv), "max_retries = 2", "max_retries = 0", 1) +
				fmt.Sprintf(`data "iotda_device_policy" "p" { policy_id = %q }`, policy.PolicyID),
			ExpectError: expectError(`HTTP 503`),
		}},
	})
	if got := srv.Calls(mock.OpShow); got != 1 {
		t.Errorf("ShowDevicePolicy was called %d times with max_retries = 0, want 1", got)
	}
}

// TestAccProvider_maxRetryAfter fails a read at once when the API asks to
// wait longer than max_retry_after, and says so.
func TestAccProvider_maxRetryAfter(t *testing.T) {
	t.Parallel()
	srv := mock.NewTestServer(t, mock.Config{})
	srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusTooManyRequests, RetryAfter: 5 * time.Second})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerBlockWith(srv, mock.TestSecretKey, "  max_retry_after = 1") +
				`data "iotda_device_policy" "p" { policy_id = "0123456789abcdef01234567" }`,
			ExpectError: expectError(`HTTP 429 .* asked to retry after 5s, longer than the longest wait allowed \(1s\)`),
		}},
	})
	if got := srv.Calls(mock.OpShow); got != 1 {
		t.Errorf("ShowDevicePolicy was called %d times, want 1 (no retry)", got)
	}
}
