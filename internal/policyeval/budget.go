package policyeval

import (
	"fmt"
	"time"
)

// The work limits of one [Compare] and of one [Review]. Deciding whether
// one set of wildcard patterns covers another can take exponentially many
// steps (a DENY pattern "*a" followed by many "?" against an ALLOW pattern
// that places many "a" at varying distances); patterns of real policies
// take a few hundred. Work is counted in automaton steps visited, which is
// what both the time and the memory of a search grow with (every stored
// search state costs at least the steps it holds), so the limits bound
// both: at the limits, one call takes well under a second of CPU and a
// few tens of megabytes, whatever its statements.
const (
	// MaxWork bounds the steps one [Compare] or [Review] visits, over all
	// its searches.
	MaxWork = 3_000_000
	// MaxSearchWork bounds the steps one search visits, so that one hard
	// pair of patterns leaves work for the others.
	MaxSearchWork = 400_000
	// MaxDuration bounds the wall time of one [Compare] or [Review], a
	// backstop for a machine far slower or busier than expected.
	MaxDuration = 5 * time.Second
)

// budget is the work left to one [Compare] or [Review].
type budget struct {
	left     int
	deadline time.Time
	// sinceClock counts the work since the clock was last read.
	sinceClock int
	// reason says why the budget ran out; empty while it lasts.
	reason string
}

func newBudget() *budget {
	return &budget{left: MaxWork, deadline: time.Now().Add(MaxDuration)}
}

// clockEvery is how much work passes between two readings of the clock.
const clockEvery = 1 << 14

// spend takes n units of work. It reports false, and from then on always,
// once the work or the time is used up.
func (b *budget) spend(n int) bool {
	if b.reason != "" {
		return false
	}
	b.left -= n
	if b.left < 0 {
		b.reason = fmt.Sprintf("the comparison reached its work limit (%d steps in all) before deciding it", MaxWork)
		return false
	}
	if b.sinceClock += n; b.sinceClock >= clockEvery {
		b.sinceClock = 0
		if time.Now().After(b.deadline) {
			b.reason = fmt.Sprintf("the comparison reached its time limit (%s) before deciding it", MaxDuration)
			return false
		}
	}
	return true
}

// searchLimitReason is why a search that needed more than [MaxSearchWork]
// is undecided.
var searchLimitReason = fmt.Sprintf("the patterns need a search longer than its limit (%d steps) to decide it", MaxSearchWork)
