// Command terraform-provider-iotda is the Terraform provider for Huawei
// Cloud IoTDA device policies.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/provider"
)

// version and commit are set by the build (`make build VERSION=...`, the
// release build) through -ldflags "-X main.version=... -X main.commit=...".
// The version is what `-version` prints, what Terraform shows for the
// provider, and part of the User-Agent of every API request.
var (
	version = "dev"
	commit  = ""
)

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the version and exit")
	flag.Parse()

	if showVersion {
		fmt.Fprintln(os.Stdout, versionLine())
		return
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/iotda-terraform/iotda",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

// versionLine is what -version prints: the name, the version and, when the
// build recorded it, the commit.
func versionLine() string {
	if commit == "" {
		return "terraform-provider-iotda " + version
	}
	return fmt.Sprintf("terraform-provider-iotda %s (commit %s)", version, commit)
}
