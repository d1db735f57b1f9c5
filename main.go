// Command terraform-provider-iotda is the Terraform provider for Huawei
// Cloud IoTDA device policies.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/provider"
)

// version is set by the release build through -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/iotda-terraform/iotda",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
