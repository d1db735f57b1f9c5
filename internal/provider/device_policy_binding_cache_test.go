package provider

import (
	"slices"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

// TestListingCache: a kept listing serves one create of the same client,
// policy and target type, and none once it is too old.
func TestListingCache(t *testing.T) {
	t.Parallel()
	c := listingCache{entries: map[listingKey]listing{}}
	a, b := &iotda.Client{}, &iotda.Client{}
	c.put(a, "p1", "device", []string{"d1", "d2"})
	if _, ok := c.take(b, "p1", "device"); ok {
		t.Fatal("another client's listing was used")
	}
	if _, ok := c.take(a, "p1", "product"); ok {
		t.Fatal("another target type's listing was used")
	}
	if ids, ok := c.take(a, "p1", "device"); !ok || !slices.Equal(ids, []string{"d1", "d2"}) {
		t.Fatalf("take = %v, %t; want the listing", ids, ok)
	}
	if _, ok := c.take(a, "p1", "device"); ok {
		t.Fatal("a listing was used twice")
	}
	c.put(a, "p2", "device", nil) // a policy with no targets: known to have none
	if ids, ok := c.take(a, "p2", "device"); !ok || len(ids) != 0 {
		t.Fatalf("take = %v, %t; want an empty listing", ids, ok)
	}
	c.entries[listingKey{a, "p1", "device"}] = listing{at: time.Now().Add(-recentListingAge - time.Second)}
	if _, ok := c.take(a, "p1", "device"); ok {
		t.Fatal("a listing older than recentListingAge was used")
	}
}
