// Command terraform-provider-iotda is the Terraform provider for Huawei
// Cloud IoTDA device policies.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

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

// stopProfiling ends the profiles of a build with the tag pprof (see
// profile.go) when the provider stops serving; it does nothing otherwise.
var stopProfiling = func() {}

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the version and exit")
	flag.Parse()

	if showVersion {
		fmt.Fprintln(os.Stdout, versionLine())
		return
	}
	// With -debug the provider writes its logs to its own terminal, not to a
	// CLI, and they stay as the plugin libraries set them.
	if level, ok := frameworkLogLevel(os.Getenv); ok && !debug {
		// Read by the plugin framework when it sets up its logger for each
		// request.
		_ = os.Setenv(envLogFramework, level)
	}
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err := tf6server.Serve("registry.terraform.io/iotda-terraform/iotda", provider.NewProtocol6(provider.New(version)()), opts...)
	stopProfiling()
	if err != nil {
		log.Fatal(err.Error())
	}
}

// envLogFramework sets the level of the plugin framework's own logger;
// envLogSDK that of every SDK logger, the framework's among them, when
// envLogFramework is not set.
const (
	envLogFramework = "TF_LOG_SDK_FRAMEWORK"
	envLogSDK       = "TF_LOG_SDK"
)

// frameworkLogLevel is the level to give the plugin framework's own logger
// when the user has not chosen one (with TF_LOG_SDK_FRAMEWORK or
// TF_LOG_SDK): the level at which the CLI keeps this provider's logs
// (TF_LOG_PROVIDER, else TF_LOG; none set means it keeps none), and false
// to leave the framework alone (TRACE, or a level only the CLI interprets).
// The level is read as the CLI reads it: in any case, but not trimmed (the
// CLI reads " DEBUG" as an unknown level, so as TRACE).
//
// Without a level of its own the framework logs at TRACE, and it writes a
// trace line for every element of every collection it walks, several
// times per request: a binding with 5,000 targets makes tens of thousands
// of lines per plan and apply, each read and parsed by the CLI before it
// drops them. That was about half the CPU time of an apply at that size,
// and every line looks up the logger through a context that grows by one
// layer per element, which makes the cost grow as the square of the size.
// Lines the CLI keeps are still written.
func frameworkLogLevel(getenv func(string) string) (string, bool) {
	if getenv(envLogFramework) != "" || getenv(envLogSDK) != "" {
		return "", false
	}
	kept := strings.ToUpper(getenv("TF_LOG_PROVIDER"))
	if kept == "" {
		kept = strings.ToUpper(getenv("TF_LOG"))
	}
	switch kept {
	case "", "OFF":
		return "OFF", true
	case "DEBUG", "INFO", "WARN", "ERROR":
		return kept, true
	}
	return "", false
}

// versionLine is what -version prints: the name, the version and, when the
// build recorded it, the commit.
func versionLine() string {
	if commit == "" {
		return "terraform-provider-iotda " + version
	}
	return fmt.Sprintf("terraform-provider-iotda %s (commit %s)", version, commit)
}
