package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// Validators shared by the resources and data sources; the rules are
// iotda's.
var (
	validNameCharacters = stringvalidator.RegexMatches(iotda.NamePattern, "must contain only "+iotda.NameCharsRule)
	validPolicyID       = stringvalidator.RegexMatches(iotda.PolicyIDPattern, "must be a device policy id: "+iotda.PolicyIDRule+". "+
		"A policy's name is not its id: the iotda_device_policy data source finds a policy by name (policy_id = data.iotda_device_policy.<name>.id)")
	// The iotda_device_policy data source itself finds a policy by name
	// with policy_name: pointing it at itself would send the user in a
	// circle.
	validPolicyIDOrName = stringvalidator.RegexMatches(iotda.PolicyIDPattern, "must be a device policy id: "+iotda.PolicyIDRule+". "+
		"A policy's name is not its id: to find a policy by name, set policy_name instead of policy_id")
	validTargetID = stringvalidator.RegexMatches(iotda.TargetIDPattern, fmt.Sprintf("must be 1 to %d characters long and contain only %s", iotda.MaxTargetIDLength, iotda.NameCharsRule))
)

// notPolicyID says that id is not a policy id and shows the form of one.
func notPolicyID(id string) string {
	return fmt.Sprintf("%q is not a device policy id: expected %s, e.g. %s.", id, iotda.PolicyIDRule, iotda.ExamplePolicyID)
}

const (
	resourcePrefix = iotda.ResourcePrefix
	maxTopicBytes  = iotda.MaxTopicBytes
	topicCharsRule = iotda.TopicCharsRule
)

// topicResourceValidator checks one entry of a statement's resources.
type topicResourceValidator struct{}

var _ validator.String = topicResourceValidator{}

func (topicResourceValidator) Description(context.Context) string {
	return fmt.Sprintf("must be %q followed by a topic of 1 to %d bytes made of %s", resourcePrefix, maxTopicBytes, topicCharsRule)
}

func (v topicResourceValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (topicResourceValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := topicResourceProblem(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Device Policy Resource", problem)
	}
}

// topicResourceProblem explains what is wrong with a resource, or returns "".
func topicResourceProblem(resource string) string {
	topic, ok := strings.CutPrefix(resource, resourcePrefix)
	switch {
	case !ok:
		return fmt.Sprintf("Resource %q must start with %q, followed by the topic pattern: %q%s.", resource, resourcePrefix, withPrefix(resource), hclVariableNote(withPrefix(resource)))
	case topic == "":
		return fmt.Sprintf("Resource %q has no topic after %q.", resource, resourcePrefix)
	case len(topic) > maxTopicBytes:
		return fmt.Sprintf("The topic of resource %q is %d bytes long; topics are at most %d bytes.", resource, len(topic), maxTopicBytes)
	case !iotda.TopicCharsPattern.MatchString(resource):
		return fmt.Sprintf("Resource %q contains %s; only %s are allowed.", resource, quoteBadChars(resource), topicCharsRule)
	}
	return ""
}

// withPrefix returns a resource written without the "topic:" prefix, or
// with it in other letter case ("Topic:"), as it should be.
func withPrefix(resource string) string {
	if len(resource) >= len(resourcePrefix) && strings.EqualFold(resource[:len(resourcePrefix)], resourcePrefix) {
		return resourcePrefix + resource[len(resourcePrefix):]
	}
	return resourcePrefix + resource
}

// hclVariableNote shows a resource that uses an IoTDA variable as it is
// written in Terraform configuration, where "${" starts an interpolation.
func hclVariableNote(resource string) string {
	if !strings.Contains(resource, "${") {
		return ""
	}
	return fmt.Sprintf(" (written %q in Terraform configuration)", strings.ReplaceAll(resource, "${", "$${"))
}

func quoteBadChars(s string) string {
	var bad []string
	seen := map[rune]bool{}
	for _, r := range s {
		if !iotda.TopicCharsPattern.MatchString(string(r)) && !seen[r] {
			seen[r] = true
			bad = append(bad, fmt.Sprintf("%q", r))
		}
	}
	return strings.Join(bad, ", ")
}

// statementsRequired reports a policy without statement blocks (none
// written, or a dynamic block whose for_each is empty) with what to write,
// where listvalidator.IsRequired would only say that the block is required.
type statementsRequired struct{}

var _ validator.List = statementsRequired{}

func (statementsRequired) Description(context.Context) string {
	return fmt.Sprintf("at least one statement block (1 to %d)", iotda.MaxStatements)
}

func (v statementsRequired) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (statementsRequired) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Missing Device Policy Statement",
		fmt.Sprintf("A device policy needs 1 to %d statement blocks, and this one has none. Add one, for example:\n\n"+
			"  statement {\n"+
			"    effect    = \"ALLOW\"\n"+
			"    actions   = [\"iotda:devices:publish\"]\n"+
			"    resources = [\"topic:/v1/devices/$${devices.deviceId}/telemetry\"]\n"+
			"  }\n\n"+
			"A dynamic \"statement\" block must produce at least one: check that its for_each is not empty.", iotda.MaxStatements))
}

// topicValidator checks an MQTT topic to judge with the evaluator: not
// empty, and without the "topic:" prefix of policy resources.
type topicValidator struct{}

var _ validator.String = topicValidator{}

func (topicValidator) Description(context.Context) string {
	return fmt.Sprintf("must be an MQTT topic, without the %q prefix of policy resources", resourcePrefix)
}

func (v topicValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (topicValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := policyeval.CheckTopic(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Topic", fmt.Sprintf("The topic cannot be judged: %s.", err))
	}
}
