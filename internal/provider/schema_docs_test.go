package provider

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// TestSchemaDocumentation walks the provider's schemas, as Terraform
// receives them, and fails when the generated docs would have a gap: a
// resource, data source, ephemeral resource, list resource, action or
// function without its example under examples/, a resource that can be imported without an
// import example, or a provider argument, attribute, block or function
// parameter without a description.
func TestSchemaDocumentation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	resp, err := providerserver.NewProtocol6(New("test")())().GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Fatalf("GetProviderSchema: %s: %s", d.Summary, d.Detail)
	}
	if len(resp.ResourceSchemas) == 0 || len(resp.DataSourceSchemas) == 0 || len(resp.Functions) == 0 {
		t.Fatalf("the provider reports %d resources, %d data sources and %d functions: the walk would check nothing",
			len(resp.ResourceSchemas), len(resp.DataSourceSchemas), len(resp.Functions))
	}
	// The registry-relative folders and file names tfplugindocs reads.
	kinds := []struct {
		kind, folder, file string
		names              []string
	}{
		{"resource", "resources", "resource.tf", sortedKeys(resp.ResourceSchemas)},
		{"data source", "data-sources", "data-source.tf", sortedKeys(resp.DataSourceSchemas)},
		{"ephemeral resource", "ephemeral-resources", "ephemeral-resource.tf", sortedKeys(resp.EphemeralResourceSchemas)},
		{"function", "functions", "function.tf", sortedKeys(resp.Functions)},
		{"list resource", "list-resources", "list-resource.tfquery.hcl", sortedKeys(resp.ListResourceSchemas)},
		{"action", "actions", "action.tf", sortedKeys(resp.ActionSchemas)},
	}
	for _, k := range kinds {
		for _, name := range k.names {
			requireFile(t, k.kind+" "+name, filepath.Join(examplesDir, k.folder, name, k.file))
		}
	}
	for _, kind := range []struct {
		kind  string
		count int
	}{{"state store", len(resp.StateStoreSchemas)}} {
		if kind.count > 0 {
			t.Errorf("the provider has %d %ss: teach this test where their examples live", kind.count, kind.kind)
		}
	}
	requireFile(t, "the provider", filepath.Join(examplesDir, "provider", "provider.tf"))

	// Resources that implement import need an import example.
	p := New("test")()
	for _, newResource := range p.Resources(ctx) {
		r := newResource()
		if _, ok := r.(resource.ResourceWithImportState); !ok {
			continue
		}
		var meta resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "iotda"}, &meta)
		requireFile(t, "import of resource "+meta.TypeName, filepath.Join(examplesDir, "resources", meta.TypeName, "import.sh"))
	}

	checkBlock(t, "provider", resp.Provider.Block, false)
	for name, s := range resp.ResourceSchemas {
		checkBlock(t, "resource "+name, s.Block, true)
	}
	for name, s := range resp.DataSourceSchemas {
		checkBlock(t, "data source "+name, s.Block, true)
	}
	for name, s := range resp.EphemeralResourceSchemas {
		checkBlock(t, "ephemeral resource "+name, s.Block, true)
	}
	for name, s := range resp.ListResourceSchemas {
		checkBlock(t, "list resource "+name, s.Block, false)
	}
	for name, f := range resp.Functions {
		where := "function " + name
		if strings.TrimSpace(f.Summary) == "" || strings.TrimSpace(f.Description) == "" {
			t.Errorf("%s has no summary or no description", where)
		}
		params := f.Parameters
		if f.VariadicParameter != nil {
			params = append(params, f.VariadicParameter)
		}
		for _, param := range params {
			if strings.TrimSpace(param.Description) == "" {
				t.Errorf("%s: parameter %s has no description", where, param.Name)
			}
		}
	}
}

// checkBlock requires a description on every attribute and nested block of
// b, and on b itself when it is the top of a resource or data source.
func checkBlock(t *testing.T, where string, b *tfprotov6.SchemaBlock, describeSelf bool) {
	t.Helper()
	if describeSelf && strings.TrimSpace(b.Description) == "" {
		t.Errorf("%s has no description", where)
	}
	for _, a := range b.Attributes {
		checkAttribute(t, where, a)
	}
	for _, nb := range b.BlockTypes {
		path := where + ": block " + nb.TypeName
		if strings.TrimSpace(nb.Block.Description) == "" {
			t.Errorf("%s has no description", path)
		}
		checkBlock(t, path, nb.Block, false)
	}
}

func checkAttribute(t *testing.T, where string, a *tfprotov6.SchemaAttribute) {
	t.Helper()
	path := where + ": attribute " + a.Name
	if strings.TrimSpace(a.Description) == "" {
		t.Errorf("%s has no description", path)
	}
	if a.NestedType != nil {
		for _, nested := range a.NestedType.Attributes {
			checkAttribute(t, path, nested)
		}
	}
}

func requireFile(t *testing.T, what, path string) {
	t.Helper()
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		t.Errorf("%s has no example: %s is missing or empty", what, filepath.ToSlash(strings.TrimPrefix(path, "../../")))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
