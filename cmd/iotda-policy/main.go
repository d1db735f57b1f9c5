// Command iotda-policy reviews device-policy changes offline: it reads the
// JSON of a saved Terraform or OpenTofu plan (`terraform show -json
// plan.tfplan`) and reports, without credentials or network, the access each
// iotda_device_policy change grants and takes away, the targets its bindings
// add or remove, and gates for CI. It also evaluates and compares policy
// files with the same code as the provider functions (internal/policyeval).
//
// Exit codes: 0 pass, 1 findings fail a gate, 2 bad input or usage.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set by the release build through ldflags (.goreleaser.yml).
var version = "dev"

// Exit codes, documented in the usage text and the guide.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Usage:
  iotda-policy [review] [flags] PLAN.json   review a saved plan's JSON ("-" or none: stdin)
  iotda-policy evaluate [flags] POLICY.json evaluate statements for an action and topic
  iotda-policy compare OLD.json NEW.json    compare two sets of statements
  iotda-policy --version

Exit codes: 0 pass, 1 findings fail a gate, 2 bad input or usage.
`

// run is the program without the process: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "--version", "-version", "version":
			fmt.Fprintf(stdout, "iotda-policy %s\n", version)
			return exitPass
		case "-h", "--help", "help":
			fmt.Fprint(stdout, usage)
			return exitPass
		case "evaluate":
			return runEvaluate(args[1:], stdin, stdout, stderr)
		case "compare":
			return runCompare(args[1:], stdout, stderr)
		case "review":
			args = args[1:]
		}
	}
	return runReview(args, stdin, stdout, stderr)
}
