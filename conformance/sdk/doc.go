// Package sdk holds conformance tests that drive the IoTDA mock
// (cmd/iotda-mock) with Huawei's official Go SDK
// (github.com/huaweicloud/huaweicloud-sdk-go-v3, services/iotda/v5).
//
// The mock and this project's client are both written from the same API
// reference, so a misreading shared by the two would go unnoticed by the
// project's own tests. The SDK is a client nobody here wrote: every
// device-policy operation, the documented errors, both signing algorithms,
// temporary keys and pagination are exercised through it, against the mock
// built from this repository and started as a process on 127.0.0.1.
//
// This is a module of its own so that the provider's module does not
// depend on the SDK. Run it with `go test ./...` in this directory.
package sdk
