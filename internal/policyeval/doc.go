// Package policyeval decides whether Huawei Cloud IoTDA device policies allow
// an MQTT action on a topic, and reviews policies for statements that cannot
// do what their author most likely meant. It is pure Go and knows nothing of
// Terraform or of the IoTDA API; the provider function
// provider::iotda::evaluate, the plan-time warnings of the
// iotda_device_policy resource and the evaluation data source build on it.
//
// # Decisions
//
// [Evaluate] pools every statement it is given, as IoTDA pools every policy
// bound to a device, to its product and to its resource space. A statement
// applies when its actions contain the requested action (compared with the
// full action name, the only form the API accepts) and at least one of its
// resources matches the topic. If any applying statement is DENY the
// decision is DENY: DENY beats ALLOW within a policy and across policies.
// Otherwise, if any applying statement is ALLOW, the decision is ALLOW.
// Otherwise the decision is NO_MATCH and the action is not allowed (an
// implicit deny). Topics starting with "$" (the "$oc/..." system topics and
// any other topic starting with "$") are not controlled by device policies:
// the decision is NOT_GOVERNED, the action is allowed and no statement is
// reported as matched.
//
// A topic is the MQTT topic itself. One written with the "topic:" prefix
// of policy resources is refused with an error that says to drop the
// prefix ([CheckTopic]), rather than judged as a topic of its own and
// silently answered NO_MATCH.
//
// # Resource patterns
//
// A resource is "topic:" followed by a pattern; a resource without that
// prefix never matches. A pattern must match the whole topic, from its first
// character to its last. Matching works on characters: Unicode code points,
// where a byte that is not valid UTF-8 counts as one character of its own.
//
//   - "*" matches one or more characters, "/" included, so
//     "topic:test/topic*/some" matches "test/topic1/pub/some".
//   - "?" matches exactly one character, "/" included.
//   - "+" and "#" are ordinary characters, not MQTT wildcards:
//     "topic:/v1/+/up" matches only the topic "/v1/+/up".
//   - Every other character, variables aside, matches only itself.
//
// The IoTDA user manual calls "*" both "any combination of characters" and
// "one or more characters", which disagree on the empty string. This package
// chooses one or more: "topic:a/*" does not match "a/", "topic:*" matches
// every topic except the empty one, and "topic:**" needs at least two
// characters. Matching takes time proportional to at most the product of
// the pattern and topic lengths; there is no exponential backtracking.
//
// # Variables
//
// The variables ${devices.deviceId}, ${devices.productId} and
// ${devices.clientId} are replaced by the connecting device's [Identity]
// before matching. A substituted value is matched literally: a "*" or "?"
// inside a device id is an ordinary character. A pattern that uses a
// variable whose value is not given (the empty string) never matches, and
// neither does a pattern that uses any other ${...} name. A "${" with no
// closing "}" is ordinary text. (In Terraform configuration a literal "${"
// is written "$${".)
//
// # Comparison
//
// [Compare] reports, for each action, the topics that new statements allow
// and old ones did not (widened) and the reverse (narrowed), each with a
// concrete example topic and the identity it holds for, confirmed with
// [Evaluate]. It builds on the same inclusion check as [Review]: exact for
// patterns without variables; with variables, "unchanged" only when proven
// for every identity, and "undecided" rather than a guess when neither a
// proof nor a confirmed example is found.
//
// # Bounded work
//
// Deciding whether patterns with wildcards cover one another can take
// exponentially many steps, so one [Compare] and one [Review] each work
// within [MaxWork] search steps, [MaxSearchWork] for one search and
// [MaxDuration] of wall time; what is not decided within them is
// undecided with the reason (Compare) or not reported (Review). Cheap
// exact answers come first and need no search: statements and resources
// both sides share, a pattern a single other one covers by its shape (the
// same pattern, "*" alone, a fixed prefix and one "*"), a pattern without
// wildcards, and patterns whose fixed start, end or length cannot meet.
// TestCostSearch searches for the costliest policies within the API's
// limits and BenchmarkWorstCompare measures them.
//
// # Review
//
// [Review] looks at one policy's statements without an identity and warns
// about resources that use "+" or "#" as if they were MQTT wildcards, ALLOW
// statements that DENY statements of the same policy always override,
// policies that allow publishing and subscribing on every topic,
// resources naming system topics, which policies do not govern, and
// resources using a ${...} name that is not a variable, or a variable
// written without "${" and "}".
//
// Whether DENY statements override an ALLOW statement is decided by an
// exact language-inclusion check on the patterns (see [Review]). A variable
// in the ALLOW pattern stands for an unknown, non-empty value: only a "*" of
// the DENY pattern, or the same variable at the same place, is taken to
// cover it. That is conservative: Review may miss an overridden statement
// whose cover depends on a variable's value, but it never reports one that
// some device identity could still use.
package policyeval
