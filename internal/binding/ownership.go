package binding

// The ownership rules: which targets a binding answers for at each step.
// They are pure functions of the state, the plan and a listing, so that
// they can be read, and tested, in one place (ownership_test.go).

// claimed are the targets the binding answers for whatever its mode: what
// it recorded, less what was found bound outside it, and what it may have
// bound.
func (b Binding) claimed() []string {
	return union(minus(b.Targets, b.Outside), b.Unsure)
}

// refreshed is b after a listing found bound the sorted set bound. An
// exclusive binding records every target bound, and those it does not
// claim are Outside; a non-exclusive one records the bound targets it
// claims, nothing else. The listing settles Unsure.
func (b Binding) refreshed(bound []string) Binding {
	next := Binding{PolicyID: b.PolicyID, TargetType: b.TargetType, Exclusive: b.Exclusive}
	if b.Exclusive {
		next.Targets, next.Outside = bound, minus(bound, b.claimed())
	} else {
		next.Targets = intersect(bound, b.claimed())
	}
	return next
}

// shows reports whether the sorted set bound, a listing, shows what b
// records after its own apply: every target it records as its own is
// bound, and, when b is exclusive, nothing it neither records nor may have
// bound (what its apply unbound). A non-exclusive binding ignores what it
// does not claim, so the targets it unbound do not matter.
func (b Binding) shows(bound []string) bool {
	if len(minus(minus(b.Targets, b.Outside), bound)) > 0 {
		return false
	}
	return !b.Exclusive || len(minus(bound, union(b.Targets, b.Unsure))) == 0
}

// updateFrom is what an Update reconciles from, before a switch to
// exclusive adds what a listing finds: the recorded targets (without
// those bound outside the binding when next is not exclusive: it leaves
// them alone), and the Unsure ones next drops (unbinding a target that is
// not bound is harmless). Unsure targets next keeps count as missing, so
// they are bound for sure.
func updateFrom(prior, next Binding) []string {
	recorded := prior.Targets
	if !next.Exclusive {
		recorded = minus(recorded, prior.Outside)
	}
	return union(recorded, minus(prior.Unsure, next.Targets))
}

// deleteFrom is what a Delete reconciles from, every target the binding
// recorded or may have bound, and what it keeps: the targets of the
// replacement of the same policy and type, if there is one.
func deleteFrom(prior Binding, replacement *Binding) (current, keep []string) {
	current = union(prior.Targets, prior.Unsure)
	if replacement != nil && replacement.PolicyID == prior.PolicyID && replacement.TargetType == prior.TargetType {
		keep = intersect(current, sortedSet(replacement.Targets))
	}
	return current, keep
}

// ownedAfter is what a binding owns of the sorted set listed after a
// failed reconciliation from current to want: all of it when exclusive,
// only current and want otherwise.
func ownedAfter(exclusive bool, listed, current, want []string) []string {
	if exclusive {
		return listed
	}
	return intersect(listed, union(sortedSet(current), sortedSet(want)))
}

// outsideAfter are the targets of an exclusive binding still bound after
// an apply to want that it did not claim before: they were bound outside
// it, and unbinding them failed, or they were bound while it ran.
func outsideAfter(bound, want, claimed []string) []string {
	return minus(minus(bound, sortedSet(want)), claimed)
}
