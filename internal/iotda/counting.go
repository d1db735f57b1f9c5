package iotda

import (
	"context"
	"net/http"
	"slices"

	"golang.org/x/sync/errgroup"
)

// TargetCount says how many targets of each type are bound to a policy,
// with the ids of some of them.
type TargetCount struct {
	// ByType maps a target type to its number of targets; types without
	// targets are absent.
	ByType map[string]int64
	// Examples maps a target type to ids of its targets, sorted: all of
	// them when the count needed no more than one page, else those of the
	// newest bindings (at least the number asked for, when there are).
	Examples map[string][]string
}

// Total is the number of targets of every type.
func (c TargetCount) Total() int64 {
	var n int64
	for _, v := range c.ByType {
		n += v
	}
	return n
}

// CountTargets counts the targets bound to a policy with the fewest pages
// the API allows, whatever their number: one page of every type, which
// holds them all when there are no more than Config.pageSize; otherwise
// one page per type, of examples ids, whose page.count is the number of
// that type. So 100,000 targets cost four calls, not the 2,000 pages of
// ListTargets. A listing that gives no page.count is read whole
// (ListTargets), since only the records can then say how many there are.
func (c *Client) CountTargets(ctx context.Context, policyID string, examples int) (TargetCount, error) {
	examples = max(1, min(examples, c.pageSize))
	page, err := c.targetsPage(ctx, policyID, "", c.pageSize)
	if err != nil {
		return TargetCount{}, err
	}
	if len(page.Targets) < c.pageSize || page.Page.Count == int64(len(page.Targets)) {
		return countOf(page.Targets, ""), nil
	}
	out := TargetCount{ByType: map[string]int64{}, Examples: map[string][]string{}}
	targetTypes := TargetTypes() // one count call each
	counts := make([]TargetCount, len(targetTypes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.parallelism)
	for i, targetType := range targetTypes {
		g.Go(func() error {
			page, err := c.targetsPage(gctx, policyID, targetType, examples)
			if err != nil {
				return err
			}
			if page.Page.Count < int64(len(page.Targets)) {
				all, err := c.ListTargets(gctx, policyID, targetType)
				if err != nil {
					return err
				}
				counts[i] = countOf(all, targetType)
				return nil
			}
			counts[i] = countOf(page.Targets, targetType)
			if page.Page.Count > 0 {
				counts[i].ByType[targetType] = page.Page.Count
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return TargetCount{}, err
	}
	for _, tc := range counts {
		for t, n := range tc.ByType {
			out.ByType[t], out.Examples[t] = n, tc.Examples[t]
		}
	}
	return out, nil
}

// targetsPage fetches the first page (the newest bindings) of a policy's
// targets, of one type or of all.
func (c *Client) targetsPage(ctx context.Context, policyID, targetType string, limit int) (listTargetsResponse, error) {
	var out listTargetsResponse
	req := listTargetsRequest{TargetType: targetType, Limit: limit}
	err := c.do(ctx, OpListTargets, http.MethodPost, c.path(policyID, "list-targets"), nil, req, http.StatusOK, &out)
	return out, err
}

// countOf counts targets by type; a target without a type is of the type
// asked for (as in ListTargets).
func countOf(targets []Target, asked string) TargetCount {
	out := TargetCount{ByType: map[string]int64{}, Examples: map[string][]string{}}
	for _, t := range targets {
		typ := t.TargetType
		if typ == "" {
			typ = asked
		}
		if asked != "" && typ != asked {
			continue
		}
		out.ByType[typ]++
		out.Examples[typ] = append(out.Examples[typ], t.TargetID)
	}
	for _, ids := range out.Examples {
		slices.Sort(ids)
	}
	return out
}
