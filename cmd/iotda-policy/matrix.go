package main

import (
	"fmt"
	"slices"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/policyeval"
)

// maxMatrixRows bounds the access matrix: the example topics of the first
// changes, in the order of the report; the rest are counted.
const maxMatrixRows = 20

// accessMatrix shows the example topics of the review's changes by policy:
// whether each policy grants the topic before and after the change. A topic
// one policy gains may be one another already grants, or loses.
type accessMatrix struct {
	// Columns are the policies' addresses, in the order of the report.
	Columns []string    `json:"columns"`
	Rows    []matrixRow `json:"rows"`
	// MoreTopics counts the example topics left out.
	MoreTopics int `json:"more_topics,omitempty"`
}

type matrixRow struct {
	Action   string            `json:"action"`
	Topic    string            `json:"topic"`
	Identity map[string]string `json:"identity,omitempty"`
	// Cells holds one cell per column.
	Cells []matrixCell `json:"cells"`
}

// matrixCell says whether a policy grants a row's topic: "allowed",
// "denied", or "unknown" (the statements are known only after apply).
type matrixCell struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

// matrixOf builds the matrix of the reported policies, evaluating each row
// against the statements each policy was compared with and those planned.
func matrixOf(entries []*policyEntry) (*accessMatrix, error) {
	m := &accessMatrix{Rows: []matrixRow{}}
	seen := map[string]bool{}
	var rows []changeJSON
	for _, e := range entries {
		m.Columns = append(m.Columns, e.rep.Address)
		for _, c := range slices.Concat(e.rep.Widened, e.rep.Narrowed) {
			key := c.Action + "\x00" + c.Topic + "\x00" + identityText(c.Identity)
			if seen[key] {
				continue
			}
			seen[key] = true
			if len(rows) == maxMatrixRows {
				m.MoreTopics++
				continue
			}
			rows = append(rows, c)
		}
	}
	for _, c := range rows {
		row := matrixRow{Action: c.Action, Topic: c.Topic, Identity: c.Identity}
		id := policyeval.Identity{DeviceID: c.Identity["device_id"], ProductID: c.Identity["product_id"], ClientID: c.Identity["client_id"]}
		for _, e := range entries {
			before, err := grants(e.compared, c, id)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", e.rep.Address, err)
			}
			after := "unknown"
			if !e.hasAfter || e.afterStmtKnown {
				if after, err = grants(e.planned, c, id); err != nil {
					return nil, fmt.Errorf("%s: %v", e.rep.Address, err)
				}
			}
			row.Cells = append(row.Cells, matrixCell{Before: before, After: after})
		}
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}

// grants says whether the statements allow the change's action and topic.
func grants(stmts []statementJSON, c changeJSON, id policyeval.Identity) (string, error) {
	res, err := policyeval.Evaluate(toEval(stmts), c.Action, c.Topic, id)
	if err != nil {
		return "", err
	}
	if res.Allowed {
		return "allowed", nil
	}
	return "denied", nil
}
