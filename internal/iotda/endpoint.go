package iotda

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda/signer"
)

// The rules of IoTDA endpoints, written once. A standard or enterprise
// instance is reached at its access address, a host such as
// a1b2c3d4e5.st1.iotda-app.cn-north-4.myhuaweicloud.com: it names the
// region and wants derived signing. Other instances are reached at the
// region's endpoint, DefaultEndpoint.

// exampleEndpoint is the endpoint the messages show.
const exampleEndpoint = "https://a1b2c3d4e5.st1.iotda-app.cn-north-4.myhuaweicloud.com"

// regionName is the form of a region name, such as cn-north-4.
const regionName = `[a-z]{2}(?:-[a-z]+)+-[0-9]+`

// RegionPattern matches a region name, such as cn-north-4.
var RegionPattern = regexp.MustCompile(`^` + regionName + `$`)

// instanceHost matches the host of an instance access address (followed
// by a dot) and holds its region.
var instanceHost = regexp.MustCompile(`\.iotda-app\.(` + regionName + `)\.`)

// DefaultEndpoint is the endpoint of a region.
func DefaultEndpoint(region string) string {
	return "https://iotda." + region + ".myhuaweicloud.com"
}

// regionFromEndpoint returns the region an instance access address names,
// or "" for any other endpoint.
func regionFromEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	if m := instanceHost.FindStringSubmatch(u.Hostname() + "."); m != nil {
		return m[1]
	}
	return ""
}

// signingFor is the algorithm SigningAuto picks for a host: derived
// signing, which instance access addresses require, or basic signing.
func signingFor(host string) string {
	if strings.Contains(host, ".iotda-app.") {
		return signer.AlgorithmDerived
	}
	return signer.AlgorithmBasic
}

// EndpointError is an endpoint New cannot use: none, with no region to
// build the default from, or one that is not an http(s) URL.
type EndpointError struct {
	Endpoint string
	// Missing is true when there is neither an endpoint nor a region.
	Missing bool
}

func (e *EndpointError) Error() string {
	if e.Missing {
		return fmt.Sprintf("no endpoint, and no region to use the default endpoint %s", DefaultEndpoint("{region}"))
	}
	msg := fmt.Sprintf("%q is not an http(s) URL such as %s.", e.Endpoint, exampleEndpoint)
	if fixed, ok := withScheme(e.Endpoint); ok {
		msg += fmt.Sprintf(" Write it with its scheme: %q (or http:// for a local mock).", fixed)
	}
	return msg
}

// resolveEndpoint checks the endpoint, or builds the region's default one
// when it is empty, and returns it with the region: the one given, else
// the one the endpoint's host names.
func resolveEndpoint(endpoint, region string) (*url.URL, string, error) {
	if region == "" {
		region = regionFromEndpoint(endpoint)
	}
	if endpoint == "" {
		if region == "" {
			return nil, "", &EndpointError{Missing: true}
		}
		endpoint = DefaultEndpoint(region)
	}
	u, err := url.Parse(strings.TrimSuffix(endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", &EndpointError{Endpoint: endpoint}
	}
	return u, region, nil
}

// withScheme returns endpoint with https:// in front when it is a host
// (with an optional port and path) written without its scheme, as an
// access address is often copied. A mistyped scheme ("https:/host",
// "http//host") or a port without a host gets no suggestion: prefixing it
// would make nonsense.
func withScheme(endpoint string) (string, bool) {
	if strings.Contains(endpoint, "//") || strings.HasPrefix(strings.ToLower(endpoint), "http") {
		return "", false
	}
	u, err := url.Parse("https://" + endpoint)
	if err != nil || u.Hostname() == "" || strings.HasSuffix(u.Host, ":") {
		return "", false
	}
	return "https://" + endpoint, true
}
