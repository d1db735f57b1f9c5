package iotda

import (
	"context"
	"fmt"
	"net/http"
)

// BindPolicy binds up to MaxTargetsPerCall targets. Targets the API refused
// are in the result's FailureTargets, not in the error.
func (c *Client) BindPolicy(ctx context.Context, policyID, targetType string, targetIDs []string) (*BindResult, error) {
	return c.bindOrUnbind(ctx, OpBind, "bind", policyID, targetType, targetIDs)
}

// UnbindPolicy unbinds up to MaxTargetsPerCall targets. Targets the API
// refused are in the result's FailureTargets, not in the error.
func (c *Client) UnbindPolicy(ctx context.Context, policyID, targetType string, targetIDs []string) (*BindResult, error) {
	return c.bindOrUnbind(ctx, OpUnbind, "unbind", policyID, targetType, targetIDs)
}

func (c *Client) bindOrUnbind(ctx context.Context, op Operation, verb, policyID, targetType string, targetIDs []string) (*BindResult, error) {
	if len(targetIDs) == 0 || len(targetIDs) > MaxTargetsPerCall {
		return nil, fmt.Errorf("%s: %d target ids given, the API takes 1 to %d per call", op, len(targetIDs), MaxTargetsPerCall)
	}
	var out BindResult
	body := bindRequest{TargetType: targetType, TargetIDs: targetIDs}
	if err := c.do(ctx, op, http.MethodPost, c.path(policyID, verb), nil, body, http.StatusOK, &out); err != nil {
		return nil, err
	}
	c.writes.wrote(policyID)
	return &out, nil
}

// ListTargets returns every target bound to a policy, of one type or (with
// an empty targetType) of all types, newest binding first. It reads pages
// of Config.pageSize (MaxPageSize unless told otherwise); see listPages for how
// they are fetched in parallel. A policy this client wrote less than
// its read after write window ago is listed again while the API does not find it
// (see readAfterOwnWrite).
func (c *Client) ListTargets(ctx context.Context, policyID, targetType string) ([]Target, error) {
	pages, err := readAfterOwnWrite(ctx, c, policyID, func(ctx context.Context) ([][]Target, error) {
		return listPages(ctx, c, func(ctx context.Context, marker string, offset int) (pageInfo, []Target, error) {
			req := listTargetsRequest{TargetType: targetType, Limit: c.pageSize, Marker: marker, Offset: offset}
			var out listTargetsResponse
			if err := c.do(ctx, OpListTargets, http.MethodPost, c.path(policyID, "list-targets"), nil, req, http.StatusOK, &out); err != nil {
				return pageInfo{}, nil, err
			}
			return out.Page, out.Targets, nil
		})
	})
	if err != nil {
		return nil, err
	}
	var all []Target
	for _, page := range pages {
		for _, t := range page {
			// A target without a type is of the type asked for.
			if targetType == "" || t.TargetType == "" || t.TargetType == targetType {
				if t.TargetType == "" {
					t.TargetType = targetType
				}
				all = append(all, t)
			}
		}
	}
	return all, nil
}
