#!/usr/bin/env bash
# Offline tests for scripts/lib.sh. Run: bash scripts/lib_test.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

failures=0
# check NAME WANT GOT
check() {
	if [ "$2" = "$3" ]; then
		echo "ok   $1"
	else
		echo "FAIL $1: want \"$2\", got \"$3\""
		failures=$((failures + 1))
	fi
}

# testdata/go-test.jsonl is the real `go test -json` output of a module with
# a passing test, a test that fails in one of its two subtests, a skipped
# test, a panicking test, and a package that does not build.
check "go_test_counts: failures, subtests, a build failure" "3 4 1" \
	"$(go_test_counts "$here/testdata/go-test.jsonl")"
check "go_test_counts: no events" "0 0 0" "$(go_test_counts /dev/null)"
# Only the pass, fail and skip events of tests and packages count; an
# event's output that quotes an event does not.
check "go_test_counts: a passing package" "1 0 0" "$(go_test_counts <(printf '%s\n' \
	'{"Time":"2026-12-01T00:00:00Z","Action":"output","Package":"p","Test":"TestA","Output":"{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"TestB\"}\n"}' \
	'{"Time":"2026-12-01T00:00:00Z","Action":"pass","Package":"p","Test":"TestA","Elapsed":0}' \
	'{"Time":"2026-12-01T00:00:00Z","Action":"pass","Package":"p","Elapsed":0}'))"

if [ "$failures" -ne 0 ]; then
	echo "$failures test(s) failed"
	exit 1
fi
echo "all tests passed"
