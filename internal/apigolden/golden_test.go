package apigolden

import (
	"encoding/json"
	"io/fs"
	"slices"
	"testing"
)

// TestNamesListEveryFile makes sure no example is left out of Names (and so
// out of the tests that range over it) and every one is valid JSON.
func TestNamesListEveryFile(t *testing.T) {
	onDisk, err := fs.Glob(files, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	names := Names()
	slices.Sort(onDisk)
	slices.Sort(names)
	if !slices.Equal(onDisk, names) {
		t.Errorf("files %v, Names %v", onDisk, names)
	}
	for _, n := range names {
		if !json.Valid(Body(n)) {
			t.Errorf("%s is not valid JSON", n)
		}
	}
}
