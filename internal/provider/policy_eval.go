package provider

import (
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
