package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
// (schema version 0) as far as this resource needs it. Its other
// attributes (region, enable_force_new) have no counterpart here: the
// provider configuration names the region.
type huaweicloudPolicyState struct {
	ID         string `json:"id"`
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
