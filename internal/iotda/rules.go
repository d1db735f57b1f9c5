package iotda

import (
	"fmt"
	"regexp"
)

// The rules of the API on what it accepts, each written once: the
// provider's validators, schema descriptions and messages refer to these.

// Limits of the API.
const (
	MaxPoliciesPerInstance = 50
	MaxPoliciesPerTarget   = 5
	MaxTargetsPerCall      = 20
	MaxPageSize            = 50
	MaxStatements          = 10
	MaxResources           = 10
	MaxPolicyBytes         = 10 * 1024
	// MaxPolicyNameLength and MaxAppIDLength bound policy_name and app_id,
	// each made of letters, digits, "_" and "-".
	MaxPolicyNameLength = 128
	MaxAppIDLength      = 36
	// MaxTargetIDLength bounds a target id (device, product or resource
	// space id).
	MaxTargetIDLength = 128
	// MaxTopicBytes bounds the topic of a resource, after ResourcePrefix.
	MaxTopicBytes = 128
)

// ResourcePrefix starts every resource of a statement; the MQTT topic
// pattern follows it.
const ResourcePrefix = "topic:"

// Forms of ids and names, and how messages describe them.
const (
	// PolicyIDRule is the form of a policy id.
	PolicyIDRule = "24 lower-case hexadecimal characters"
	// ExamplePolicyID is a policy id, for messages that show the form.
	ExamplePolicyID = "5c90fa7d3c4e4405e8525079"
	// NameCharsRule is what policy names, app ids and target ids are made
	// of.
	NameCharsRule = `letters, digits, "_" and "-"`
	// TopicCharsRule is what a resource is made of.
	TopicCharsRule = "letters, digits and the characters /{}$=+#?*:._-"
)

var (
	// PolicyIDPattern matches a policy id.
	PolicyIDPattern = regexp.MustCompile(`^[0-9a-f]{24}$`)
	// NamePattern matches a policy name or an app id of any length (see
	// MaxPolicyNameLength and MaxAppIDLength).
	NamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// TargetIDPattern matches a target id, length included.
	TargetIDPattern = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z0-9_-]{1,%d}$`, MaxTargetIDLength))
	// TopicCharsPattern matches a resource made only of the characters the
	// API accepts.
	TopicCharsPattern = regexp.MustCompile(`^[A-Za-z0-9/{}$=+#?*:._-]*$`)
)
