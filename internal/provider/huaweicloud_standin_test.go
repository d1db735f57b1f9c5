package provider

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// A CLI plans a `moved` block only when the provider of the source address
// is installed, as it is for every user of the huaweicloud provider. The
// tests cannot download it, so the test binary stands in for it: run with
// serveHuaweicloudEnv set, it serves a provider with the same address and
// the schema of huaweicloud_iotda_device_policy, which only ever reads back
// what the state holds. The state files of the tests are written as the
// real provider writes them.
const serveHuaweicloudEnv = "IOTDA_TEST_SERVE_HUAWEICLOUD"

// serveHuaweicloudStandIn serves the stand-in when the CLI started this
// binary as the huaweicloud provider, and reports whether it did.
func serveHuaweicloudStandIn() bool {
	if os.Getenv(serveHuaweicloudEnv) != "1" {
		return false
	}
	err := providerserver.Serve(context.Background(), func() provider.Provider { return huaweicloudStandIn{} },
		providerserver.ServeOpts{Address: "registry.terraform.io/" + huaweicloudProviderSource})
	if err != nil {
		os.Exit(1)
	}
	return true
}

// huaweicloudStandInDir makes a folder holding this test binary as
// terraform-provider-huaweicloud, for a dev_overrides entry.
func huaweicloudStandInDir(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "terraform-provider-huaweicloud")); err != nil {
		t.Fatal(err)
	}
	return dir
}

type huaweicloudStandIn struct{}

func (huaweicloudStandIn) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "huaweicloud"
}

func (huaweicloudStandIn) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = pschema.Schema{}
}

func (huaweicloudStandIn) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (huaweicloudStandIn) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{func() resource.Resource { return standInPolicy{} }}
}

func (huaweicloudStandIn) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}

// standInPolicy has the schema of huaweicloud_iotda_device_policy, as the
// huaweicloud provider (github.com/huaweicloud/terraform-provider-huaweicloud)
// defines it.
type standInPolicy struct{}

func (standInPolicy) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = huaweicloudPolicyType
}

func (standInPolicy) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	str := func(required bool) schema.StringAttribute {
		return schema.StringAttribute{Required: required, Optional: !required, Computed: !required}
	}
	resp.Schema = schema.Schema{
		Attributes: map[string]schema.Attribute{
			"id":               schema.StringAttribute{Computed: true},
			"region":           str(false),
			"policy_name":      str(true),
			"space_id":         schema.StringAttribute{Optional: true},
			"enable_force_new": schema.StringAttribute{Optional: true},
			"create_time":      schema.StringAttribute{Computed: true},
			"update_time":      schema.StringAttribute{Computed: true},
		},
		Blocks: map[string]schema.Block{
			"statement": schema.ListNestedBlock{
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"effect":    schema.StringAttribute{Required: true},
					"actions":   schema.ListAttribute{Required: true, ElementType: types.StringType},
					"resources": schema.ListAttribute{Required: true, ElementType: types.StringType},
				}},
			},
		},
	}
}

func (standInPolicy) Create(_ context.Context, _ resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.AddError("Stand-in Provider", "the huaweicloud stand-in of the tests only reads state")
}

func (standInPolicy) Read(_ context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	resp.State.Raw = req.State.Raw
}

func (standInPolicy) Update(_ context.Context, _ resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("Stand-in Provider", "the huaweicloud stand-in of the tests only reads state")
}

func (standInPolicy) Delete(_ context.Context, _ resource.DeleteRequest, resp *resource.DeleteResponse) {
	resp.Diagnostics.AddError("Stand-in Provider", "the huaweicloud stand-in of the tests only reads state")
}
