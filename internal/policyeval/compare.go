package policyeval

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// Change is one example of access that differs between two sets of
// statements: a device with Identity may perform Action on Topic under one
// set and not under the other.
type Change struct {
	// Action is [iotda.ActionPublish] or [iotda.ActionSubscribe].
	Action string
	// Topic is an MQTT topic on which the access differs.
	Topic string
	// Identity is a device for which it differs. Only the values of the
	// variables the statements use are set; when none is set, the access
	// differs for every device, whatever its identity.
	Identity Identity
	// Statement and Resource name the ALLOW statement (its index) and the
	// resource of it that grants the access: in the new statements for a
	// widening, in the old ones for a narrowing.
	Statement int
	Resource  string
}

// Undecided names an ALLOW resource for which [Compare] could neither show
// an example of changed access nor prove that there is none.
type Undecided struct {
	// Action is [iotda.ActionPublish] or [iotda.ActionSubscribe].
	Action string
	// Statement and Resource are as in [Change].
	Statement int
	Resource  string
	// Reason says, in a clause that completes "undecided because", why:
	// [ReasonIdentities], or a work limit that was reached (see [MaxWork]).
	Reason string
}

// ReasonIdentities is the reason of an [Undecided] whose answer depends on
// the values of device identities in a way the comparison cannot settle.
const ReasonIdentities = "whether it does depends on the values of device identities in a way the comparison cannot settle"

// Diff is the outcome of [Compare].
type Diff struct {
	// Widened holds access the new statements grant and the old did not,
	// at most one example per action and ALLOW resource of the new
	// statements, by action then statement order.
	Widened []Change
	// Narrowed holds access the old statements granted and the new do not,
	// in the same way for the ALLOW resources of the old statements.
	Narrowed []Change
	// UndecidedWidened and UndecidedNarrowed name the resources for which
	// the comparison was not decided in each direction.
	UndecidedWidened  []Undecided
	UndecidedNarrowed []Undecided
}

// NoNewAccess reports whether the new statements are proven to grant no
// device any access the old statements did not.
func (d Diff) NoNewAccess() bool {
	return len(d.Widened) == 0 && len(d.UndecidedWidened) == 0
}

// NoLostAccess reports whether the new statements are proven to take no
// access the old statements granted away from any device.
func (d Diff) NoLostAccess() bool {
	return len(d.Narrowed) == 0 && len(d.UndecidedNarrowed) == 0
}

// Compare compares what two sets of statements allow, each pooled as
// [Evaluate] pools them: for each action, the topics the new statements
// allow that the old did not (widened) and those the old allowed that the
// new do not (narrowed). Topics starting with "$", which policies do not
// govern, never differ.
//
// Each ALLOW resource of one side is checked against the other side: does
// every topic it grants, and that the same side's DENY statements leave
// allowed, stay allowed on the other side? The check is the exact language
// inclusion of [Review]. Every example it reports is confirmed with
// [Evaluate] on the concrete topic and identity, so none is a guess. For
// patterns without variables the answer is decided unless the work limits
// ([MaxWork], [MaxSearchWork], [MaxDuration]) are reached: an example, or
// a proof that there is none. With variables, "no change" is only reported
// when it is proven for every identity. A resource for which neither a
// proof nor a confirmed example is found is reported undecided, with the
// reason. Resources and statements the two sides share are settled without
// a search, so an unchanged policy, or a change of a few statements, costs
// little whatever its patterns.
//
// Compare returns an error for a statement whose effect is neither "ALLOW"
// nor "DENY".
func Compare(oldStmts, newStmts []Statement) (Diff, error) {
	for side, stmts := range [][]Statement{oldStmts, newStmts} {
		if err := checkEffects(stmts); err != nil {
			return Diff{}, fmt.Errorf("%s %w", []string{"old", "new"}[side], err)
		}
	}
	return compare(oldStmts, newStmts, newBudget()), nil
}

// compare is [Compare] of valid statements within the budget b.
func compare(oldStmts, newStmts []Statement, b *budget) Diff {
	var d Diff
	for _, action := range []string{iotda.ActionPublish, iotda.ActionSubscribe} {
		old, updated := sideOf(oldStmts, action), sideOf(newStmts, action)
		widened, undecided := gained(oldStmts, newStmts, old, updated, action, b)
		d.Widened = append(d.Widened, widened...)
		d.UndecidedWidened = append(d.UndecidedWidened, undecided...)
		narrowed, undecided := gained(newStmts, oldStmts, updated, old, action, b)
		d.Narrowed = append(d.Narrowed, narrowed...)
		d.UndecidedNarrowed = append(d.UndecidedNarrowed, undecided...)
	}
	return d
}

// located is a compiled resource with the statement it belongs to.
type located struct {
	stmt     int
	resource string
	p        pattern
	a        *automaton
	// wide is p with each variable widened to "*" (see [starred]).
	wide pattern
}

// side is the valid resources of the ALLOW and of the DENY statements of
// one set of statements naming one action.
type side struct {
	allows, denies []located
}

// sideOf compiles the resources of stmts naming action.
func sideOf(stmts []Statement, action string) side {
	var s side
	for i, st := range stmts {
		if !slices.Contains(st.Actions, action) {
			continue
		}
		for _, r := range st.Resources {
			p := parsePattern(r)
			if !p.valid {
				continue
			}
			l := located{stmt: i, resource: r, p: p, a: compile(p), wide: p}
			if hasVariables(p) {
				l.wide = starred(p)
			}
			if st.Effect == iotda.EffectAllow {
				s.allows = append(s.allows, l)
			} else {
				s.denies = append(s.denies, l)
			}
		}
	}
	return s
}

func automataOf(ls []located) []*automaton {
	out := make([]*automaton, len(ls))
	for i, l := range ls {
		out[i] = l.a
	}
	return out
}

// hasResource reports whether ls holds the resource r, as written.
func hasResource(ls []located, r string) bool {
	return slices.ContainsFunc(ls, func(l located) bool { return l.resource == r })
}

// neverGoverned holds patterns for the strings that are never a governed
// topic: the empty string and topics starting with "$".
var neverGoverned = compileAll(append([]pattern{parsePattern(iotda.ResourcePrefix)}, ungoverned...))

// gained returns examples of access to's statements grant for action that
// from's do not, one per ALLOW resource of to at most, and the ALLOW
// resources of to for which that was not decided. fromSide and toSide are
// the compiled resources of from and to for action.
//
// A topic t is gained for an identity when some ALLOW resource q of to
// matches it, no DENY of to does, and from does not allow it: either no
// ALLOW of from matches t, or a DENY of from does. So for each q it is
// enough to look for a topic that q matches and none of DenyTo, AllowFrom
// matches (part A), and, for each DENY resource d of from, a topic that q
// and d match and no DenyTo matches (part B). A q that from also allows
// needs no part A, and a d that to also denies no part B: both are settled
// without a search.
func gained(from, to []Statement, fromSide, toSide side, action string, b *budget) ([]Change, []Undecided) {
	allowFrom, denyFrom := fromSide.allows, fromSide.denies
	allowTo, denyTo := toSide.allows, toSide.denies
	if len(allowTo) == 0 {
		return nil, nil
	}
	names := variablesUsed(allowFrom, denyFrom, allowTo, denyTo)
	negs := append(slices.Clone(neverGoverned), automataOf(denyTo)...)
	neg := newUnion(negs...)
	negA := newUnion(append(negs, automataOf(allowFrom)...)...)
	parsedFrom, parsedTo := parseStatements(from), parseStatements(to)
	patternChars := charsOf(from, to)
	confirm := func(w []symbol) (string, Identity, bool, string) {
		if !b.spend(0) {
			return "", Identity{}, false, b.reason
		}
		work := 0
		topic, id, ok := confirmWitness(from, to, parsedFrom, parsedTo, patternChars, action, w, names, &work)
		if ok && everyDevice(allowFrom, denyFrom, allowTo, denyTo, topic, &work) {
			id = Identity{}
		}
		b.spend(work / matchStepsPerStep)
		return topic, id, ok, ReasonIdentities
	}

	var changes []Change
	var undecided []Undecided
	for _, q := range allowTo {
		found, reason := false, ""
		// open leaves q undecided for why, keeping the first reason.
		open := func(why string) {
			if reason == "" {
				reason = why
			}
		}
		// record keeps the change a witness of q shows, or leaves q open
		// when the witness is not confirmed.
		record := func(w []symbol) {
			if topic, id, ok, why := confirm(w); ok {
				changes = append(changes, Change{Action: action, Topic: topic, Identity: id, Statement: q.stmt, Resource: q.resource})
				found = true
			} else {
				open(why)
			}
		}
		if !hasResource(allowFrom, q.resource) {
			switch r := escape([]*automaton{q.a}, negA, b); {
			case !r.decided:
				open(r.reason)
			case !r.included:
				record(r.witness)
			}
		}
		for _, d := range denyFrom {
			if found {
				break
			}
			if hasResource(denyTo, d.resource) {
				continue
			}
			r := escape([]*automaton{q.a, d.a}, neg, b)
			switch {
			case !r.decided:
				open(r.reason)
			case !r.included:
				record(r.witness)
			case hasVariables(q.p) || hasVariables(d.p):
				// With variables in two drivers, an empty symbolic
				// intersection is not proven for every identity (a
				// value can equal a literal of the other pattern). It
				// is when the intersection stays covered with every
				// variable of the drivers widened to "*", or when the
				// DENY, or q, is wholly denied by the new DENY statements.
				if !escape([]*automaton{compile(q.wide), compile(d.wide)}, neg, b).included &&
					!escape([]*automaton{d.a}, neg, b).included && !escape([]*automaton{q.a}, neg, b).included {
					open(firstNonEmpty(b.reason, ReasonIdentities))
				}
			}
		}
		if !found && reason != "" {
			undecided = append(undecided, Undecided{Action: action, Statement: q.stmt, Resource: q.resource, Reason: reason})
		}
	}
	return dedupe(changes), undecided
}

// matchStepsPerStep is how many steps of matching a topic cost as much as
// one step of a search, which stores what it visits.
const matchStepsPerStep = 8

// firstNonEmpty returns the first of ss that is not empty.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// everyDevice reports whether access to topic is gained for every device,
// whatever its identity: a pattern of allowTo without variables matches it,
// no pattern of denyTo can match it for any identity, and either no pattern
// of allowFrom can, or a pattern of denyFrom without variables matches it.
// A pattern "can match for some identity" when it matches with each
// variable widened to "*", which is a safe over-estimate.
func everyDevice(allowFrom, denyFrom, allowTo, denyTo []located, topic string, work *int) bool {
	t := chars(topic)
	always := func(ls []located) bool {
		return slices.ContainsFunc(ls, func(l located) bool { return !hasVariables(l.p) && l.p.matchWork(t, Identity{}, work) })
	}
	maybe := func(ls []located) bool {
		return slices.ContainsFunc(ls, func(l located) bool { return l.wide.matchWork(t, Identity{}, work) })
	}
	return always(allowTo) && !maybe(denyTo) && (!maybe(allowFrom) || always(denyFrom))
}

// dedupe drops changes whose action and topic an earlier change already
// shows.
func dedupe(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if !slices.ContainsFunc(out, func(o Change) bool { return o.Action == c.Action && o.Topic == c.Topic }) {
			out = append(out, c)
		}
	}
	return out
}

// starred returns p with each variable replaced by "*", which matches
// every value the variable can take, and more.
func starred(p pattern) pattern {
	out := pattern{valid: p.valid, toks: slices.Clone(p.toks)}
	for i, t := range out.toks {
		if t.kind == tokVar {
			out.toks[i] = token{kind: tokStar, raw: "*"}
		}
	}
	if out.valid {
		out.plain, _ = out.concrete(Identity{})
	}
	return out
}

func hasVariables(p pattern) bool {
	return slices.ContainsFunc(p.toks, func(t token) bool { return t.kind == tokVar })
}

// variablesUsed returns the names of the variables the resources use, in
// the order of [variableNames].
func variablesUsed(groups ...[]located) []string {
	used := map[string]bool{}
	for _, g := range groups {
		for _, l := range g {
			for _, t := range l.p.toks {
				if t.kind == tokVar {
					used[t.name] = true
				}
			}
		}
	}
	var out []string
	for _, name := range variableNames {
		if used[name] {
			out = append(out, name)
		}
	}
	return out
}

// charsOf is the set of characters the statements' resources use.
func charsOf(from, to []Statement) map[char]bool {
	used := map[char]bool{}
	for _, st := range append(slices.Clone(from), to...) {
		for _, r := range st.Resources {
			for _, c := range chars(r) {
				used[c] = true
			}
		}
	}
	return used
}

// confirmWitness turns a witness of [escape] into a concrete topic and
// identity, and keeps it only when [Evaluate] confirms that to's statements
// allow action on it and from's do not. The variables named in names get
// values; several sets of values are tried, readable ones first, then
// values made of characters no pattern and no witness uses, which behave
// most like the search's symbolic variables.
// patternChars is charsOf(from, to), which the caller computes once for
// every witness.
func confirmWitness(from, to []Statement, parsedFrom, parsedTo [][]pattern, patternChars map[char]bool, action string, w []symbol, names []string, work *int) (string, Identity, bool) {
	used := maps.Clone(patternChars)
	for _, s := range w {
		if s.name == "" {
			used[s.c] = true
		}
	}
	var odd []char
	for c := char('q'); len(odd) < len(variableNames); c++ {
		if !used[c] {
			odd = append(odd, c)
		}
	}
	tries := []map[string]string{{"devices.deviceId": "device-1", "devices.productId": "product-1", "devices.clientId": "client-1"}}
	for _, n := range []int{1, 3, 9} {
		values := map[string]string{}
		for i, name := range variableNames {
			values[name] = strings.Repeat(string(rune(odd[i])), n)
		}
		tries = append(tries, values)
	}
	if len(names) == 0 {
		tries = tries[:1]
	}
	for _, values := range tries {
		var id Identity
		for _, name := range names {
			setVariable(&id, name, values[name])
		}
		var b strings.Builder
		for _, s := range w {
			switch {
			case s.name != "":
				b.WriteString(variables[s.name](id))
			case s.c < 0:
				b.WriteByte(byte(-1 - s.c))
			default:
				b.WriteRune(rune(s.c))
			}
		}
		topic := b.String()
		now, err1 := evaluate(to, parsedTo, action, topic, id, work)
		before, err2 := evaluate(from, parsedFrom, action, topic, id, work)
		if err1 == nil && err2 == nil && now.Decision == DecisionAllow && !before.Allowed {
			return topic, id, true
		}
	}
	return "", Identity{}, false
}

// setVariable sets the identity value the variable name stands for.
func setVariable(id *Identity, name, value string) {
	switch name {
	case "devices.deviceId":
		id.DeviceID = value
	case "devices.productId":
		id.ProductID = value
	case "devices.clientId":
		id.ClientID = value
	}
}
