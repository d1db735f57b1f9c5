package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// TestBindingStateUpgradeV0 upgrades a schema version 0 state (target_ids,
// a set) to version 1 (targets, a map keyed by id), a null set to a null
// map, and a set of 5,000 ids (the prior schema's plain set must stay
// usable at that size).
func TestBindingStateUpgradeV0(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := &devicePolicyBindingResource{}
	var schemaResp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	upgrader := r.UpgradeState(ctx)[0]
	const policyID = "0123456789abcdef01234567"
	many := deviceIDs(0, 5000)
	for name, ids := range map[string]*[]string{"ids": {"d3", "d1", "d2"}, "empty": {}, "null": nil, "5,000 ids": &many} {
		t.Run(name, func(t *testing.T) {
			// Built raw, as the framework decodes a state file: the
			// framework's own set value would check the 5,000 ids pairwise.
			set := tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, nil)
			if ids != nil {
				elems := make([]tftypes.Value, 0, len(*ids))
				for _, id := range *ids {
					elems = append(elems, tftypes.NewValue(tftypes.String, id))
				}
				set = tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, elems)
			}
			prior := tftypes.NewValue(upgrader.PriorSchema.Type().TerraformType(ctx), map[string]tftypes.Value{
				"id": tftypes.NewValue(tftypes.String, policyID+"/device"), "policy_id": tftypes.NewValue(tftypes.String, policyID),
				"target_type": tftypes.NewValue(tftypes.String, "device"), "target_ids": set,
			})
			resp := resource.UpgradeStateResponse{State: tfsdk.State{Schema: schemaResp.Schema}}
			upgrader.StateUpgrader(ctx, resource.UpgradeStateRequest{State: &tfsdk.State{Schema: *upgrader.PriorSchema, Raw: prior}}, &resp)
			if resp.Diagnostics.HasError() {
				t.Fatal(resp.Diagnostics)
			}
			var got devicePolicyBindingModel
			if d := resp.State.Get(ctx, &got); d.HasError() {
				t.Fatal(d)
			}
			if got.ID.ValueString() != policyID+"/device" || got.PolicyID.ValueString() != policyID || got.TargetType.ValueString() != "device" {
				t.Fatalf("upgraded to %+v", got)
			}
			if ids == nil {
				if !got.Targets.IsNull() {
					t.Fatalf("targets %v, want null", got.Targets)
				}
				return
			}
			if keys := targetKeys(got.Targets); got.Targets.IsNull() || !slices.Equal(keys, sorted(*ids)) {
				t.Fatalf("targets %v, want the keys %v", got.Targets, *ids)
			}
		})
	}
}

// TestAccDevicePolicyBinding_upgradeWithCLI starts from a state file as the
// CLI wrote it for schema version 0 (target_ids, a set of 300 ids), with
// the targets bound on the server. The CLI upgrades it by itself: a plan
// without refresh (the upgraded state against the configuration) and a
// plan with refresh both show no change, and the next apply writes
// version 1.
func TestAccDevicePolicyBinding_upgradeWithCLI(t *testing.T) {
	t.Parallel()
	a := newAccTarget(t)
	ids := a.deviceIDs(300)
	policy := a.createPolicy("fleet", "", apiStatement(iotda.EffectAllow, publishOnly, "topic:/up"))
	a.bind(policy.PolicyID, iotda.TargetTypeDevice, ids...)

	w := a.workspace()
	w.configure(fmt.Sprintf(`
resource "iotda_device_policy_binding" "test" {
  policy_id   = %q
  target_type = "device"
  targets     = provider::iotda::targets([%s])
}
`, policy.PolicyID, quoteAll(ids)))
	host := os.Getenv("TF_ACC_PROVIDER_HOST")
	if host == "" {
		host = "registry.terraform.io"
	}
	// The ids in the order the API listed them (newest first), as Read
	// stored them in version 0.
	listed := slices.Clone(ids)
	slices.Reverse(listed)
	v0, err := json.MarshalIndent(map[string]any{
		"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "6f1c2d9e-3a4b-4c5d-8e7f-0a1b2c3d4e5f",
		"outputs": map[string]any{},
		"resources": []any{map[string]any{
			"mode": "managed", "type": "iotda_device_policy_binding", "name": "test",
			"provider": fmt.Sprintf(`provider["%s/iotda-terraform/iotda"]`, host),
			"instances": []any{map[string]any{
				"schema_version": 0,
				"attributes": map[string]any{
					"id": policy.PolicyID + "/device", "policy_id": policy.PolicyID, "target_type": "device", "target_ids": listed,
				},
				"sensitive_attributes": []any{},
			}},
		}},
		"check_results": nil,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(w.dir, "terraform.tfstate")
	if err := os.WriteFile(statePath, v0, 0o600); err != nil {
		t.Fatal(err)
	}

	a.resetMockCalls()
	w.run("plan", "-refresh=false", "-detailed-exitcode")
	a.onMock(cliCalls, func(srv *mock.TestServer) {
		if n := srv.TotalCalls(); n != 0 {
			t.Fatalf("a plan without refresh made %d API calls", n)
		}
	})
	w.run("plan", "-detailed-exitcode")
	w.run("apply", "-auto-approve")
	a.callsWere("the upgrade", 0, 0)

	raw, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Instances []struct {
				SchemaVersion int            `json:"schema_version"`
				Attributes    map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	if len(state.Resources) != 1 || len(state.Resources[0].Instances) != 1 {
		t.Fatalf("state after apply:\n%s", raw)
	}
	inst := state.Resources[0].Instances[0]
	targets, _ := inst.Attributes["targets"].(map[string]any)
	if _, old := inst.Attributes["target_ids"]; inst.SchemaVersion != 1 || old || len(targets) != len(ids) {
		t.Fatalf("schema version %d, target_ids present: %t, %d targets; want version 1, no target_ids, %d targets",
			inst.SchemaVersion, old, len(targets), len(ids))
	}
	for _, id := range ids {
		if v, ok := targets[id]; !ok || v != "" {
			t.Fatalf("targets[%s] = %v, %t", id, v, ok)
		}
	}
}
