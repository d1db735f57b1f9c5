// Package apigolden holds the example bodies of the official IoTDA API
// pages (create, show, update, bind and unbind a device policy), as
// published, for the tests. The client's tests decode the
// answers through the client and compare the requests it sends; the mock's
// tests decode every body into the mock's own wire types, send the requests
// to the mock and compare its answers with the published ones. So both
// sides are checked against the reference, not against each other.
//
// The pages' example bodies keep their artefacts: the create examples send
// "iotda:devices:publish\riotda:devices:subscribe" as one action (not a
// valid action), and the show example's policy_id is not 24 hex digits.
package apigolden

import (
	"embed"
	"fmt"
)

//go:embed *.json
var files embed.FS

// The examples, named after the API page and the part of the exchange.
const (
	CreateRequestAllow   = "create-device-policy.request-allow.json"
	CreateRequestDeny    = "create-device-policy.request-deny.json"
	CreateResponse       = "create-device-policy.response.json"
	ShowResponse         = "show-device-policy.response.json"
	UpdateRequest        = "update-device-policy.request.json"
	UpdateResponse       = "update-device-policy.response.json"
	BindRequestDevice    = "bind-device-policy.request-device.json"
	BindRequestProduct   = "bind-device-policy.request-product.json"
	BindResponse         = "bind-device-policy.response.json"
	UnbindRequestDevice  = "unbind-device-policy.request-device.json"
	UnbindRequestProduct = "unbind-device-policy.request-product.json"
	UnbindResponse       = "unbind-device-policy.response.json"
)

// Body returns an example body; it panics on a name that is not one of
// the constants, which is a mistake in a test.
func Body(name string) []byte {
	data, err := files.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("apigolden: %v", err))
	}
	return data
}

// Names lists every example.
func Names() []string {
	return []string{CreateRequestAllow, CreateRequestDeny, CreateResponse, ShowResponse, UpdateRequest, UpdateResponse,
		BindRequestDevice, BindRequestProduct, BindResponse, UnbindRequestDevice, UnbindRequestProduct, UnbindResponse}
}
