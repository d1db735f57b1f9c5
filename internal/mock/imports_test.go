package mock

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// TestIndependentOfTheClient keeps the mock a judge of the client, not a
// copy of it: no file of the mock or its program (tests included) imports
// the client's package; the shared signer package is allowed by design.
func TestIndependentOfTheClient(t *testing.T) {
	const client = "github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
	var files []string
	for _, pattern := range []string{"*.go", "../../cmd/iotda-mock/*.go"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d files: %v", len(files), files)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == client {
				t.Errorf("%s imports %s; the mock uses its own wire types (wire.go)", name, client)
			}
		}
	}
}
