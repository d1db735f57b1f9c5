package iotda_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

func TestRegionFromEndpoint(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://abc.st1.iotda-app.ap-southeast-1.myhuaweicloud.com":      "ap-southeast-1",
		"https://abc.st1.iotda-app.cn-north-4.myhuaweicloud.com:443/base": "cn-north-4",
		"https://iotda.cn-north-4.myhuaweicloud.com":                      "",
		"http://127.0.0.1:18388":                                          "",
		"https://example.com/.iotda-app.cn-north-4.x":                     "", // a path is not a host
		"https://iotda-app.cn-north-4.myhuaweicloud.com":                  "",
		"::not a url": "",
	} {
		if got := iotda.RegionFromEndpoint(endpoint); got != want {
			t.Errorf("RegionFromEndpoint(%q) = %q, want %q", endpoint, got, want)
		}
	}
}

// TestNewResolvesEndpoint applies the host rules: the default endpoint of
// a region, the region of an access address, and an error that says how
// to write an endpoint.
func TestNewResolvesEndpoint(t *testing.T) {
	creds := iotda.Credentials{AccessKey: "a", SecretKey: "s"}
	for name, tc := range map[string]struct {
		endpoint, region         string
		wantEndpoint, wantRegion string
	}{
		"default of the region":   {"", "cn-north-4", "https://iotda.cn-north-4.myhuaweicloud.com", "cn-north-4"},
		"region of the host":      {"https://abc.st1.iotda-app.ap-southeast-1.myhuaweicloud.com/", "", "https://abc.st1.iotda-app.ap-southeast-1.myhuaweicloud.com", "ap-southeast-1"},
		"given region wins":       {"https://abc.st1.iotda-app.ap-southeast-1.myhuaweicloud.com", "cn-north-4", "https://abc.st1.iotda-app.ap-southeast-1.myhuaweicloud.com", "cn-north-4"},
		"no region for a mock":    {"http://127.0.0.1:18388", "", "http://127.0.0.1:18388", ""},
		"endpoint with base path": {"https://proxy.example.com/iotda/", "", "https://proxy.example.com/iotda", ""},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := iotda.New(iotda.Config{Endpoint: tc.endpoint, Region: tc.region, ProjectID: "p", Credentials: creds})
			if err != nil {
				t.Fatal(err)
			}
			if c.Endpoint() != tc.wantEndpoint || c.Region() != tc.wantRegion {
				t.Errorf("endpoint %q region %q, want %q %q", c.Endpoint(), c.Region(), tc.wantEndpoint, tc.wantRegion)
			}
		})
	}

	t.Run("neither endpoint nor region", func(t *testing.T) {
		_, err := iotda.New(iotda.Config{ProjectID: "p", Credentials: creds})
		var e *iotda.EndpointError
		if !errors.As(err, &e) || !e.Missing || !strings.Contains(err.Error(), "https://iotda.{region}.myhuaweicloud.com") {
			t.Fatalf("error %v, want a missing endpoint that names the default", err)
		}
	})
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
			_, err := iotda.New(iotda.Config{Endpoint: endpoint, ProjectID: "p", Credentials: creds})
			var e *iotda.EndpointError
			if !errors.As(err, &e) || e.Missing {
				t.Fatalf("error %v, want an invalid endpoint", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("%q is not an http(s) URL such as https://a1b2c3d4e5.st1.iotda-app.cn-north-4.myhuaweicloud.com.", endpoint)) {
				t.Errorf("message %q does not say what an endpoint looks like", msg)
			}
			if hint := fmt.Sprintf("Write it with its scheme: %q", want); want != "" && !strings.Contains(msg, hint) {
				t.Errorf("message %q does not contain %q", msg, hint)
			}
			if want == "" && strings.Contains(msg, "Write it with its scheme") {
				t.Errorf("message %q suggests a scheme for an endpoint that is not a host without one", msg)
			}
		})
	}
}
