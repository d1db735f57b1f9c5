package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// maxInput bounds every file the command reads (64 MiB): a plan of a
// binding at the API's limits is far smaller, and the bound keeps a wrong
// file from exhausting memory.
const maxInput = 64 << 20

// readBounded reads name ("-" for stdin) up to maxInput bytes and refuses
// anything larger with an error that names the limit.
func readBounded(name string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%s is larger than the limit of %d MiB: give the JSON of one saved plan (terraform show -json plan.tfplan)", name, maxInput>>20)
	}
	return b, nil
}

// statementJSON is a statement as the plan and policy files write it.
type statementJSON struct {
	Effect    string   `json:"effect"`
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
}

func toEval(in []statementJSON) []policyeval.Statement {
	out := make([]policyeval.Statement, len(in))
	for i, s := range in {
		out[i] = policyeval.Statement{Effect: s.Effect, Actions: s.Actions, Resources: s.Resources}
	}
	return out
}

// checkStatements refuses what the provider functions refuse (see
// internal/provider/policy_eval.go): an action other than the two full
// names and a resource without "topic:", which would silently never match.
func checkStatements(which string, stmts []statementJSON) error {
	for i, s := range stmts {
		if s.Effect != iotda.EffectAllow && s.Effect != iotda.EffectDeny {
			return fmt.Errorf("%s[%d]: effect %q is not %q or %q", which, i, s.Effect, iotda.EffectAllow, iotda.EffectDeny)
		}
		for _, a := range s.Actions {
			if a != iotda.ActionPublish && a != iotda.ActionSubscribe {
				return fmt.Errorf("%s[%d]: action %q is not %q or %q, so the statement would never match", which, i, a, iotda.ActionPublish, iotda.ActionSubscribe)
			}
		}
		for _, r := range s.Resources {
			if !strings.HasPrefix(r, iotda.ResourcePrefix) {
				return fmt.Errorf("%s[%d]: resource %q does not start with %q, so it would never match", which, i, r, iotda.ResourcePrefix)
			}
		}
	}
	return nil
}

// readStatements reads a policy file: a list of statements, or an object
// with a "statement" list (a policy as the API or state writes it).
func readStatements(name string, stdin io.Reader) ([]statementJSON, error) {
	b, err := readBounded(name, stdin)
	if err != nil {
		return nil, err
	}
	return parseStatements(name, b)
}

func parseStatements(name string, b []byte) ([]statementJSON, error) {
	var list []statementJSON
	if err := json.Unmarshal(b, &list); err == nil {
		return list, checkStatements(name+" statement", list)
	}
	var obj struct {
		Statement *[]statementJSON `json:"statement"`
	}
	if err := json.Unmarshal(b, &obj); err != nil || obj.Statement == nil {
		return nil, errors.New(name + ": not a policy file: give a JSON list of statements ({\"effect\", \"actions\", \"resources\"}) or an object with a \"statement\" list")
	}
	return *obj.Statement, checkStatements(name+" statement", *obj.Statement)
}
