package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// The rules every schema and page states, written once.
var (
	// policyNameRule, appIDRule and targetIDRule describe the names and
	// ids the API accepts.
	policyNameRule = nameRule(iotda.MaxPolicyNameLength)
	appIDRule      = nameRule(iotda.MaxAppIDLength)
	targetIDRule   = nameRule(iotda.MaxTargetIDLength)
	// policyIDForm follows the name of a policy id in a description.
	policyIDForm = "(" + iotda.PolicyIDRule + ")"
)

// nameRule describes a name or id of 1 to maxLength characters.
func nameRule(maxLength int) string {
	return fmt.Sprintf("1 to %d letters, digits, `_` or `-`", maxLength)
}

const (
	// patternRules says how a resource pattern matches a topic. The IoTDA
	// manual calls "*" both "any combination of characters" and "one or
	// more characters"; policyeval follows its worked example: one or more.
	patternRules = "`*` matches one or more characters, `/` included; `?` exactly one character; " +
		"`+` and `#` are ordinary characters, not MQTT wildcards."
	// ungovernedRule names the topics device policies do not govern. The
	// API reference says "system topics or topics starting with `$oc`";
	// system topics are the ones starting with `$`, and policyeval answers
	// NOT_GOVERNED for every one of them.
	ungovernedRule = "topics starting with `$` (system topics, such as IoTDA's `$oc/...`)"
	// timeFormat is the form of create_time and update_time.
	timeFormat = "`yyyyMMddTHHmmssZ` in UTC"
)

var (
	createTimeDescription = "When the policy was created, as " + timeFormat + "."
	updateTimeDescription = "When the policy was last changed, as " + timeFormat + "."
)

// policyNameValidators and appIDValidators check the names the API
// accepts, in every schema that takes one.
func policyNameValidators() []validator.String {
	return []validator.String{stringvalidator.LengthBetween(1, iotda.MaxPolicyNameLength), validNameCharacters}
}

func appIDValidators() []validator.String {
	return []validator.String{stringvalidator.LengthBetween(1, iotda.MaxAppIDLength), validNameCharacters}
}

// policyNameAttribute is an optional policy_name argument of a data source.
func policyNameAttribute(description string) dsschema.StringAttribute {
	return dsschema.StringAttribute{MarkdownDescription: description, Optional: true, Validators: policyNameValidators()}
}

// appIDAttribute is an optional app_id argument of a data source.
func appIDAttribute(description string) dsschema.StringAttribute {
	return dsschema.StringAttribute{MarkdownDescription: description, Optional: true, Validators: appIDValidators()}
}

// createTimeAttribute and updateTimeAttribute are the read-only timestamps
// of a policy in a data source.
func createTimeAttribute() dsschema.StringAttribute {
	return dsschema.StringAttribute{MarkdownDescription: createTimeDescription, Computed: true}
}

func updateTimeAttribute() dsschema.StringAttribute {
	return dsschema.StringAttribute{MarkdownDescription: updateTimeDescription, Computed: true}
}

// computedToo makes a data source argument also set by the read.
func computedToo(a dsschema.StringAttribute) dsschema.StringAttribute {
	a.Computed = true
	return a
}
