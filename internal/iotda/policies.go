package iotda

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// CreatePolicy creates a device policy. It is retried only where the server
// provably did not act on it, so it never makes two policies.
func (c *Client) CreatePolicy(ctx context.Context, req CreatePolicyRequest) (*Policy, error) {
	var out Policy
	ctx = withoutReplay(ctx)
	if err := c.do(ctx, OpCreate, http.MethodPost, c.path(), nil, req, http.StatusCreated, &out); err != nil {
		return nil, err
	}
	c.writes.wrote(out.PolicyID)
	return &out, nil
}

// UpdatePolicy changes the name and/or the statements of a policy.
func (c *Client) UpdatePolicy(ctx context.Context, policyID string, req UpdatePolicyRequest) (*Policy, error) {
	var out Policy
	if err := c.do(ctx, OpUpdate, http.MethodPut, c.path(policyID), nil, req, http.StatusOK, &out); err != nil {
		return nil, err
	}
	c.writes.wrote(policyID)
	return &out, nil
}

// GetPolicy reads one policy; a missing one is ErrNotFound. A policy this
// client wrote less than its read after write window ago is read again while the
// API does not find it (see readAfterOwnWrite).
func (c *Client) GetPolicy(ctx context.Context, policyID string) (*Policy, error) {
	return readAfterOwnWrite(ctx, c, policyID, func(ctx context.Context) (*Policy, error) {
		var out Policy
		if err := c.do(ctx, OpShow, http.MethodGet, c.path(policyID), nil, nil, http.StatusOK, &out); err != nil {
			return nil, err
		}
		return &out, nil
	})
}

// DeletePolicy deletes a policy, which unbinds all its targets; a missing one
// is ErrNotFound.
func (c *Client) DeletePolicy(ctx context.Context, policyID string) error {
	err := c.do(ctx, OpDelete, http.MethodDelete, c.path(policyID), nil, nil, http.StatusNoContent, nil)
	if err == nil || errors.Is(err, ErrNotFound) {
		c.writes.deleted(policyID)
	}
	return err
}

// ListPolicies returns every policy matching the filter, reading pages of
// Config.pageSize (MaxPageSize unless told otherwise) as listPages does.
func (c *Client) ListPolicies(ctx context.Context, filter ListPoliciesFilter) ([]PolicySummary, error) {
	pages, err := listPages(ctx, c, func(ctx context.Context, marker string, offset int) (pageInfo, []PolicySummary, error) {
		query := url.Values{"limit": {strconv.Itoa(c.pageSize)}}
		if marker != "" {
			query.Set("marker", marker)
		}
		if offset > 0 {
			query.Set("offset", strconv.Itoa(offset))
		}
		if filter.AppID != "" {
			query.Set("app_id", filter.AppID)
		}
		if filter.PolicyName != "" {
			query.Set("policy_name", filter.PolicyName)
		}
		var out listPoliciesResponse
		if err := c.do(ctx, OpList, http.MethodGet, c.path(), query, nil, http.StatusOK, &out); err != nil {
			return pageInfo{}, nil, err
		}
		return out.Page, out.Policies, nil
	})
	return slices.Concat(pages...), err
}
