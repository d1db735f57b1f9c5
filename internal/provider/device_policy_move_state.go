package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

var _ resource.ResourceWithMoveState = (*devicePolicyResource)(nil)

// The resource of the huaweicloud provider that iotda_device_policy takes
// over with a `moved` block.
const (
	huaweicloudPolicyType     = "huaweicloud_iotda_device_policy"
	huaweicloudProviderSource = "huaweicloud/huaweicloud"
)

// huaweicloudPolicyState is the state of huaweicloud_iotda_device_policy
// (schema version 0) as far as this resource needs it. Its region has no
// counterpart here (the provider configuration names the region) but is
// kept for the region guard; enable_force_new has none either.
type huaweicloudPolicyState struct {
	ID         string `json:"id"`
	Region     string `json:"region"`
	PolicyName string `json:"policy_name"`
	SpaceID    string `json:"space_id"`
	Statement  []struct {
		Effect    string   `json:"effect"`
		Actions   []string `json:"actions"`
		Resources []string `json:"resources"`
	} `json:"statement"`
	CreateTime string `json:"create_time"`
	UpdateTime string `json:"update_time"`
}

// MoveState turns the state of a huaweicloud_iotda_device_policy into an
// iotda_device_policy without calling the API: space_id becomes app_id,
// the statements keep their order, and the id stays the policy id. The
// refresh that follows reads the rest.
//
// The source's region is kept in private state for the region guard
// (checkMovedRegion): Terraform moves state with a provider instance it
// has not configured, so the region this provider is configured for is
// known only from the refresh or plan that follows, before any API call.
func (r *devicePolicyResource) MoveState(_ context.Context) []resource.StateMover {
	return []resource.StateMover{{StateMover: moveHuaweicloudPolicy}}
}

func moveHuaweicloudPolicy(ctx context.Context, req resource.MoveStateRequest, resp *resource.MoveStateResponse) {
	tflog.Debug(ctx, "moving resource state to iotda_device_policy", map[string]any{
		"source_type": req.SourceTypeName, "source_provider": req.SourceProviderAddress, "source_schema_version": req.SourceSchemaVersion,
	})
	if req.SourceTypeName != huaweicloudPolicyType || !isHuaweicloudProvider(req.SourceProviderAddress) {
		resp.Diagnostics.AddError("Unsupported Move to iotda_device_policy",
			fmt.Sprintf("iotda_device_policy can be moved only from %s of the %s provider, not from %s of %q. "+
				"To bring an existing policy under this provider otherwise, import it by its policy id.",
				huaweicloudPolicyType, huaweicloudProviderSource, req.SourceTypeName, req.SourceProviderAddress))
		return
	}
	if req.SourceRawState == nil || len(req.SourceRawState.JSON) == 0 {
		resp.Diagnostics.AddError("Invalid huaweicloud_iotda_device_policy State",
			"The state to move holds no attributes (it may be in the old flatmap format): apply once with the huaweicloud provider to rewrite it, or import the policy by its id instead.")
		return
	}
	var src huaweicloudPolicyState
	if err := json.Unmarshal(req.SourceRawState.JSON, &src); err != nil {
		resp.Diagnostics.AddError("Invalid huaweicloud_iotda_device_policy State",
			fmt.Sprintf("The state to move (schema version %d) cannot be read: %s. Import the policy by its id instead.", req.SourceSchemaVersion, err))
		return
	}
	if !iotda.PolicyIDPattern.MatchString(src.ID) {
		resp.Diagnostics.AddError("Invalid huaweicloud_iotda_device_policy State",
			fmt.Sprintf("The state to move has id %q, which is not a device policy id "+policyIDForm+". "+
				"Only a policy that exists can be moved: check the source address of the moved block.", src.ID))
		return
	}

	target := devicePolicyModel{
		ID:         types.StringValue(src.ID),
		PolicyName: optionalString(src.PolicyName),
		AppID:      optionalString(src.SpaceID),
		Statement:  make([]statementModel, 0, len(src.Statement)),
		CreateTime: optionalString(src.CreateTime),
		UpdateTime: optionalString(src.UpdateTime),
	}
	for _, s := range src.Statement {
		target.Statement = append(target.Statement, statementModel{
			Effect:    types.StringValue(s.Effect),
			Actions:   stringSet(s.Actions),
			Resources: stringSet(s.Resources),
		})
	}
	resp.Diagnostics.Append(resp.TargetState.Set(ctx, target)...)
	setPolicyIdentity(ctx, resp.TargetIdentity, src.ID, &resp.Diagnostics)
	if src.Region != "" {
		region, _ := json.Marshal(src.Region)
		resp.Diagnostics.Append(resp.TargetPrivate.SetKey(ctx, movedFromRegionKey, region)...)
	}
}

// movedFromRegionKey is the private state key under which MoveState keeps
// the region of a moved huaweicloud_iotda_device_policy until a refresh in
// that region has read the policy.
const movedFromRegionKey = "moved_from_region"

// privateGetter is the private state of a request.
type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

// checkMovedRegion refuses a policy moved from huaweicloud_iotda_device_policy
// in a region other than the one this provider is configured for (its
// region, or the one its instance endpoint names), when both are known:
// there the policy does not exist, so the refresh would drop it from the
// state and the plan would create a duplicate while the real policy stays
// bound to its devices, unmanaged. It reports whether the caller may go on.
func checkMovedRegion(ctx context.Context, private privateGetter, configured string, id types.String, diags *diag.Diagnostics) bool {
	if private == nil || configured == "" {
		return true
	}
	raw, d := private.GetKey(ctx, movedFromRegionKey)
	var moved string
	if d.HasError() || len(raw) == 0 || json.Unmarshal(raw, &moved) != nil || moved == "" || moved == configured {
		return true
	}
	diags.AddError("Device Policy Moved From Another Region",
		fmt.Sprintf("Device policy %s was moved from %s, whose state says it is in region %q, but this iotda provider is configured for region %q, where the policy does not exist. "+
			"Going on would drop it from the state and plan a duplicate, while the real policy stays bound to its devices. Nothing was read or written.\n\n"+
			"Give the resource a provider configured for %q: add a provider block such as\n\n"+
			"    provider \"iotda\" {\n      alias  = \"%s\"\n      region = \"%s\"\n    }\n\n"+
			"(with that region's project_id and endpoint), and set provider = iotda.%s in the iotda_device_policy block the moved block points to.",
			id.ValueString(), huaweicloudPolicyType, moved, configured, moved, aliasFor(moved), moved, aliasFor(moved)))
	return false
}

// aliasFor suggests a provider alias for a region: cn-east-3 gives cn_east_3.
func aliasFor(region string) string {
	return strings.ReplaceAll(region, "-", "_")
}

// isHuaweicloudProvider tells whether a provider address is the huaweicloud
// provider's, with or without a registry host: Terraform sends
// "registry.terraform.io/huaweicloud/huaweicloud", other CLIs and mirrors
// other hosts or none.
func isHuaweicloudProvider(address string) bool {
	parts := strings.Split(strings.ToLower(address), "/")
	if len(parts) == 3 && parts[0] != "" {
		parts = parts[1:]
	}
	return strings.Join(parts, "/") == huaweicloudProviderSource
}

// optionalString is a null string for "", else the string.
func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
