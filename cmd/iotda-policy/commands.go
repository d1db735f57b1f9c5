package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runReview(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "markdown", "output format: markdown, sarif or json")
	var failOn, denyTopics listFlag
	fs.Var(&failOn, "fail-on", "fail (exit 1) on findings of this kind: widened or undecided (repeatable)")
	fs.Var(&denyTopics, "deny-topic", "a topic pattern no policy may grant after the change (repeatable)")
	baseline := fs.String("baseline", "", "JSON file mapping policy addresses to approved statements, compared against instead of the prior state")
	waivers := fs.String("waivers", "", "JSON file of waivers: [{\"address\", \"finding\", \"reason\"}]")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "iotda-policy: %v\n", err)
		return exitUsage
	}
	opts := options{failOn: map[string]bool{}, denyTopics: denyTopics}
	for _, f := range failOn {
		for _, k := range strings.Split(f, ",") {
			if k != ruleWidened && k != ruleUndecided {
				return fail(fmt.Errorf("--fail-on %q: the accepted values are %q and %q", k, ruleWidened, ruleUndecided))
			}
			opts.failOn[k] = true
		}
	}
	for _, t := range denyTopics {
		if err := policyeval.CheckTopic(strings.TrimPrefix(t, iotda.ResourcePrefix)); err != nil {
			return fail(fmt.Errorf("--deny-topic: %v", err))
		}
	}
	if *format != "markdown" && *format != "sarif" && *format != "json" {
		return fail(fmt.Errorf("--format %q: the accepted values are markdown, sarif and json", *format))
	}
	if *baseline != "" {
		if err := readJSONFile(*baseline, stdin, &opts.baseline); err != nil {
			return fail(fmt.Errorf("--baseline: %v (give an object mapping policy addresses to lists of statements)", err))
		}
		for addr, stmts := range opts.baseline {
			if err := checkStatements(*baseline+": "+addr+" statement", stmts); err != nil {
				return fail(err)
			}
		}
	}
	if *waivers != "" {
		if err := readJSONFile(*waivers, stdin, &opts.waivers); err != nil {
			return fail(fmt.Errorf("--waivers: %v", err))
		}
		for i, w := range opts.waivers {
			if w.Address == "" || strings.TrimSpace(w.Reason) == "" || (w.Finding != ruleWidened && w.Finding != ruleUndecided && w.Finding != ruleDenyTopic) {
				return fail(fmt.Errorf("--waivers: waiver[%d] needs an address, a finding (%s, %s or %s) and a reason", i, ruleWidened, ruleUndecided, ruleDenyTopic))
			}
		}
	}
	if fs.NArg() > 1 {
		return fail(errors.New("give one plan file (or - for stdin)"))
	}
	name := "-"
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	b, err := readBounded(name, stdin)
	if err != nil {
		return fail(err)
	}
	p, err := parsePlan(b)
	if err != nil {
		return fail(fmt.Errorf("%s: %v", name, err))
	}
	r, err := review(p, opts)
	if err != nil {
		return fail(fmt.Errorf("%s: %v", name, err))
	}
	switch *format {
	case "json":
		writeJSON(stdout, r)
	case "sarif":
		writeJSON(stdout, sarifOf(r))
	default:
		writeMarkdown(stdout, r)
	}
	if !r.Pass {
		return exitFail
	}
	return exitPass
}

func readJSONFile(name string, stdin io.Reader, v any) error {
	b, err := readBounded(name, stdin)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// runEvaluate answers as provider::iotda::evaluate does.
func runEvaluate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	action := fs.String("action", "", "publish, subscribe or a full action name")
	topic := fs.String("topic", "", "the MQTT topic")
	var id policyeval.Identity
	fs.StringVar(&id.DeviceID, "device-id", "", "the device id (for ${devices.deviceId})")
	fs.StringVar(&id.ProductID, "product-id", "", "the product id (for ${devices.productId})")
	fs.StringVar(&id.ClientID, "client-id", "", "the client id (for ${devices.clientId})")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "iotda-policy evaluate: %v\n", err)
		return exitUsage
	}
	if fs.NArg() != 1 {
		return fail(errors.New("give one policy file (or - for stdin)"))
	}
	stmts, err := readStatements(fs.Arg(0), stdin)
	if err != nil {
		return fail(err)
	}
	full, err := policyeval.NormalizeAction(*action)
	if err != nil {
		return fail(err)
	}
	if err := policyeval.CheckTopic(*topic); err != nil {
		return fail(err)
	}
	res, err := policyeval.Evaluate(toEval(stmts), full, *topic, id)
	if err != nil {
		return fail(err)
	}
	matched := res.Matched
	if matched == nil {
		matched = []int{}
	}
	writeJSON(stdout, map[string]any{"allowed": res.Allowed, "decision": res.Decision, "matched_statements": matched})
	return exitPass
}

// runCompare answers as provider::iotda::compare does.
func runCompare(args []string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "iotda-policy compare: %v\n", err)
		return exitUsage
	}
	if len(args) != 2 {
		return fail(errors.New("give two policy files: OLD.json NEW.json"))
	}
	oldStmts, err := readStatements(args[0], nil)
	if err != nil {
		return fail(err)
	}
	newStmts, err := readStatements(args[1], nil)
	if err != nil {
		return fail(err)
	}
	d, err := policyeval.Compare(toEval(oldStmts), toEval(newStmts))
	if err != nil {
		return fail(err)
	}
	writeJSON(stdout, map[string]any{
		"widened": changesJSON(d.Widened), "narrowed": changesJSON(d.Narrowed), "undecided": undecidedOf(d),
		"no_new_access": d.NoNewAccess(), "no_lost_access": d.NoLostAccess(), "equivalent": d.NoNewAccess() && d.NoLostAccess(),
	})
	return exitPass
}
