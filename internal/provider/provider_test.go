package provider

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

func env(values map[string]string) func(string) string {
	return func(name string) string { return values[name] }
}

// configure resolves the provider block and the environment and builds
// the client, as Configure does.
func configure(model providerModel, getenv func(string) string) (*iotda.Client, iotda.Config, diag.Diagnostics) {
	cfg, diags := resolveConfig(model, getenv)
	client := newClient(model, cfg, iotda.New, &diags)
	return client, cfg, diags
}

func TestResolveConfig(t *testing.T) {
	t.Parallel()
	full := providerModel{
		Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("proj"),
		AccessKey: types.StringValue("ak"), SecretKey: types.StringValue("sk"),
	}
	t.Run("default endpoint from region", func(t *testing.T) {
		client, _, diags := configure(full, env(nil))
		if diags.HasError() || client.Endpoint() != "https://iotda.cn-north-4.myhuaweicloud.com" {
			t.Fatalf("diags %v", diags)
		}
	})
	t.Run("environment fallbacks in order", func(t *testing.T) {
		client, cfg, diags := configure(providerModel{}, env(map[string]string{
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
		if client.Region() != "ap-southeast-1" || cfg.ProjectID != "sdk-proj" || cfg.Credentials.AccessKey != "sdk-ak" ||
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
		if cfg.MaxRetries != nil || cfg.BatchParallelism != 0 || cfg.Insecure || cfg.MaxRetryAfter != 0 || cfg.RequestTimeout != 0 || cfg.MaxRetryTime != 0 {
			t.Fatalf("unset settings resolved to %v, %d, %v", cfg.MaxRetries, cfg.BatchParallelism, cfg.Insecure)
		}
	})
	t.Run("client settings", func(t *testing.T) {
		model := full
		model.MaxRetries, model.BatchParallelism, model.Insecure = types.Int64Value(0), types.Int64Value(3), types.BoolValue(true)
		model.MaxRetryAfter, model.RequestTimeout, model.MaxRetryTime = types.Int64Value(90), types.Int64Value(5), types.Int64Value(40)
		cfg, _ := resolveConfig(model, env(nil))
		if cfg.MaxRetries == nil || *cfg.MaxRetries != 0 || cfg.BatchParallelism != 3 || !cfg.Insecure || cfg.MaxRetryAfter != 90*time.Second ||
			cfg.RequestTimeout != 5*time.Second || cfg.MaxRetryTime != 40*time.Second {
			t.Fatalf("max_retries 0, batch_parallelism 3, insecure, max_retry_after 90, request_timeout 5, max_retry_time 40 resolved to %v, %d, %v, %s, %s, %s",
				cfg.MaxRetries, cfg.BatchParallelism, cfg.Insecure, cfg.MaxRetryAfter, cfg.RequestTimeout, cfg.MaxRetryTime)
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
	// The client's rules (TestNewResolvesEndpoint) come back as an error
	// on the endpoint attribute, beside the errors of other settings.
	t.Run("endpoint not a URL", func(t *testing.T) {
		_, _, diags := configure(providerModel{Endpoint: types.StringValue("iotda.example.com"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, env(nil))
		if len(diags.Errors()) != 2 {
			t.Fatalf("diagnostics %s, want Missing IoTDA Project ID and Invalid IoTDA Endpoint", diags)
		}
		withPath, ok := diags.Errors()[1].(diag.DiagnosticWithPath)
		if !ok || withPath.Summary() != "Invalid IoTDA Endpoint" || !withPath.Path().Equal(path.Root("endpoint")) {
			t.Fatalf("diagnostics %s, want Missing IoTDA Project ID and Invalid IoTDA Endpoint on endpoint", diags)
		}
		if want := `Write it with its scheme: "https://iotda.example.com"`; !strings.Contains(diags.Errors()[1].Detail(), want) {
			t.Errorf("detail %q does not contain %q", diags.Errors()[1].Detail(), want)
		}
	})
	t.Run("unknown endpoint is one error", func(t *testing.T) {
		_, _, diags := configure(providerModel{Endpoint: types.StringUnknown(), ProjectID: types.StringValue("p"), AccessKey: types.StringValue("a"), SecretKey: types.StringValue("s")}, env(nil))
		if len(diags.Errors()) != 1 || diags.Errors()[0].Summary() != "Unknown IoTDA Provider Setting" {
			t.Fatalf("diagnostics %s, want the one error Unknown IoTDA Provider Setting", diags)
		}
	})
	t.Run("no credentials at all is one error", func(t *testing.T) {
		_, _, diags := configure(providerModel{Region: types.StringValue("cn-north-4"), ProjectID: types.StringValue("p")}, env(nil))
		if len(diags.Errors()) != 1 || diags.Errors()[0].Summary() != "Missing IoTDA Credentials" {
			t.Fatalf("diagnostics %s, want the one error Missing IoTDA Credentials", diags)
		}
	})
	for name, tc := range missing {
		t.Run(name, func(t *testing.T) {
			_, _, diags := configure(tc.model, env(nil))
			if !diags.HasError() {
				t.Fatal("no error")
			}
			if got := fmt.Sprint(diags); !regexp.MustCompile(regexp.QuoteMeta(tc.want)).MatchString(got) {
				t.Fatalf("diagnostics %s do not mention %q", got, tc.want)
			}
		})
	}
}

// TestAccProvider_missingSettings: without a project id (on an instance
// every other setting is there) the provider refuses to start.
func TestAccProvider_missingSettings(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	a.hideSettings("HW_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock(`project_id = null`) + `
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
	a.expectNoCalls(t)
}

// TestAccProvider_maxRetriesZero reads a policy through the provider as
// users get it (New; the target's own provider shortens the waits between
// retries): max_retries = 0 sends a failing call once.
func TestAccProvider_maxRetriesZero(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("answers ShowDevicePolicy with 503")
	policy := a.createPolicy("p", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusServiceUnavailable, Count: 5})
	resource.UnitTest(t, resource.TestCase{
		// The provider as New makes it, with only the target's counter
		// added.
		ProtoV6ProviderFactories: a.serve(func() *iotdaProvider {
			p, _ := New("test")().(*iotdaProvider)
			newClient := p.newClient
			p.newClient = func(cfg iotda.Config) (*iotda.Client, error) {
				a.countCalls(&cfg)
				return newClient(cfg)
			}
			return p
		}),
		Steps: []resource.TestStep{{
			Config:      a.providerBlock("max_retries = 0") + fmt.Sprintf(`data "iotda_device_policy" "p" { policy_id = %q }`, policy.PolicyID),
			ExpectError: expectError(`HTTP 503`),
		}},
	})
	if got := a.callsTo(iotda.OpShow); got != 1 {
		t.Errorf("ShowDevicePolicy was called %d times with max_retries = 0, want 1", got)
	}
}

// TestAccProvider_maxRetryAfter fails a read at once when the API asks to
// wait longer than max_retry_after, and says so.
func TestAccProvider_maxRetryAfter(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("answers ShowDevicePolicy with 429 and a Retry-After of 5 s")
	srv.InjectFault(mock.OpShow, mock.Fault{Status: http.StatusTooManyRequests, RetryAfter: 5 * time.Second})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock("max_retry_after = 1") +
				`data "iotda_device_policy" "p" { policy_id = "0123456789abcdef01234567" }`,
			ExpectError: expectError(`HTTP 429 .* asked to retry after 5s, longer than the longest wait allowed \(1s\)`),
		}},
	})
	if got := a.callsTo(iotda.OpShow); got != 1 {
		t.Errorf("ShowDevicePolicy was called %d times, want 1 (no retry)", got)
	}
}

// TestAccProvider_hungEndpoint creates a policy on an endpoint that takes
// every request and never answers: the apply fails within request_timeout
// and max_retry_time, and says plainly that the endpoint did not answer,
// that the policy may exist, and how to import it. The other settings are
// the target's.
func TestAccProvider_hungEndpoint(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	conns := make(chan net.Conn, 16)
	held.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- conn
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		held.Wait()
		close(conns)
		for conn := range conns {
			_ = conn.Close()
		}
	})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock(fmt.Sprintf(`endpoint = "http://%s"`, ln.Addr()), "request_timeout = 1", "max_retry_time = 2") + fmt.Sprintf(`
resource "iotda_device_policy" "p" {
  policy_name = %q
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/a"]
  }
}`, a.name("p")),
			ExpectError: expectError(`Unable to Create Device Policy.*` +
				`CreateDevicePolicy: the endpoint http://` + regexp.QuoteMeta(ln.Addr().String()) + ` did not answer within 1s, the request timeout .*` +
				`IoTDA may have created the policy, and the listing that would show it failed too: ListDevicePolicies: the endpoint .* did not answer.*` +
				`look for a policy named "` + a.name("p") + `".*terraform import <address of this resource> <policy id>`),
		}},
	})
	if n := len(conns); n < 2 {
		t.Errorf("%d connections, want the create and the listing", n)
	}
}

// TestAccProvider_callCounter counts the provider's requests with the
// client's own counter, set by the test's provider factory: the same
// numbers as the mock's, so a call budget can hold on a real instance.
func TestAccProvider_callCounter(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	srv := a.requireMock("compares the counter with the requests the mock received")
	policy := a.createPolicy("p", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
	srv.ResetCalls()
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: a.providerBlock() + fmt.Sprintf(`data "iotda_device_policy" "p" { policy_id = %q }`, policy.PolicyID),
		}},
	})
	if a.callsTo(iotda.OpShow) == 0 || a.callsTo(iotda.OpShow) != srv.Calls(mock.OpShow) || a.totalCalls() != srv.TotalCalls() {
		t.Errorf("counted %v, the mock %d ShowDevicePolicy of %d calls", a.calls.Counts(), srv.Calls(mock.OpShow), srv.TotalCalls())
	}
}
