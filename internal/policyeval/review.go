package policyeval

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Warning is one finding of [Review].
type Warning struct {
	// Statement is the index of the statement the warning is about.
	Statement int
	// Resource is the index of the resource within the statement, or -1
	// when the warning is about the whole statement.
	Resource int
	// Summary is a short Title Case summary of the finding.
	Summary string
	// Detail is one or more full sentences a reviewer can act on, quoting
	// the resource or naming the statements involved. Statements are
	// numbered from 0, as in Statement.
	Detail string
}

// The summaries of the warnings [Review] returns.
const (
	summaryWildcard   = "MQTT Wildcard In Device Policy Topic"
	summaryOverridden = "Device Policy Statement Never Takes Effect"
	summaryEverything = "Device Policy Allows Every Topic"
	summarySystem     = "System Topic In Device Policy"
	summaryUnknownVar = "Unknown Variable In Device Policy Topic"
	summaryBareVar    = "Variable Without ${...} In Device Policy Topic"
	summaryPrefix     = `Repeated "topic:" Prefix In Device Policy Topic`
	summaryEscapedVar = "Doubled Dollar Sign In Device Policy Topic"
)

// ungoverned holds patterns for the topics device policies do not govern,
// those starting with "$": a resource is not reported as overridden for
// failing to deny topics that policies never control.
var ungoverned = []pattern{parsePattern(iotda.ResourcePrefix + "$"), parsePattern(iotda.ResourcePrefix + "$*")}

// Review returns warnings about one policy's statements, ordered by
// statement; within a statement the warning about the whole statement comes
// first, then the warnings about each resource in order (for one resource:
// repeated prefix, doubled dollar sign, wildcard, every topic, system topic).
// It reports:
//
//   - a resource whose topic starts with "topic:" again ("topic:topic:/v1/up"):
//     the prefix is written once, so the resource matches only topics that
//     begin with the text "topic:"; the detail shows it with one prefix.
//   - a resource containing "$${": the escape Terraform configuration uses
//     for "${" in a quoted string, which reached the provider unescaped (a
//     value from a JSON variables file, a -var option or a TF_VAR_
//     environment variable, or read with file() or yamldecode() is not
//     unescaped), so IoTDA matches a literal "$" before the
//     variable; the detail shows it with one dollar sign.
//   - a resource using "+" or "#", which are literal characters in IoTDA
//     policies and not MQTT wildcards; the detail shows the pattern with
//     "*" in their place.
//   - an ALLOW statement that can never take effect (Resource -1): for each
//     of its actions, every topic each of its resources matches is denied
//     by the DENY statements of the policy naming that action, one DENY
//     statement alone or several together. Topics starting with "$", which
//     policies do not govern, need no denying. The check is an exact
//     language inclusion between patterns, conservative about variables in
//     the ALLOW pattern as the package documentation describes, and bounded
//     by the work limits ([MaxWork], [MaxSearchWork], [MaxDuration]) of one
//     Review: a check that reaches them counts as not denied.
//   - a resource of an ALLOW statement made only of "*" when the policy's
//     ALLOW statements have such a resource for both [iotda.ActionPublish] and
//     [iotda.ActionSubscribe] (in one statement or several): the policy grants
//     every device every custom topic.
//   - a resource whose pattern starts with "$", naming system topics,
//     which policies do not govern; not when it starts with "$${", whose
//     doubled-dollar warning says to write "${" instead.
//   - a resource using a ${...} name that is not an IoTDA variable (such
//     as "${devices.deviceid}" or "${device.deviceId}"), which never
//     matches, naming the closest variable.
//   - a resource with text that looks like a variable written without
//     "${" and "}" (such as "$devices.deviceId" or "{devices.deviceId}"),
//     which IoTDA matches literally, naming the closest variable.
//
// A resource that another warning says has no effect (a system topic, an
// unknown variable, or a resource of a statement that never takes effect)
// gets no wildcard warning, which would suggest rewriting it.
//
// Review needs no identity: variables stay symbolic. Actions are compared
// as written, effects other than "ALLOW" and "DENY" take part in no
// statement-level check, and a resource without the "topic:" prefix, which
// never matches, gets no per-resource warning.
func Review(stmts []Statement) []Warning {
	return review(stmts, newBudget())
}

// review is [Review] within the budget b.
func review(stmts []Statement, b *budget) []Warning {
	parsed := make([][]pattern, len(stmts))
	for i, s := range stmts {
		for _, r := range s.Resources {
			parsed[i] = append(parsed[i], parsePattern(r))
		}
	}
	everything := allowsEverything(stmts, parsed)
	cov := &coverage{parsed: parsed, b: b, unions: map[string]*union{}}

	var out []Warning
	for i, s := range stmts {
		overridden := false
		if s.Effect == iotda.EffectAllow {
			if by := overriddenBy(stmts, i, cov); by != nil {
				overridden = true
				out = append(out, Warning{
					Statement: i,
					Resource:  -1,
					Summary:   summaryOverridden,
					Detail: fmt.Sprintf("statement[%d] is an ALLOW statement, but every topic it allows for %s is also denied by %s of this policy, and DENY beats ALLOW. "+
						"The statement can never grant anything: remove it, or narrow the DENY resources if it should take effect.",
						i, joinWords(quoteAll(uniqueStrings(s.Actions))), denyList(by)),
				})
			}
		}
		for j, r := range s.Resources {
			p := parsed[i][j]
			warn := func(summary, detail string) {
				out = append(out, Warning{Statement: i, Resource: j, Summary: summary, Detail: detail})
			}
			if strings.HasPrefix(r, iotda.ResourcePrefix+iotda.ResourcePrefix) {
				warn(summaryPrefix, fmt.Sprintf("Resource %q of statement[%d] starts with %q more than once. The prefix is written once, and what follows it is the topic, "+
					"so this resource matches only topics that themselves begin with the text %q. Did you mean %q?",
					r, i, iotda.ResourcePrefix, iotda.ResourcePrefix, singlePrefix(r)))
			}
			if strings.Contains(r, "$${") {
				warn(summaryEscapedVar, fmt.Sprintf("Resource %q of statement[%d] contains \"$${\". In a quoted string of Terraform configuration, $${ stands for ${, "+
					"but this value reached the provider with both dollar signs (values from a JSON variables file, a -var option or a TF_VAR_ environment variable, or read with file(), jsondecode() or yamldecode(), are not unescaped), "+
					"so IoTDA matches a literal \"$\" before the variable. Write it with a single dollar sign where it comes from: %q.",
					r, i, strings.ReplaceAll(r, "$${", "${")))
			}
			// "topic:$${devices.deviceId}/up" is a topic meant to start with a
			// variable: the advice to remove it as a system topic would
			// contradict the doubled-dollar warning's.
			system := len(p.toks) > 0 && p.toks[0].kind == tokLit && p.toks[0].c == '$' && !strings.HasPrefix(r, iotda.ResourcePrefix+"$${")
			unknown := unknownVariables(p)
			if used := literalWildcards(p); len(used) > 0 && !system && len(unknown) == 0 && !overridden {
				warn(summaryWildcard, fmt.Sprintf("Resource %q of statement[%d] contains %s. IoTDA device policies treat \"+\" and \"#\" as ordinary characters, not as MQTT wildcards, "+
					"so this resource matches only topics that contain %s literally. To match any characters use \"*\" (one or more characters, \"/\" included), for example %q.",
					r, i, joinWords(quoteAll(used)), pronoun(len(used)), rewriteWildcards(p)))
			}
			for _, name := range unknown {
				warn(summaryUnknownVar, fmt.Sprintf("Resource %q of statement[%d] uses %q, which is not an IoTDA variable, so the resource never matches any topic. "+
					"Did you mean %q? The variables are %s (in Terraform configuration written with a doubled dollar sign, as $${devices.deviceId}).",
					r, i, "${"+name+"}", "${"+closestVariable(name)+"}", variableList()))
			}
			for _, text := range bareVariables(p) {
				name := closestVariable(strings.Trim(text, "${}"))
				warn(summaryBareVar, fmt.Sprintf("Resource %q of statement[%d] contains %q, which looks like a variable but is not written as ${...}, so IoTDA matches it as literal text. "+
					"Did you mean %q? In Terraform configuration write it with a doubled dollar sign: %q.",
					r, i, text, "${"+name+"}", "$${"+name+"}"))
			}
			if n, ok := everything[[2]int{i, j}]; ok {
				reach := "every topic"
				if n > 1 {
					reach = fmt.Sprintf("every topic of at least %d characters, in effect every topic", n)
				}
				warn(summaryEverything, fmt.Sprintf("Resource %q of statement[%d] matches %s, and this policy's ALLOW statements use such a resource for both %s and %s, "+
					"so every device the policy is bound to may publish and subscribe to every custom topic, other devices' topics included. "+
					"Unless that is intended, narrow the resources, for example to \"topic:/v1/devices/${devices.deviceId}/*\" (written $${devices.deviceId} in Terraform configuration).",
					r, i, reach, iotda.ActionPublish, iotda.ActionSubscribe))
			}
			if system {
				warn(summarySystem, fmt.Sprintf("Resource %q of statement[%d] names topics starting with \"$\". IoTDA device policies do not govern system topics "+
					"(\"$oc/...\" and any other topic starting with \"$\"), so this resource has no effect. Remove it.", r, i))
			}
		}
	}
	return out
}

// allowsEverything returns, keyed by statement and resource index, the
// number of "*" of each match-everything resource of an ALLOW statement,
// when such resources cover both publishing and subscribing; otherwise it
// returns nil.
func allowsEverything(stmts []Statement, parsed [][]pattern) map[[2]int]int {
	found := map[[2]int]int{}
	publish, subscribe := false, false
	for i, s := range stmts {
		pub, sub := slices.Contains(s.Actions, iotda.ActionPublish), slices.Contains(s.Actions, iotda.ActionSubscribe)
		if s.Effect != iotda.EffectAllow || !pub && !sub {
			continue
		}
		for j, p := range parsed[i] {
			if n, ok := p.onlyStars(); ok {
				found[[2]int{i, j}] = n
				publish = publish || pub
				subscribe = subscribe || sub
			}
		}
	}
	if !publish || !subscribe {
		return nil
	}
	return found
}

// overriddenBy returns, in ascending order, the DENY statements that deny
// everything ALLOW statement i allows, or nil when something it allows is
// not denied (or not shown to be within the budget), or when it allows
// nothing but system topics.
func overriddenBy(stmts []Statement, i int, c *coverage) []int {
	if len(stmts[i].Actions) == 0 || len(stmts[i].Resources) == 0 {
		return nil
	}
	var cited []int
	for _, action := range stmts[i].Actions {
		var denies []int
		for d, s := range stmts {
			if s.Effect == iotda.EffectDeny && slices.Contains(s.Actions, action) {
				denies = append(denies, d)
			}
		}
		for _, q := range c.parsed[i] {
			by, ok := c.deniedBy(denies, q)
			if !ok {
				return nil
			}
			cited = append(cited, by...)
		}
	}
	slices.Sort(cited)
	return slices.Compact(cited)
}

// deniedBy reports whether the DENY statements denies, with the ungoverned
// topics, cover every topic q matches, and which statements to cite for it:
// the first single statement that covers q, or else all of them. A check
// that runs out of the budget counts as not covered.
func (c *coverage) deniedBy(denies []int, q pattern) ([]int, bool) {
	qa := []*automaton{compile(q)}
	if escape(qa, c.union(nil), c.b).included {
		return nil, true
	}
	for _, d := range denies {
		if escape(qa, c.union([]int{d}), c.b).included {
			return []int{d}, true
		}
	}
	if len(denies) > 1 && escape(qa, c.union(denies), c.b).included {
		return denies, true
	}
	return nil, false
}

// coverage holds what the checks of [Review] share: the budget, and the
// unions of the ungoverned topics with the resources of sets of DENY
// statements, compiled once each.
type coverage struct {
	parsed [][]pattern
	b      *budget
	unions map[string]*union
}

// union returns the union of the ungoverned topics and the resources of
// the statements denies.
func (c *coverage) union(denies []int) *union {
	key := fmt.Sprint(denies)
	if u, ok := c.unions[key]; ok {
		return u
	}
	ps := slices.Clone(ungoverned)
	for _, d := range denies {
		ps = append(ps, c.parsed[d]...)
	}
	u := newUnion(compileAll(ps)...)
	c.unions[key] = u
	return u
}

// singlePrefix returns resource r with its repeated "topic:" prefixes
// written once.
func singlePrefix(r string) string {
	for strings.HasPrefix(r, iotda.ResourcePrefix+iotda.ResourcePrefix) {
		r = strings.TrimPrefix(r, iotda.ResourcePrefix)
	}
	return r
}

// literalWildcards returns the MQTT wildcard characters p uses literally,
// in the order "+", "#".
func literalWildcards(p pattern) []string {
	var used []string
	for _, w := range []char{'+', '#'} {
		if slices.ContainsFunc(p.toks, func(t token) bool { return t.kind == tokLit && t.c == w }) {
			used = append(used, string(rune(w)))
		}
	}
	return used
}

// rewriteWildcards returns p as a resource with "*" in place of each
// literal "+" and "#".
func rewriteWildcards(p pattern) string {
	var b strings.Builder
	b.WriteString(iotda.ResourcePrefix)
	for _, t := range p.toks {
		if t.kind == tokLit && (t.c == '+' || t.c == '#') {
			b.WriteByte('*')
		} else {
			b.WriteString(t.raw)
		}
	}
	return b.String()
}

// uniqueStrings returns ss without repeats, in first-seen order.
func uniqueStrings(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// quoteAll returns each string Go-quoted.
func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// denyList names DENY statements by index, as in "DENY statement[0]" or
// "DENY statement[0] and statement[2]".
func denyList(idx []int) string {
	words := make([]string, len(idx))
	for i, n := range idx {
		words[i] = fmt.Sprintf("statement[%d]", n)
	}
	return "DENY " + joinWords(words)
}

// joinWords joins words as in "a", "a and b" or "a, b and c".
func joinWords(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// pronoun returns "it" or "them" for n things.
func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// unknownVariables returns the ${...} names p uses that are not IoTDA
// variables, in order, without repeats.
func unknownVariables(p pattern) []string {
	var out []string
	for _, t := range p.toks {
		if _, known := variables[t.name]; t.kind == tokVar && !known && !slices.Contains(out, t.name) {
			out = append(out, t.name)
		}
	}
	return out
}

// bareVariable finds text that looks like a variable without its "${" and
// "}": a "devices." or "device." name with a "$" or "{" before it or a "}"
// after it, or a name close to a variable's.
var bareVariable = regexp.MustCompile(`(?i)\$?\{?\bdevices?\.[a-z_]+\}?`)

// bareVariables returns the texts of p outside its ${...} tokens that
// look like variables written without "${" and "}".
func bareVariables(p pattern) []string {
	var out []string
	var run strings.Builder
	flush := func() {
		for _, m := range bareVariable.FindAllString(run.String(), -1) {
			name := strings.Trim(m, "${}")
			marked := m != name
			if (marked || distance(strings.ToLower(name), strings.ToLower(closestVariable(name))) <= 2) && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
		run.Reset()
	}
	for _, t := range p.toks {
		if t.kind == tokVar {
			flush()
			continue
		}
		run.WriteString(t.raw)
	}
	flush()
	return out
}

// closestVariable returns the IoTDA variable name nearest to name, ignoring
// letter case.
func closestVariable(name string) string {
	best, bestD := variableNames[0], -1
	for _, v := range variableNames {
		if d := distance(strings.ToLower(name), strings.ToLower(v)); bestD < 0 || d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// variableList names the IoTDA variables, as "${a}, ${b} and ${c}".
func variableList() string {
	names := make([]string, len(variableNames))
	for i, v := range variableNames {
		names[i] = "${" + v + "}"
	}
	return joinWords(names)
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
