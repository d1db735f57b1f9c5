package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// createFailure explains a failed create with what the listing after it
// showed: that nothing was created, which policies hold the name now (each
// with the command that imports it), or that the instance holds the
// maximum number of policies (the quota's error code is not published).
func createFailure(err error, plan devicePolicyModel) string {
	name := plan.PolicyName.ValueString()
	var failure *iotda.CreateError
	if !errors.As(err, &failure) {
		return fmt.Sprintf("Creating device policy %q failed: %s", name, err)
	}
	lost := errors.Is(err, iotda.ErrOutcomeUnknown)
	switch {
	case failure.NotCreated:
		return fmt.Sprintf("Creating device policy %q failed: %s.\n\nA listing after the failure showed that no policy of that name exists: the API created nothing. Apply again.",
			name, failure.Cause())
	case failure.ListErr != nil && lost:
		return fmt.Sprintf("Creating device policy %q failed: %s\n\nIoTDA may have created the policy, and the listing that would show it failed too: %s. "+
			"Before applying again, look for a policy named %q%s (the iotda_device_policies data source lists them) and, if this apply created it, import it: %s",
			name, err, failure.ListErr, name, inSpace(plan.AppID.ValueString()), importCommand("<policy id>"))
	case len(failure.Existing) > 0 && lost:
		return fmt.Sprintf("Creating device policy %q failed: %s\n\nIoTDA may have created the policy before the call failed, but the listing cannot tell which policy is this one: "+
			"policies named %q%s now: %s. If one of them is the policy this apply created, bring it under Terraform instead of applying again:\n\n%s",
			name, err, name, inSpace(plan.AppID.ValueString()), describePolicies(failure.Existing), importCommands(failure.Existing))
	case len(failure.Existing) > 0:
		return fmt.Sprintf("Creating device policy %q failed: %s\n\nA policy of that name already exists%s: %s. "+
			"If it is the policy an earlier apply created (for example one whose answer was lost), bring it under Terraform:\n\n%s\n\nOtherwise choose another policy_name.",
			name, err, inSpace(plan.AppID.ValueString()), describePolicies(failure.Existing), importCommands(failure.Existing))
	}
	detail := fmt.Sprintf("Creating device policy %q failed: %s", name, err)
	if failure.InstancePolicies >= iotda.MaxPoliciesPerInstance {
		detail += fmt.Sprintf("\n\nThe instance already holds %d device policies, and IoTDA allows at most %d per instance. Delete policies that are no longer used, or use another instance.",
			failure.InstancePolicies, iotda.MaxPoliciesPerInstance)
	}
	return detail
}

// inSpace names the resource space of a policy for a diagnostic.
func inSpace(appID string) string {
	if appID == "" {
		return ""
	}
	return " in resource space " + appID
}

// importCommand is the command that brings policy id under Terraform. The
// provider is not told the address of the resource it creates.
func importCommand(id string) string {
	return fmt.Sprintf("terraform import <address of this resource> %s", id)
}

func importCommands(policies []iotda.PolicySummary) string {
	lines := make([]string, len(policies))
	for i, p := range policies {
		lines[i] = "    " + importCommand(p.PolicyID)
	}
	return strings.Join(lines, "\n")
}
