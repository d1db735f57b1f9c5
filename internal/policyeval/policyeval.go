package policyeval

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Statement is one statement of a device policy, as the IoTDA API carries it.
type Statement struct {
	// Effect is [iotda.EffectAllow] or [iotda.EffectDeny].
	Effect string
	// Actions holds full action names such as [iotda.ActionPublish].
	Actions []string
	// Resources holds resource patterns: [iotda.ResourcePrefix] followed by a pattern.
	Resources []string
}

// Identity is the connecting device, whose values replace the variables of
// a pattern. An empty string means "not given": a pattern using a variable
// whose value is not given never matches.
type Identity struct {
	// DeviceID replaces ${devices.deviceId}.
	DeviceID string
	// ProductID replaces ${devices.productId}.
	ProductID string
	// ClientID replaces ${devices.clientId}.
	ClientID string
}

// Decision is the outcome of an evaluation.
type Decision string

// The possible decisions.
const (
	// DecisionAllow means an ALLOW statement matched and no DENY statement did.
	DecisionAllow Decision = "ALLOW"
	// DecisionDeny means at least one DENY statement matched.
	DecisionDeny Decision = "DENY"
	// DecisionNoMatch means no statement matched, so the action is not allowed.
	DecisionNoMatch Decision = "NO_MATCH"
	// DecisionNotGoverned means the topic is a system topic, starting with
	// "$", which device policies do not control; the action is allowed.
	DecisionNotGoverned Decision = "NOT_GOVERNED"
)

// Result is the outcome of [Evaluate].
type Result struct {
	// Allowed reports whether the device may perform the action.
	Allowed bool
	// Decision says why.
	Decision Decision
	// Matched holds the indexes (0-based, ascending) of the statements whose
	// actions contain the action and at least one of whose resources matches
	// the topic, ALLOW and DENY alike. It is nil when none matched.
	Matched []int
}

// NormalizeAction accepts "publish", "subscribe" or the full action names,
// in any letter case, and returns the full action name. For anything else
// it returns an error that lists the accepted values.
func NormalizeAction(a string) (string, error) {
	for _, full := range []string{iotda.ActionPublish, iotda.ActionSubscribe} {
		short := strings.TrimPrefix(full, "iotda:devices:")
		if strings.EqualFold(a, short) || strings.EqualFold(a, full) {
			return full, nil
		}
	}
	return "", fmt.Errorf("unknown action %q: the accepted values are %q, %q, %q and %q, in any letter case",
		a, "publish", "subscribe", iotda.ActionPublish, iotda.ActionSubscribe)
}

// checkEffects returns an error naming the first statement whose effect is
// neither [iotda.EffectAllow] nor [iotda.EffectDeny].
func checkEffects(stmts []Statement) error {
	for i, s := range stmts {
		if s.Effect != iotda.EffectAllow && s.Effect != iotda.EffectDeny {
			return fmt.Errorf("statement[%d]: the effect must be %q or %q, not %q", i, iotda.EffectAllow, iotda.EffectDeny, s.Effect)
		}
	}
	return nil
}

// CheckTopic returns an error for a topic [Evaluate] cannot judge: an empty
// one, or one written with the "topic:" prefix of policy resources. MQTT
// topics never carry that prefix in practice, and judging "topic:/v1/up" as
// a topic of its own would answer NO_MATCH for a reason the caller did not
// mean, so the error says to drop the prefix rather than strip it silently.
func CheckTopic(topic string) error {
	if topic == "" {
		return errors.New("the topic must not be empty")
	}
	if rest, ok := strings.CutPrefix(topic, iotda.ResourcePrefix); ok {
		example := rest
		if example == "" {
			example = "/v1/devices/sensor-1/telemetry"
		}
		return fmt.Errorf("the topic %q starts with %q, the prefix of policy resources: give the MQTT topic itself, without the prefix, e.g. %q", topic, iotda.ResourcePrefix, example)
	}
	return nil
}

// Evaluate decides whether the statements, pooled, allow the device id to
// perform action on topic. The action may be given in any form
// [NormalizeAction] accepts; statement actions are compared with the full
// name exactly. DENY beats ALLOW, and a topic no statement matches is
// NO_MATCH and not allowed. A topic starting with "$" (such as the "$oc/..."
// system topics) is NOT_GOVERNED and allowed, with no matched statements.
// Evaluate returns an error for an unknown action, a topic [CheckTopic]
// refuses, or a statement whose effect is neither "ALLOW" nor "DENY".
func Evaluate(stmts []Statement, action, topic string, id Identity) (Result, error) {
	return evaluate(stmts, nil, action, topic, id, nil)
}

// parseStatements parses the resources of each statement.
func parseStatements(stmts []Statement) [][]pattern {
	out := make([][]pattern, len(stmts))
	for i, s := range stmts {
		for _, r := range s.Resources {
			out[i] = append(out[i], parsePattern(r))
		}
	}
	return out
}

// evaluate is [Evaluate] with the resources already parsed, when parsed
// is not nil, which adds the matching steps it takes to *work, when work
// is not nil.
func evaluate(stmts []Statement, parsed [][]pattern, action, topic string, id Identity, work *int) (Result, error) {
	if parsed == nil {
		parsed = parseStatements(stmts)
	}
	full, err := NormalizeAction(action)
	if err != nil {
		return Result{}, err
	}
	if err := CheckTopic(topic); err != nil {
		return Result{}, err
	}
	if err := checkEffects(stmts); err != nil {
		return Result{}, err
	}
	if strings.HasPrefix(topic, "$") {
		return Result{Allowed: true, Decision: DecisionNotGoverned}, nil
	}

	text := chars(topic)
	var matched []int
	allow, deny := false, false
	for i, s := range stmts {
		if !slices.Contains(s.Actions, full) {
			continue
		}
		if slices.ContainsFunc(parsed[i], func(p pattern) bool { return p.matchWork(text, id, work) }) {
			matched = append(matched, i)
			if s.Effect == iotda.EffectDeny {
				deny = true
			} else {
				allow = true
			}
		}
	}
	switch {
	case deny:
		return Result{Decision: DecisionDeny, Matched: matched}, nil
	case allow:
		return Result{Allowed: true, Decision: DecisionAllow, Matched: matched}, nil
	default:
		return Result{Decision: DecisionNoMatch}, nil
	}
}
