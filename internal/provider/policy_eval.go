package provider

import (
	"fmt"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// toEvalStatements converts API statements for the evaluator.
func toEvalStatements(in []iotda.Statement) []policyeval.Statement {
	out := make([]policyeval.Statement, len(in))
	for i, s := range in {
		out[i] = policyeval.Statement{Effect: s.Effect, Actions: s.Actions, Resources: s.Resources}
	}
	return out
}

// statementsArgRule tells, in the functions' docs, what checkStatementsArg
// refuses.
const statementsArgRule = "Written by hand, they follow the rules of a policy: actions are the full names `iotda:devices:publish` and `iotda:devices:subscribe`, " +
	"and every resource starts with `topic:`; anything else is an error, never a statement that silently matches nothing."

// checkStatementsArg refuses, in statements given to a function, what the
// API never accepts and the evaluator would silently never match: an action
// other than the two full names (the short "publish", which the functions'
// action argument accepts, is not an action of a statement) and a resource
// without the "topic:" prefix. Judged as written, such a statement would
// make a check asserting "not allowed" or "no new access" pass for the
// wrong reason. The error names a statement as which and its index, e.g.
// "new statement[0]" (an index, as in statement[0] of the configuration).
func checkStatementsArg(which string, stmts []iotda.Statement) error {
	for i, s := range stmts {
		for _, a := range s.Actions {
			if a != iotda.ActionPublish && a != iotda.ActionSubscribe {
				hint := ""
				if full := "iotda:devices:" + strings.ToLower(a); full == iotda.ActionPublish || full == iotda.ActionSubscribe {
					hint = fmt.Sprintf(": write %q", full)
				}
				return fmt.Errorf("%s[%d]: action %q is not %q or %q, so the statement would never match%s", which, i, a, iotda.ActionPublish, iotda.ActionSubscribe, hint)
			}
		}
		for _, r := range s.Resources {
			if !strings.HasPrefix(r, resourcePrefix) {
				return fmt.Errorf("%s[%d]: resource %q does not start with %q, so it would never match: write %q", which, i, r, resourcePrefix, withPrefix(r))
			}
		}
	}
	return nil
}
