package provider

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// applyBindingUpdate calls Update directly and returns the state it wrote,
// which after a failed apply Terraform keeps as it is.
func applyBindingUpdate(t *testing.T, srv *mock.TestServer, policyID string, exclusive bool, prior, planned []string) (devicePolicyBindingModel, string) {
	t.Helper()
	ctx := context.Background()
	client, err := iotda.New(iotda.Config{
		Endpoint: srv.URL, ProjectID: mock.TestProjectID,
		Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
		MaxRetries:  new(1), RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		BatchParallelism: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &devicePolicyBindingResource{client: client}
	var schemaResp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	model := func(ids []string) devicePolicyBindingModel {
		return devicePolicyBindingModel{
			ID: types.StringValue(bindingID(policyID, "device")), PolicyID: types.StringValue(policyID),
			TargetType: types.StringValue("device"), Exclusive: types.BoolValue(exclusive), Targets: targetsValue(ids),
		}
	}
	state := tfsdk.State{Schema: schemaResp.Schema}
	plan := tfsdk.Plan{Schema: schemaResp.Schema}
	if d := state.Set(ctx, model(prior)); d.HasError() {
		t.Fatal(d)
	}
	if d := plan.Set(ctx, model(planned)); d.HasError() {
		t.Fatal(d)
	}
	resp := resource.UpdateResponse{State: tfsdk.State{Schema: schemaResp.Schema, Raw: plan.Raw}}
	r.Update(ctx, resource.UpdateRequest{Plan: plan, State: state}, &resp)
	var out devicePolicyBindingModel
	if d := resp.State.Get(ctx, &out); d.HasError() {
		t.Fatal(d)
	}
	var errs []string
	for _, d := range resp.Diagnostics.Errors() {
		errs = append(errs, d.Summary()+": "+d.Detail())
	}
	return out, strings.Join(errs, "\n")
}

// TestBindingStateAfterFailures checks that the state written after a
// failed apply is exactly what the server has bound.
func TestBindingStateAfterFailures(t *testing.T) {
	t.Parallel()
	cases := map[string]func(srv *mock.TestServer){
		"per-target failure": func(srv *mock.TestServer) {
			srv.FailTarget(iotda.TargetTypeDevice, "64a7ba7ef9cb063d27e16b97_sensor-0050", iotda.CodeTargetPolicyLimit, "limit")
		},
		"503 before acting, retries exhausted": func(srv *mock.TestServer) {
			srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, Count: 2})
		},
		"503 after acting, retries exhausted": func(srv *mock.TestServer) {
			srv.InjectFault(mock.OpBind, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 2})
		},
		"unbind dropped after acting": func(srv *mock.TestServer) {
			srv.InjectFault(mock.OpUnbind, mock.Fault{Drop: true, AfterAction: true, Count: 2})
		},
		"unbind 500 before acting": func(srv *mock.TestServer) {
			srv.InjectFault(mock.OpUnbind, mock.Fault{Status: http.StatusInternalServerError, Count: 2})
		},
	}
	prior := deviceIDs(0, 40)
	planned := deviceIDs(20, 80)
	outside := teamDevices("other", 0, 3) // bound outside a non-exclusive binding
	for name, inject := range cases {
		for _, exclusive := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, exclusive=%t", name, exclusive), func(t *testing.T) {
				t.Parallel()
				srv := mock.NewTestServer(t, mock.Config{})
				p := createPolicy(t, srv, "fleet", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
				if _, err := srv.Bind("", p.PolicyID, iotda.TargetTypeDevice, prior...); err != nil {
					t.Fatal(err)
				}
				if !exclusive {
					if _, err := srv.Bind("", p.PolicyID, iotda.TargetTypeDevice, outside...); err != nil {
						t.Fatal(err)
					}
				}
				inject(srv)
				out, errs := applyBindingUpdate(t, srv, p.PolicyID, exclusive, prior, planned)
				if errs == "" {
					t.Fatal("the apply did not fail")
				}
				server := srv.Targets("", p.PolicyID, iotda.TargetTypeDevice)
				if !exclusive {
					// The binding owns what it had and what it was to bind;
					// the targets bound outside it stay bound and out of its state.
					for _, id := range outside {
						if !slices.Contains(server, id) {
							t.Fatalf("target %s bound outside the binding was unbound", id)
						}
					}
					server = slices.DeleteFunc(server, func(id string) bool { return slices.Contains(outside, id) })
				}
				if got := targetKeys(out.Targets); !slices.Equal(got, server) {
					t.Fatalf("state has %d targets, the server %d of the binding's own\nerror: %s", len(got), len(server), errs)
				}
			})
		}
	}
}

// TestBindingStateAfterFailedDelete: a destroy whose unbind calls fail
// keeps in state exactly the targets still bound, so the next destroy
// finishes the job; a destroy whose policy is gone succeeds.
func TestBindingStateAfterFailedDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ids := deviceIDs(0, 60)
	for name, tc := range map[string]struct {
		inject  func(srv *mock.TestServer, policyID string)
		wantErr bool
		// stillBound is how many targets stay bound (the calls that
		// failed before acting).
		stillBound int
	}{
		// The first call acts and fails twice: all is unbound, the
		// destroy fails honestly, and the next one has nothing to do.
		"unbind 503 after acting on the first call": {
			inject: func(srv *mock.TestServer, _ string) {
				srv.InjectFault(mock.OpUnbind, mock.Fault{Status: http.StatusServiceUnavailable, AfterAction: true, Count: 2})
			},
			wantErr: true,
		},
		"unbind 500 before acting": {
			inject: func(srv *mock.TestServer, _ string) {
				srv.InjectFault(mock.OpUnbind, mock.Fault{Status: http.StatusInternalServerError, Count: 2})
			},
			wantErr:    true,
			stillBound: iotda.MaxTargetsPerCall,
		},
		"policy gone": {
			inject: func(srv *mock.TestServer, policyID string) {
				if err := srv.DeletePolicy("", policyID); err != nil {
					t.Fatal(err)
				}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := mock.NewTestServer(t, mock.Config{})
			p := createPolicy(t, srv, "fleet", apiStatement(iotda.EffectAllow, publishOnly, "topic:/a"))
			for chunk := range slices.Chunk(ids, iotda.MaxTargetsPerCall) {
				if _, err := srv.Bind("", p.PolicyID, iotda.TargetTypeDevice, chunk...); err != nil {
					t.Fatal(err)
				}
			}
			tc.inject(srv, p.PolicyID)
			client, err := iotda.New(iotda.Config{
				Endpoint: srv.URL, ProjectID: mock.TestProjectID,
				Credentials: iotda.Credentials{AccessKey: mock.TestAccessKey, SecretKey: mock.TestSecretKey},
				MaxRetries:  new(1), RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
				BatchParallelism: 1,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := &devicePolicyBindingResource{client: client}
			var schemaResp resource.SchemaResponse
			r.Schema(ctx, resource.SchemaRequest{}, &schemaResp)
			state := tfsdk.State{Schema: schemaResp.Schema}
			if d := state.Set(ctx, devicePolicyBindingModel{
				ID: types.StringValue(bindingID(p.PolicyID, "device")), PolicyID: types.StringValue(p.PolicyID),
				TargetType: types.StringValue("device"), Targets: targetsValue(ids),
			}); d.HasError() {
				t.Fatal(d)
			}
			// As the framework does: the response starts as the prior
			// state, and a Delete without error removes it.
			resp := resource.DeleteResponse{State: tfsdk.State{Schema: schemaResp.Schema, Raw: state.Raw.Copy()}}
			r.Delete(ctx, resource.DeleteRequest{State: state}, &resp)
			if got := resp.Diagnostics.HasError(); got != tc.wantErr {
				t.Fatalf("error: %t, want %t: %v", got, tc.wantErr, resp.Diagnostics)
			}
			if !tc.wantErr {
				return
			}
			var out devicePolicyBindingModel
			if d := resp.State.Get(ctx, &out); d.HasError() {
				t.Fatal(d)
			}
			server := srv.Targets("", p.PolicyID, iotda.TargetTypeDevice)
			if got := targetKeys(out.Targets); !slices.Equal(got, server) || len(server) != tc.stillBound {
				t.Fatalf("state keeps %d targets, the server has %d bound; want both %d", len(got), len(server), tc.stillBound)
			}
		})
	}
}

func TestBindingRawState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sr resource.SchemaResponse
	NewDevicePolicyBindingResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	m := devicePolicyBindingModel{
		ID: types.StringValue("p/device"), PolicyID: types.StringValue("p"),
		TargetType: types.StringValue("device"), Exclusive: types.BoolValue(false),
	}
	raw, err := bindingState(ctx, typ, m, []string{"z", "a", "m"}, rawTargets{})
	if err != nil {
		t.Fatal(err)
	}
	got, targets, diags := readBinding(ctx, raw)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !got.ID.Equal(m.ID) || !got.PolicyID.Equal(m.PolicyID) || !got.TargetType.Equal(m.TargetType) || !got.Exclusive.Equal(m.Exclusive) ||
		!slices.Equal(targets.ids, []string{"a", "m", "z"}) || !targets.known() {
		t.Fatalf("read back %+v with targets %v", got, targets.ids)
	}
	// The same ids in another order keep the map; other ids make a new one.
	for _, ids := range [][]string{{"m", "z", "a"}, {"a", "b"}, {}} {
		raw, err := bindingState(ctx, typ, m, ids, targets)
		if err != nil {
			t.Fatal(err)
		}
		_, again, _ := readBinding(ctx, raw)
		if !slices.Equal(again.ids, sorted(ids)) || !again.known() {
			t.Fatalf("%v: state holds %v", ids, again.ids)
		}
	}
	// Null and unknown targets: no ids, and not known.
	for _, v := range []tftypes.Value{
		tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, nil),
		tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, tftypes.UnknownValue),
	} {
		var attrs map[string]tftypes.Value
		if err := raw.As(&attrs); err != nil {
			t.Fatal(err)
		}
		attrs["targets"] = v
		_, targets, diags := readBinding(ctx, tftypes.NewValue(typ, attrs))
		if diags.HasError() || targets.known() || len(targets.ids) != 0 {
			t.Fatalf("%v: targets %v known %v (%v)", v, targets.ids, targets.known(), diags)
		}
	}
}
