package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// The rules a finding belongs to (SARIF rule ids, waiver "finding" values).
const (
	ruleWidened   = "widened"
	ruleUndecided = "undecided"
	ruleDenyTopic = "deny-topic"
)

// report is the outcome of a review; its JSON is the --format json output.
type report struct {
	Policies []policyReport `json:"policies"`
	Findings []finding      `json:"findings"`
	// Matrix is set when the report covers two policies or more.
	Matrix *accessMatrix `json:"access_matrix,omitempty"`
	// Pass is false when a finding that is not waived fails a gate.
	Pass bool `json:"pass"`
}

type policyReport struct {
	Address string `json:"address"`
	Name    string `json:"policy_name,omitempty"`
	// Change is create, update, replace, destroy or no-op.
	Change string `json:"change"`
	// ComparedTo is "prior state" or "baseline".
	ComparedTo string          `json:"compared_to"`
	Widened    []changeJSON    `json:"widened"`
	Narrowed   []changeJSON    `json:"narrowed"`
	Undecided  []undecidedJSON `json:"undecided"`
	Bindings   []bindingReport `json:"bindings"`
	// BlastRadius counts the targets of each type bound after the change
	// by the bindings in the plan; BlastRadiusUnknown is set when a
	// binding's targets are known only after apply.
	BlastRadius        map[string]int `json:"blast_radius"`
	BlastRadiusUnknown bool           `json:"blast_radius_unknown,omitempty"`
}

type changeJSON struct {
	Action    string            `json:"action"`
	Topic     string            `json:"topic"`
	Identity  map[string]string `json:"identity,omitempty"`
	Statement int               `json:"statement"`
	Resource  string            `json:"resource"`
}

type undecidedJSON struct {
	Direction string `json:"direction"`
	Action    string `json:"action"`
	Statement int    `json:"statement"`
	Resource  string `json:"resource"`
	Reason    string `json:"reason"`
}

type bindingReport struct {
	Address    string   `json:"address"`
	Change     string   `json:"change"`
	TargetType string   `json:"target_type"`
	Added      []string `json:"added"`
	Removed    []string `json:"removed"`
	// Targets is the number bound after the change; -1 when unknown.
	Targets int `json:"targets"`
}

type finding struct {
	RuleID  string `json:"rule_id"`
	Address string `json:"address"`
	Message string `json:"message"`
	// Failing reports whether the finding fails a gate (before waivers).
	Failing bool   `json:"failing"`
	Waived  bool   `json:"waived"`
	Reason  string `json:"waiver_reason,omitempty"`
}

// options are the review's gates.
type options struct {
	failOn     map[string]bool
	denyTopics []string
	baseline   map[string][]statementJSON
	waivers    []waiver
}

type waiver struct {
	Address string `json:"address"`
	Finding string `json:"finding"`
	Reason  string `json:"reason"`
}

func changesJSON(in []policyeval.Change) []changeJSON {
	out := make([]changeJSON, 0, len(in))
	for _, c := range in {
		id := map[string]string{}
		for k, v := range map[string]string{"device_id": c.Identity.DeviceID, "product_id": c.Identity.ProductID, "client_id": c.Identity.ClientID} {
			if v != "" {
				id[k] = v
			}
		}
		if len(id) == 0 {
			id = nil
		}
		out = append(out, changeJSON{Action: c.Action, Topic: c.Topic, Identity: id, Statement: c.Statement, Resource: c.Resource})
	}
	return out
}

func undecidedOf(d policyeval.Diff) []undecidedJSON {
	out := []undecidedJSON{}
	for dir, us := range map[string][]policyeval.Undecided{"widened": d.UndecidedWidened, "narrowed": d.UndecidedNarrowed} {
		for _, u := range us {
			out = append(out, undecidedJSON{Direction: dir, Action: u.Action, Statement: u.Statement, Resource: u.Resource, Reason: u.Reason})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Direction > out[j].Direction })
	return out
}

// policyEntry is a policy's change read from the plan.
type policyEntry struct {
	rep            *policyReport
	ids            []string
	before, after  []statementJSON
	hasAfter       bool
	afterStmtKnown bool
	// compared and planned are the statements judge compared: the prior
	// state's or the baseline's, and those after the change.
	compared, planned []statementJSON
}

// review builds the report of a plan under the options.
func review(p *plan, opts options) (*report, error) {
	refs := configRefs(p.Configuration)
	var policies []*policyEntry
	byBase := map[string][]*policyEntry{}
	type bindingEntry struct {
		rep       bindingReport
		policyIDs []string
		refs      []string
	}
	var bindings []bindingEntry
	for _, rc := range p.ResourceChanges {
		if rc.Mode != "managed" {
			continue
		}
		kind := changeKind(rc.Change.Actions)
		if kind == "" {
			kind = "no-op"
		}
		switch rc.Type {
		case "iotda_device_policy":
			var before, after policyValues
			if _, err := decodeOptional(rc.Change.Before, &before); err != nil {
				return nil, fmt.Errorf("%s: before: %v", rc.Address, err)
			}
			hasAfter, err := decodeOptional(rc.Change.After, &after)
			if err != nil {
				return nil, fmt.Errorf("%s: after: %v", rc.Address, err)
			}
			e := &policyEntry{rep: &policyReport{Address: rc.Address, Change: kind, ComparedTo: "prior state", BlastRadius: map[string]int{}},
				before: before.Statement, after: after.Statement, hasAfter: hasAfter && kind != "destroy", afterStmtKnown: after.Statement != nil}
			e.rep.Name = after.PolicyName
			if e.rep.Name == "" {
				e.rep.Name = before.PolicyName
			}
			for _, id := range []*string{before.ID, after.ID} {
				if id != nil && *id != "" {
					e.ids = append(e.ids, *id)
				}
			}
			policies = append(policies, e)
			byBase[baseAddress(rc.Address)] = append(byBase[baseAddress(rc.Address)], e)
		case "iotda_device_policy_binding":
			var before, after bindingValues
			if _, err := decodeOptional(rc.Change.Before, &before); err != nil {
				return nil, fmt.Errorf("%s: before: %v", rc.Address, err)
			}
			hasAfter, err := decodeOptional(rc.Change.After, &after)
			if err != nil {
				return nil, fmt.Errorf("%s: after: %v", rc.Address, err)
			}
			b := bindingEntry{rep: bindingReport{Address: rc.Address, Change: kind, TargetType: after.TargetType, Added: []string{}, Removed: []string{}}}
			if b.rep.TargetType == "" {
				b.rep.TargetType = before.TargetType
			}
			old := map[string]string{}
			if before.Targets != nil {
				old = *before.Targets
			}
			switch {
			case !hasAfter || kind == "destroy":
				b.rep.Targets = 0
				for k := range old {
					b.rep.Removed = append(b.rep.Removed, k)
				}
			case after.Targets == nil:
				b.rep.Targets = -1
			default:
				b.rep.Targets = len(*after.Targets)
				for k := range *after.Targets {
					if _, ok := old[k]; !ok || kind == "replace" {
						b.rep.Added = append(b.rep.Added, k)
					}
				}
				for k := range old {
					if _, ok := (*after.Targets)[k]; !ok || kind == "replace" {
						b.rep.Removed = append(b.rep.Removed, k)
					}
				}
			}
			slices.Sort(b.rep.Added)
			slices.Sort(b.rep.Removed)
			for _, id := range []*string{before.PolicyID, after.PolicyID} {
				if id != nil && *id != "" {
					b.policyIDs = append(b.policyIDs, *id)
				}
			}
			b.refs = refs[baseAddress(rc.Address)]
			bindings = append(bindings, b)
		}
	}
	for _, b := range bindings {
		var owner *policyEntry
		for _, e := range policies {
			for _, id := range e.ids {
				if slices.Contains(b.policyIDs, id) {
					owner = e
				}
			}
		}
		for _, ref := range b.refs {
			if es := byBase[strings.TrimSuffix(ref, ".id")]; owner == nil && len(es) == 1 {
				owner = es[0]
			}
		}
		if owner == nil {
			continue
		}
		owner.rep.Bindings = append(owner.rep.Bindings, b.rep)
		if b.rep.Targets < 0 {
			owner.rep.BlastRadiusUnknown = true
		} else {
			owner.rep.BlastRadius[b.rep.TargetType] += b.rep.Targets
		}
	}

	r := &report{Policies: []policyReport{}, Findings: []finding{}}
	var reported []*policyEntry
	for _, e := range policies {
		changed := e.rep.Change != "no-op"
		for _, b := range e.rep.Bindings {
			changed = changed || len(b.Added) > 0 || len(b.Removed) > 0
		}
		if err := r.judge(e, opts); err != nil {
			return nil, err
		}
		if changed || len(e.rep.Widened)+len(e.rep.Undecided) > 0 {
			r.Policies = append(r.Policies, *e.rep)
			reported = append(reported, e)
		}
	}
	if len(reported) >= 2 {
		m, err := matrixOf(reported)
		if err != nil {
			return nil, err
		}
		r.Matrix = m
	}
	r.applyWaivers(opts)
	return r, nil
}

// judge compares one policy and checks the deny-topic gate on it.
func (r *report) judge(e *policyEntry, opts options) error {
	rep := e.rep
	old := e.before
	if base, ok := opts.baseline[rep.Address]; ok {
		old, rep.ComparedTo = base, "baseline"
	}
	var newStmts []statementJSON
	if e.hasAfter {
		newStmts = e.after
	}
	e.compared, e.planned = old, newStmts
	rep.Widened, rep.Narrowed, rep.Undecided = []changeJSON{}, []changeJSON{}, []undecidedJSON{}
	if e.hasAfter && !e.afterStmtKnown {
		r.add(finding{RuleID: ruleUndecided, Address: rep.Address, Message: "the policy's statements are known only after apply, so the access it grants cannot be reviewed from the plan", Failing: opts.failOn[ruleUndecided]})
		return nil
	}
	if rep.Change == "no-op" && rep.ComparedTo == "prior state" {
		return r.denyTopics(rep.Address, newStmts, opts)
	}
	d, err := policyeval.Compare(toEval(old), toEval(newStmts))
	if err != nil {
		return fmt.Errorf("%s: %v", rep.Address, err)
	}
	rep.Widened, rep.Narrowed, rep.Undecided = changesJSON(d.Widened), changesJSON(d.Narrowed), undecidedOf(d)
	for _, c := range rep.Widened {
		r.add(finding{RuleID: ruleWidened, Address: rep.Address, Failing: opts.failOn[ruleWidened],
			Message: fmt.Sprintf("%s widens access: %s on %q is newly allowed%s (statement[%d] %s)", rep.Address, c.Action, c.Topic, identityText(c.Identity), c.Statement, c.Resource)})
	}
	for _, u := range rep.Undecided {
		r.add(finding{RuleID: ruleUndecided, Address: rep.Address, Failing: opts.failOn[ruleUndecided],
			Message: fmt.Sprintf("%s: whether %s through statement[%d] %s is %s is undecided because %s", rep.Address, u.Action, u.Statement, u.Resource, u.Direction, u.Reason)})
	}
	return r.denyTopics(rep.Address, newStmts, opts)
}

// denyTopics adds a finding for each --deny-topic pattern the statements
// grant. It asks policyeval.Compare what the statements lose when a DENY
// of the pattern is added: exactly the access they grant within it.
func (r *report) denyTopics(addr string, stmts []statementJSON, opts options) error {
	for _, pat := range opts.denyTopics {
		res := pat
		if !strings.HasPrefix(res, iotda.ResourcePrefix) {
			res = iotda.ResourcePrefix + res
		}
		deny := statementJSON{Effect: iotda.EffectDeny, Actions: []string{iotda.ActionPublish, iotda.ActionSubscribe}, Resources: []string{res}}
		d, err := policyeval.Compare(toEval(stmts), toEval(append(slices.Clone(stmts), deny)))
		if err != nil {
			return fmt.Errorf("%s: %v", addr, err)
		}
		for _, c := range changesJSON(d.Narrowed) {
			r.add(finding{RuleID: ruleDenyTopic, Address: addr, Failing: true,
				Message: fmt.Sprintf("%s grants %s on %q%s, which --deny-topic %q forbids (statement[%d] %s)", addr, c.Action, c.Topic, identityText(c.Identity), pat, c.Statement, c.Resource)})
		}
		for _, u := range d.UndecidedNarrowed {
			r.add(finding{RuleID: ruleDenyTopic, Address: addr, Failing: true,
				Message: fmt.Sprintf("%s: whether statement[%d] %s grants %s within --deny-topic %q is undecided because %s", addr, u.Statement, u.Resource, u.Action, pat, u.Reason)})
		}
	}
	return nil
}

func identityText(id map[string]string) string {
	if len(id) == 0 {
		return ""
	}
	keys := make([]string, 0, len(id))
	for k := range id {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + id[k]
	}
	return " for a device with " + strings.Join(parts, ", ")
}

func (r *report) add(f finding) { r.Findings = append(r.Findings, f) }

// applyWaivers marks waived findings (they stay in the report) and sets Pass.
func (r *report) applyWaivers(opts options) {
	r.Pass = true
	for i := range r.Findings {
		f := &r.Findings[i]
		for _, w := range opts.waivers {
			if w.Address == f.Address && w.Finding == f.RuleID {
				f.Waived, f.Reason = true, w.Reason
			}
		}
		if f.Failing && !f.Waived {
			r.Pass = false
		}
	}
}
