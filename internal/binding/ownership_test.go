package binding

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/iotda"
)

func ids(s ...string) []string { return s }

func TestRefreshed(t *testing.T) {
	for name, tc := range map[string]struct {
		prior             Binding
		bound             []string
		targets, outside  []string
		wantUnsureSettled bool
	}{
		"exclusive, nothing new": {
			prior: Binding{Exclusive: true, Targets: ids("a", "b")}, bound: ids("a", "b"),
			targets: ids("a", "b"),
		},
		"exclusive, bound outside it": {
			prior: Binding{Exclusive: true, Targets: ids("a", "b")}, bound: ids("a", "b", "x", "y"),
			targets: ids("a", "b", "x", "y"), outside: ids("x", "y"),
		},
		"exclusive, outside found before stays outside": {
			prior: Binding{Exclusive: true, Targets: ids("a", "x"), Outside: ids("x")}, bound: ids("a", "x", "y"),
			targets: ids("a", "x", "y"), outside: ids("x", "y"),
		},
		"exclusive, outside unbound meanwhile is forgotten": {
			prior: Binding{Exclusive: true, Targets: ids("a", "x"), Outside: ids("x")}, bound: ids("a"),
			targets: ids("a"),
		},
		"exclusive, unsure found bound is its own": {
			prior: Binding{Exclusive: true, Targets: ids("a"), Unsure: ids("u")}, bound: ids("a", "u"),
			targets: ids("a", "u"),
		},
		"exclusive, imported: everything is outside": {
			prior: Binding{Exclusive: true}, bound: ids("a", "b"),
			targets: ids("a", "b"), outside: ids("a", "b"),
		},
		"non-exclusive, only its own": {
			prior: Binding{Targets: ids("a", "b")}, bound: ids("a", "x"),
			targets: ids("a"),
		},
		"non-exclusive, unsure found bound is its own": {
			prior: Binding{Targets: ids("a"), Unsure: ids("u", "v")}, bound: ids("a", "u", "x"),
			targets: ids("a", "u"),
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := tc.prior.normalized().refreshed(tc.bound)
			if !slices.Equal(got.Targets, tc.targets) || !slices.Equal(got.Outside, tc.outside) || len(got.Unsure) != 0 {
				t.Fatalf("refreshed = targets %v, outside %v, unsure %v; want %v, %v, none", got.Targets, got.Outside, got.Unsure, tc.targets, tc.outside)
			}
		})
	}
}

// TestShows: whether a listing made after a binding's own apply shows that
// apply, or only the state before it (reads that lag behind writes).
func TestShows(t *testing.T) {
	for name, tc := range map[string]struct {
		b     Binding
		bound []string
		want  bool
	}{
		"exclusive, as applied":                  {Binding{Exclusive: true, Targets: ids("a", "b")}, ids("a", "b"), true},
		"exclusive, a bound target missing":      {Binding{Exclusive: true, Targets: ids("a", "b")}, ids("a"), false},
		"exclusive, an unbound target listed":    {Binding{Exclusive: true, Targets: ids("a")}, ids("a", "old"), false},
		"exclusive, unsure either way":           {Binding{Exclusive: true, Targets: ids("a"), Unsure: ids("u")}, ids("a", "u"), true},
		"exclusive, outside not needed":          {Binding{Exclusive: true, Targets: ids("a", "x"), Outside: ids("x")}, ids("a"), true},
		"non-exclusive, as applied":              {Binding{Targets: ids("a", "b")}, ids("a", "b", "other"), true},
		"non-exclusive, a bound target missing":  {Binding{Targets: ids("a", "b")}, ids("b", "other"), false},
		"non-exclusive, unsure missing is fine":  {Binding{Targets: ids("a"), Unsure: ids("u")}, ids("a"), true},
		"non-exclusive, nothing recorded, empty": {Binding{}, nil, true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.b.normalized().shows(tc.bound); got != tc.want {
				t.Fatalf("shows(%v) = %t, want %t", tc.bound, got, tc.want)
			}
		})
	}
}

func TestUpdateFrom(t *testing.T) {
	for name, tc := range map[string]struct {
		prior, next Binding
		want        []string
	}{
		"recorded": {Binding{Exclusive: true, Targets: ids("a", "b")}, Binding{Exclusive: true, Targets: ids("b", "c")}, ids("a", "b")},
		"exclusive keeps outside to unbind it": {
			Binding{Exclusive: true, Targets: ids("a", "x"), Outside: ids("x")}, Binding{Exclusive: true, Targets: ids("a")}, ids("a", "x"),
		},
		"becoming non-exclusive leaves outside alone": {
			Binding{Exclusive: true, Targets: ids("a", "x"), Outside: ids("x")}, Binding{Targets: ids("a")}, ids("a"),
		},
		"unsure dropped counts as bound": {Binding{Targets: ids("a"), Unsure: ids("u")}, Binding{Targets: ids("a")}, ids("a", "u")},
		"unsure kept counts as missing":  {Binding{Targets: ids("a"), Unsure: ids("u")}, Binding{Targets: ids("a", "u")}, ids("a")},
	} {
		t.Run(name, func(t *testing.T) {
			if got := updateFrom(tc.prior.normalized(), tc.next.normalized()); !slices.Equal(got, tc.want) {
				t.Fatalf("updateFrom = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDeleteFrom(t *testing.T) {
	prior := Binding{PolicyID: "p", TargetType: "device", Exclusive: true, Targets: ids("a", "b", "x"), Outside: ids("x"), Unsure: ids("u")}
	for name, tc := range map[string]struct {
		replacement *Binding
		keep        []string
	}{
		"no replacement":            {nil, nil},
		"replacement keeps its own": {&Binding{PolicyID: "p", TargetType: "device", Targets: ids("b", "u", "new")}, ids("b", "u")},
		"other policy":              {&Binding{PolicyID: "q", TargetType: "device", Targets: ids("b")}, nil},
		"other target type":         {&Binding{PolicyID: "p", TargetType: "product", Targets: ids("b")}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			current, keep := deleteFrom(prior.normalized(), tc.replacement)
			if !slices.Equal(current, ids("a", "b", "u", "x")) || !slices.Equal(keep, tc.keep) {
				t.Fatalf("deleteFrom = %v, keep %v; want every recorded and unsure target, keep %v", current, keep, tc.keep)
			}
		})
	}
}

func TestOwnedAfter(t *testing.T) {
	listed := ids("a", "b", "c", "x")
	if got := ownedAfter(true, listed, ids("a"), ids("b")); !slices.Equal(got, listed) {
		t.Errorf("exclusive owns %v, want all of %v", got, listed)
	}
	if got := ownedAfter(false, listed, ids("c", "a"), ids("b", "z")); !slices.Equal(got, ids("a", "b", "c")) {
		t.Errorf("non-exclusive owns %v, want a, b, c", got)
	}
	// Still bound after an apply to want: outside unless claimed before.
	if got := outsideAfter(ids("a", "b", "o", "x"), ids("a"), ids("a", "o")); !slices.Equal(got, ids("b", "x")) {
		t.Errorf("outsideAfter = %v, want b, x", got)
	}
}

// TestPlanFromState: what a plan of an existing binding warns about comes
// from its state and private state alone, without a call (a nil client
// would panic).
func TestPlanFromState(t *testing.T) {
	exclusive := Binding{Exclusive: true, Targets: ids("a", "x", "y"), Outside: ids("x", "y"), Unsure: ids("u", "v")}
	for name, tc := range map[string]struct {
		prior   Binding
		next    Binding
		known   bool
		unbinds []string
		why     Takeover
		leaving []string
	}{
		"fight: outside not listed":      {exclusive, Binding{Exclusive: true, Targets: ids("a", "u")}, true, ids("x", "y"), TakeoverOutside, ids("v")},
		"outside adopted":                {exclusive, Binding{Exclusive: true, Targets: ids("a", "x", "y", "u", "v")}, true, nil, NoTakeover, nil},
		"targets unknown":                {exclusive, Binding{Exclusive: true}, false, ids("x", "y"), TakeoverOutside, nil},
		"becoming non-exclusive":         {exclusive, Binding{Targets: ids("a")}, true, nil, NoTakeover, ids("u", "v")},
		"non-exclusive, nothing outside": {Binding{Targets: ids("a")}, Binding{Targets: ids("b")}, true, nil, NoTakeover, nil},
	} {
		t.Run(name, func(t *testing.T) {
			p := Plan(context.Background(), nil, &tc.prior, tc.next, tc.known)
			if !slices.Equal(p.Unbinds, tc.unbinds) || p.Takeover != tc.why || !slices.Equal(p.Leaving, tc.leaving) || p.PolicyGone || p.ListErr != nil {
				t.Fatalf("Plan = %+v; want unbinds %v (%d), leaving %v", p, tc.unbinds, tc.why, tc.leaving)
			}
		})
	}
}

// TestListingCache: a kept listing serves one apply of the same client,
// policy and target type, and none once it is too old.
func TestListingCache(t *testing.T) {
	c := listingCache{entries: map[listingKey]listing{}}
	a, b := &iotda.Client{}, &iotda.Client{}
	c.put(a, "p1", "device", []string{"d1", "d2"}, 2)
	if _, ok := c.take(b, "p1", "device"); ok {
		t.Fatal("another client's listing was used")
	}
	if _, ok := c.take(a, "p1", "product"); ok {
		t.Fatal("another target type's listing was used")
	}
	if got, ok := c.take(a, "p1", "device"); !ok || !slices.Equal(got, []string{"d1", "d2"}) {
		t.Fatalf("take = %v, %t; want the listing", got, ok)
	}
	if _, ok := c.take(a, "p1", "device"); ok {
		t.Fatal("a listing was used twice")
	}
	c.put(a, "p2", "device", nil, 0) // a policy with no targets: known to have none
	if got, ok := c.take(a, "p2", "device"); !ok || len(got) != 0 {
		t.Fatalf("take = %v, %t; want an empty listing", got, ok)
	}
	c.entries[listingKey{a, "p1", "device"}] = listing{at: time.Now().Add(-recentListingAge - time.Second)}
	if _, ok := c.take(a, "p1", "device"); ok {
		t.Fatal("a listing older than recentListingAge was used")
	}
	// A large plan keeps its listing longer: the CLI carries its targets
	// from the plan to the apply.
	c.entries[listingKey{a, "p1", "device"}] = listing{at: time.Now().Add(-recentListingAge - time.Second), planned: 100000}
	if _, ok := c.take(a, "p1", "device"); !ok {
		t.Fatal("the listing of a plan of 100,000 targets expired after recentListingAge")
	}
	c.entries[listingKey{a, "p1", "device"}] = listing{at: time.Now().Add(-recentListingAge - 51*time.Second), planned: 100000}
	if _, ok := c.take(a, "p1", "device"); ok {
		t.Fatal("the listing of a plan of 100,000 targets was used after recentListingAge and 51 s")
	}
}
