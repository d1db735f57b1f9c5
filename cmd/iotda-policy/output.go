package main

import (
	"fmt"
	"io"
	"strings"
)

// writeMarkdown writes the report as a pull-request comment: a table per
// policy and the findings with their gate outcome.
func writeMarkdown(w io.Writer, r *report) {
	status := "pass"
	if !r.Pass {
		status = "FAIL"
	}
	fmt.Fprintf(w, "## iotda-policy review: %s\n\n", status)
	if len(r.Policies) == 0 {
		fmt.Fprintln(w, "No device policy or binding changes in this plan.")
	}
	for _, p := range r.Policies {
		fmt.Fprintf(w, "### `%s` (%s, compared to the %s)\n\n", p.Address, p.Change, p.ComparedTo)
		fmt.Fprintf(w, "Blast radius from the plan: %s\n\n", blastText(p))
		if len(p.Widened)+len(p.Narrowed)+len(p.Undecided) > 0 {
			fmt.Fprintln(w, "| Access | Action | Example topic | Statement | Resource |")
			fmt.Fprintln(w, "|---|---|---|---|---|")
			for _, c := range p.Widened {
				fmt.Fprintf(w, "| granted | %s | `%s`%s | %d | `%s` |\n", c.Action, c.Topic, cell(identityText(c.Identity)), c.Statement, c.Resource)
			}
			for _, c := range p.Narrowed {
				fmt.Fprintf(w, "| taken away | %s | `%s`%s | %d | `%s` |\n", c.Action, c.Topic, cell(identityText(c.Identity)), c.Statement, c.Resource)
			}
			for _, u := range p.Undecided {
				fmt.Fprintf(w, "| undecided (%s) | %s | %s | %d | `%s` |\n", u.Direction, u.Action, cell(u.Reason), u.Statement, u.Resource)
			}
			fmt.Fprintln(w)
		} else {
			fmt.Fprintln(w, "No access granted or taken away.")
			fmt.Fprintln(w)
		}
		if len(p.Bindings) > 0 {
			fmt.Fprintln(w, "| Binding | Change | Target type | Added | Removed | Bound after |")
			fmt.Fprintln(w, "|---|---|---|---|---|---|")
			for _, b := range p.Bindings {
				after := fmt.Sprint(b.Targets)
				if b.Targets < 0 {
					after = "known after apply"
				}
				fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s |\n", b.Address, b.Change, b.TargetType, idsText(b.Added), idsText(b.Removed), after)
			}
			fmt.Fprintln(w)
		}
	}
	if r.Matrix != nil && len(r.Matrix.Rows) > 0 {
		writeMatrix(w, r.Matrix)
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w, "### Findings")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| Rule | Resource | Outcome | Finding |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, f := range r.Findings {
			outcome := "reported"
			switch {
			case f.Waived:
				outcome = "waived: " + f.Reason
			case f.Failing:
				outcome = "**fails**"
			}
			fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", f.RuleID, f.Address, cell(outcome), cell(f.Message))
		}
	}
}

// writeMatrix writes the access matrix: example topics by policy, each
// cell what the policy grants before and after the change.
func writeMatrix(w io.Writer, m *accessMatrix) {
	fmt.Fprintln(w, "### Access matrix")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Example topics of the changes above, by policy: granted before → after the change.")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| Action | Example topic |")
	for _, c := range m.Columns {
		fmt.Fprintf(w, " `%s` |", c)
	}
	fmt.Fprint(w, "\n|---|---|")
	fmt.Fprint(w, strings.Repeat("---|", len(m.Columns)))
	fmt.Fprintln(w)
	for _, row := range m.Rows {
		fmt.Fprintf(w, "| %s | `%s`%s |", row.Action, row.Topic, cell(identityText(row.Identity)))
		for _, c := range row.Cells {
			fmt.Fprintf(w, " %s |", cellText(c))
		}
		fmt.Fprintln(w)
	}
	if m.MoreTopics > 0 {
		fmt.Fprintf(w, "\nand %d more example topics (see the tables above).\n", m.MoreTopics)
	}
	fmt.Fprintln(w)
}

// cellText shows an unchanged grant as one word and a change as before →
// after, the new side in bold.
func cellText(c matrixCell) string {
	if c.Before == c.After {
		return c.Before
	}
	return fmt.Sprintf("%s → **%s**", c.Before, c.After)
}

// targetNouns names the target types as the provider's warnings do.
var targetNouns = []struct{ targetType, one, many string }{
	{"device", "device", "devices"},
	{"product", "product", "products"},
	{"app", "resource space", "resource spaces"},
}

// blastText says how many devices, products and resource spaces the
// bindings in the plan bind to the policy after the change.
func blastText(p policyReport) string {
	parts := []string{}
	for _, k := range targetNouns {
		if n := p.BlastRadius[k.targetType]; n > 0 {
			noun := k.many
			if n == 1 {
				noun = k.one
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, noun))
		}
	}
	if p.BlastRadiusUnknown {
		parts = append(parts, "more known only after apply")
	}
	if len(parts) == 0 {
		return "no bindings of this policy in the plan"
	}
	return strings.Join(parts, ", ")
}

// idsText shows up to five ids and the count of the rest.
func idsText(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	const shown = 5
	if len(ids) <= shown {
		return cell(strings.Join(ids, ", "))
	}
	return cell(fmt.Sprintf("%s and %d more", strings.Join(ids[:shown], ", "), len(ids)-shown))
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// SARIF 2.1.0, the subset code scanning reads.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID       string            `json:"ruleId"`
	Level        string            `json:"level"`
	Message      sarifMessage      `json:"message"`
	Locations    []sarifLocation   `json:"locations"`
	Suppressions []sarifSuppressed `json:"suppressions,omitempty"`
}

// sarifLocation is a logical location: the plan's JSON gives no source
// positions for resources (its configuration section holds expressions
// only), so a finding points at the resource address.
type sarifLocation struct {
	LogicalLocations []sarifLogical `json:"logicalLocations"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppressed struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

func sarifOf(r *report) sarifLog {
	results := []sarifResult{}
	for _, f := range r.Findings {
		level := "warning"
		if f.Failing {
			level = "error"
		}
		res := sarifResult{RuleID: f.RuleID, Level: level, Message: sarifMessage{Text: f.Message},
			Locations: []sarifLocation{{LogicalLocations: []sarifLogical{{FullyQualifiedName: f.Address, Kind: "resource"}}}}}
		if f.Waived {
			res.Suppressions = []sarifSuppressed{{Kind: "external", Justification: f.Reason}}
		}
		results = append(results, res)
	}
	return sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{{
		Tool: sarifTool{Driver: sarifDriver{Name: "iotda-policy", Version: version,
			InformationURI: "https://github.com/iotda-terraform/terraform-provider-iotda",
			Rules: []sarifRule{
				{ID: ruleWidened, ShortDescription: sarifMessage{Text: "A device policy change grants access the prior policy (or the baseline) did not."}},
				{ID: ruleUndecided, ShortDescription: sarifMessage{Text: "Whether a device policy change grants or takes away access could not be decided."}},
				{ID: ruleDenyTopic, ShortDescription: sarifMessage{Text: "A device policy grants a topic that --deny-topic forbids."}},
			}}},
		Results: results,
	}}}
}
