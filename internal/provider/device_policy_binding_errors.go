package provider

import (
	"fmt"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/binding"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// bindingErrorSummary names what an apply that failed set out to do.
func bindingErrorSummary(res binding.Result) string {
	switch {
	case len(res.Added) > 0 && len(res.Removed) > 0:
		return "Unable to Update Device Policy Binding"
	case len(res.Removed) > 0:
		return "Unable to Unbind Device Policy"
	}
	return "Unable to Bind Device Policy"
}

// bindingErrorDetail lists the targets the API refused and the calls that
// failed, and says what the state records and what the next plan does.
func bindingErrorDetail(b binding.Binding, res binding.Result) string {
	var s strings.Builder
	if len(res.Failures) > 0 {
		fmt.Fprintf(&s, "The API refused %d %s target(s) of device policy %s:\n", len(res.Failures), b.TargetType, b.PolicyID)
		for _, f := range res.Failures {
			fmt.Fprintf(&s, "  - %s: %s %s", f.TargetID, f.ErrorCode, f.ErrorMsg)
			if f.ErrorCode == iotda.CodeTargetPolicyLimit {
				fmt.Fprintf(&s, " (the target already has %d device policies bound, the most IoTDA allows: unbind another policy from it first)", iotda.MaxPoliciesPerTarget)
			}
			s.WriteByte('\n')
		}
	}
	if res.CallErr != nil {
		fmt.Fprintf(&s, "Calls failed: %s\n", res.CallErr)
	}
	if res.ListErr == nil {
		fmt.Fprintf(&s, "\nThe state records the %d %s target(s) bound now; the next plan shows what is still to be done.", len(res.Targets), b.TargetType)
		return s.String()
	}
	fmt.Fprintf(&s, "\nListing the targets to learn what the API did failed too (%s), so %d %s target(s) are bound or possibly bound. ", res.ListErr, len(res.Targets)+len(res.Unsure), b.TargetType)
	fmt.Fprintf(&s, "The state records the %d bound for certain or whose unbinding may have failed", len(res.Targets))
	if len(res.Unsure) > 0 {
		fmt.Fprintf(&s, "; %d more (%s) may or may not be bound: the next plan binds them again to be sure, with or without a refresh", len(res.Unsure), firstFew(res.Unsure))
	}
	s.WriteString(". The next refresh lists what is really bound.")
	return s.String()
}

// listingFailedDetail is the error detail of a listing that failed before
// anything was done.
func listingFailedDetail(b binding.Binding, err error) string {
	return fmt.Sprintf("Listing the %s targets of device policy %s failed: %s", b.TargetType, b.PolicyID, err)
}

// policyGoneDetail is the error detail of a binding whose policy does not
// exist (any more).
func policyGoneDetail(policyID string, err error) string {
	return fmt.Sprintf("Device policy %s does not exist (any more): %s\n\n"+
		"Deleting a policy unbinds everything bound to it, so nothing is bound. If the policy was destroyed or deleted elsewhere "+
		"(for example by another configuration), create it again there and apply that configuration first, then apply this one; "+
		"otherwise point policy_id at an existing policy, or remove this binding from the configuration.", policyID, err)
}

// partialCreateNote tells what happens to a binding whose create partly
// failed. Terraform marks any create that fails as tainted, and plans to
// replace it: a destroy, then a create. The plan of that create records
// the targets it binds (ModifyPlan), the destroy keeps those bound, and the
// create binds only the missing ones, so no target loses the policy on the
// way.
const partialCreateNote = "Terraform marks a binding whose create failed as tainted and plans to replace it. " +
	"The replacement keeps the targets that stay in the configuration bound and binds only the missing ones: " +
	"no target loses the policy in between."
