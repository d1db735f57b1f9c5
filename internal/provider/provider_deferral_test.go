package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestProvider_unknownConfigurationDeferral speaks the plugin protocol as a
// CLI would, with the endpoint unknown: a CLI that allows deferral gets the
// data source deferred (no error, no API call), and one that does not (every
// released Terraform and OpenTofu; TestAccProvider_unknownEndpoint drives
// those) gets the error that says to apply first.
func TestProvider_unknownConfigurationDeferral(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		deferral bool
	}{
		{"deferral allowed", true},
		{"deferral not allowed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			server, err := providerserver.NewProtocol6WithError(New("test")())()
			if err != nil {
				t.Fatal(err)
			}
			schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
			if err != nil {
				t.Fatal(err)
			}
			providerConfig := nullObject(t, schemas.Provider, map[string]tftypes.Value{
				"endpoint": tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
			})
			configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{
				Config:             providerConfig,
				ClientCapabilities: &tfprotov6.ConfigureProviderClientCapabilities{DeferralAllowed: tc.deferral},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range configured.Diagnostics {
				t.Fatalf("ConfigureProvider: %s: %s", d.Summary, d.Detail)
			}

			read, err := server.ReadDataSource(ctx, &tfprotov6.ReadDataSourceRequest{
				TypeName:           "iotda_device_policies",
				Config:             nullObject(t, schemas.DataSourceSchemas["iotda_device_policies"], nil),
				ClientCapabilities: &tfprotov6.ReadDataSourceClientCapabilities{DeferralAllowed: tc.deferral},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.deferral {
				if read.Deferred == nil || read.Deferred.Reason != tfprotov6.DeferredReasonProviderConfigUnknown {
					t.Errorf("ReadDataSource deferred %v, want the reason PROVIDER_CONFIG_UNKNOWN", read.Deferred)
				}
				for _, d := range read.Diagnostics {
					t.Errorf("ReadDataSource: %s: %s", d.Summary, d.Detail)
				}
				return
			}
			if read.Deferred != nil {
				t.Errorf("ReadDataSource deferred %v on a CLI that does not allow it", read.Deferred)
			}
			if len(read.Diagnostics) != 1 || read.Diagnostics[0].Summary != unconfiguredSummary {
				t.Errorf("ReadDataSource diagnostics %v, want one %q", read.Diagnostics, unconfiguredSummary)
			}
		})
	}
}

// nullObject is the dynamic value of schema's object with every attribute
// and block null but those given.
func nullObject(t *testing.T, schema *tfprotov6.Schema, set map[string]tftypes.Value) *tfprotov6.DynamicValue {
	t.Helper()
	typ, ok := schema.ValueType().(tftypes.Object)
	if !ok {
		t.Fatalf("the schema's value type is %T, want an object", schema.ValueType())
	}
	values := make(map[string]tftypes.Value, len(typ.AttributeTypes))
	for name, attrType := range typ.AttributeTypes {
		values[name] = tftypes.NewValue(attrType, nil)
	}
	for name, v := range set {
		values[name] = v
	}
	dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, values))
	if err != nil {
		t.Fatal(err)
	}
	return &dv
}
