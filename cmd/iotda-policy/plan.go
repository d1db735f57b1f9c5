package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// plan is the part of Terraform's JSON plan format (also OpenTofu's) that
// the review reads.
type plan struct {
	FormatVersion   string            `json:"format_version"`
	PlannedValues   *json.RawMessage  `json:"planned_values"`
	ResourceChanges []resourceChange  `json:"resource_changes"`
	Configuration   *configurationDoc `json:"configuration"`
}

type resourceChange struct {
	Address string `json:"address"`
	Mode    string `json:"mode"`
	Type    string `json:"type"`
	Change  struct {
		Actions     []string        `json:"actions"`
		Before      json.RawMessage `json:"before"`
		After       json.RawMessage `json:"after"`
		AfterUnknow json.RawMessage `json:"after_unknown"`
	} `json:"change"`
}

type configurationDoc struct {
	RootModule configModule `json:"root_module"`
}

type configModule struct {
	Resources   []configResource `json:"resources"`
	ModuleCalls map[string]struct {
		Module configModule `json:"module"`
	} `json:"module_calls"`
}

type configResource struct {
	Address string `json:"address"`
	// Expressions holds attributes (objects) and blocks (lists of them).
	Expressions map[string]json.RawMessage `json:"expressions"`
}

// supportedMajor is the major version of the JSON plan format this command
// reads; Terraform promises that a change of the minor version only adds.
const supportedMajor = "1"

// parsePlan decodes and checks a plan's JSON.
func parsePlan(b []byte) (*plan, error) {
	var p plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not JSON of a saved plan: %v (give the output of terraform show -json plan.tfplan)", err)
	}
	if p.FormatVersion == "" || p.PlannedValues == nil {
		return nil, errors.New("not the JSON of a saved plan: it has no format_version or no planned_values (state JSON and other documents are refused; give the output of terraform show -json plan.tfplan)")
	}
	if major, _, _ := strings.Cut(p.FormatVersion, "."); major != supportedMajor {
		return nil, fmt.Errorf("the plan's format_version %q is not supported: this iotda-policy reads format version %s.x; use a release that reads it", p.FormatVersion, supportedMajor)
	}
	return &p, nil
}

// policyValues is an iotda_device_policy's before or after value.
type policyValues struct {
	ID         *string         `json:"id"`
	PolicyName string          `json:"policy_name"`
	Statement  []statementJSON `json:"statement"`
}

// bindingValues is an iotda_device_policy_binding's before or after value.
type bindingValues struct {
	PolicyID   *string            `json:"policy_id"`
	TargetType string             `json:"target_type"`
	Targets    *map[string]string `json:"targets"`
}

// decodeOptional decodes raw into v and reports whether it was an object.
func decodeOptional(raw json.RawMessage, v any) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// changeKind names a change the way the report does.
func changeKind(actions []string) string {
	switch {
	case slices.Equal(actions, []string{"create"}):
		return "create"
	case slices.Equal(actions, []string{"update"}):
		return "update"
	case slices.Equal(actions, []string{"delete"}):
		return "destroy"
	case len(actions) == 2:
		return "replace"
	default:
		return ""
	}
}

// configRefs maps each resource address of the configuration to the
// references of its policy_id expression, with module prefixes, so a
// binding whose policy id is not yet known is still tied to its policy.
func configRefs(c *configurationDoc) map[string][]string {
	out := map[string][]string{}
	if c == nil {
		return out
	}
	var walk func(prefix string, m configModule)
	walk = func(prefix string, m configModule) {
		for _, r := range m.Resources {
			var expr struct {
				References []string `json:"references"`
			}
			_ = json.Unmarshal(r.Expressions["policy_id"], &expr)
			for _, ref := range expr.References {
				out[prefix+r.Address] = append(out[prefix+r.Address], prefix+ref)
			}
		}
		for name, call := range m.ModuleCalls {
			walk(prefix+"module."+name+".", call.Module)
		}
	}
	walk("", c.RootModule)
	return out
}

// baseAddress strips an instance key ("[0]", `["a"]`) from an address.
func baseAddress(addr string) string {
	if i := strings.LastIndex(addr, "["); i > strings.LastIndex(addr, ".") {
		return addr[:i]
	}
	return addr
}
