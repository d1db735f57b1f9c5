#!/usr/bin/env bash
# Runs the test suite with gotestsum (pinned in tools/go.mod), which prints a
# line per package and, at the end, every failed and skipped test with its
# output (the reason it gave) and its "DONE N tests" line. Each run closes
# with the CLI the acceptance tests used and "N passed, N failed, N skipped"
# (go_test_counts in scripts/lib.sh says what counts).
#
# Usage:
#   scripts/test.sh          make test: the tests of scripts/, and every Go
#                            test with -race on the default CLI (see
#                            scripts/terraform-cli.sh)
#   scripts/test.sh CLI...   make test-clis: every Go test on each CLI (names
#                            of scripts/terraform-cli.sh --cli; a CLI not
#                            built yet is built first), then a table of the
#                            counts per CLI and their sum
#
# Environment:
#   TEST_FLAGS        extra go test flags (default none)
#   TESTED_CLI        path of a CLI the whole suite has just run on (CI sets
#                     it to the CLI of make test): with CLIs, the suite does
#                     not run on it again, and its row says so
#   GOTESTSUM_FORMAT  gotestsum's output format (default pkgname)
#
# Exits non-zero when a test failed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

work=$(mktemp -d "${TMPDIR:-/tmp}/iotda-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# cli_version PATH prints the CLI's first version line. (It reads all of
# the output first: a reader that stops early would end the CLI with SIGPIPE.)
cli_version() {
	local out
	out=$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$1" version 2>/dev/null || true)
	printf '%s\n' "$out" | sed -n '/^\(Terraform\|OpenTofu\) v/{p;q;}'
}

# go_tests NAME [GO TEST FLAGS...] runs every Go test on the CLI that
# TF_ACC_TERRAFORM_PATH names, keeping the events in $work/NAME.json.
go_tests() {
	local name=$1
	shift
	# shellcheck disable=SC2086 # TEST_FLAGS is a list of flags.
	go tool -modfile=tools/go.mod gotestsum --jsonfile "$work/$name.json" -- \
		-count=1 -timeout 30m "$@" ${TEST_FLAGS:-} ./...
}

# closing NAME STATUS [FAILED ELSEWHERE] prints the closing lines of the run
# NAME that ended with STATUS, and fails when anything failed.
closing() {
	local passed failed skipped
	read -r passed failed skipped < <(go_test_counts "$work/$1.json")
	# gotestsum failing with no failed test: the go command itself failed.
	if [ "$2" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
	failed=$((failed + ${3:-0}))
	echo "acceptance tests ran with $(cli_version "$TF_ACC_TERRAFORM_PATH") ($TF_ACC_TERRAFORM_PATH)"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
}

if [ $# -eq 0 ]; then
	# The tests of scripts/ (offline, mostly waiting on processes) run beside
	# the Go tests; their result comes before the closing lines.
	(
		for t in scripts/*_test.sh; do
			echo "== bash $t"
			bash "$t"
		done
	) >"$work/scripts.log" 2>&1 &
	scripts_pid=$!
	eval "$(scripts/terraform-cli.sh --env)"
	export TF_CLI_CONFIG_FILE=/dev/null
	status=0
	go_tests go -race || status=$?
	scripts_failed=0
	if wait "$scripts_pid"; then
		echo "tests of scripts/: $(grep -c '^ok ' "$work/scripts.log") passed"
	else
		echo
		cat "$work/scripts.log"
		scripts_failed=$(grep -c '^FAIL' "$work/scripts.log" || true)
		[ "$scripts_failed" -gt 0 ] || scripts_failed=1
	fi
	closing go "$status" "$scripts_failed"
	exit
fi

summary=()
status=0
total_passed=0 total_failed=0 total_skipped=0
for cli in "$@"; do
	env_lines=$(scripts/terraform-cli.sh --cli "$cli" --env) || {
		summary+=("$(printf '%-16s %-22s %s' "$cli" "-" "no CLI (see above): counted as one failure")")
		status=1 total_failed=$((total_failed + 1))
		continue
	}
	cli_path=$(eval "$env_lines" && printf '%s\n' "$TF_ACC_TERRAFORM_PATH")
	version=$(cli_version "$cli_path")
	if [ -n "${TESTED_CLI:-}" ] && [ "$cli_path" -ef "$TESTED_CLI" ]; then
		say "no tests on $version ($cli_path): they ran on it already (TESTED_CLI)"
		summary+=("$(printf '%-16s %-22s %s' "$cli" "$version" "already tested (TESTED_CLI)")")
		continue
	fi
	say "tests on $version ($cli_path)"
	start=$SECONDS
	(
		eval "$env_lines"
		export TF_CLI_CONFIG_FILE=/dev/null
		run=0
		go_tests "$cli" || run=$?
		closing "$cli" "$run"
	) | tee "$work/$cli.out" || status=1
	read -r passed failed skipped < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$work/$cli.out" | tail -n 1)
	passed=${passed:-0} failed=${failed:-1} skipped=${skipped:-0}
	total_passed=$((total_passed + passed)) total_failed=$((total_failed + failed)) total_skipped=$((total_skipped + skipped))
	line=$(printf '%-16s %-22s %6d %7d %8d %7d %6ss' "$cli" "$version" $((passed + failed + skipped)) "$passed" "$skipped" "$failed" $((SECONDS - start)))
	[ "$failed" -eq 0 ] || line="$line  FAILED"
	summary+=("$line")
done

echo
printf '%-16s %-22s %6s %7s %8s %7s %7s\n' CLI VERSION RAN PASSED SKIPPED FAILED TIME
printf '%s\n' "${summary[@]}"
for cli in "$@"; do
	[ -f "$work/$cli.json" ] || continue
	skipped=$(sed -nE 's/^\{("Time":"[^"]*",)?"Action":"skip","Package":"[^"]*","Test":"([^"]*)".*/\2/p' "$work/$cli.json" | sort | tr '\n' ' ')
	[ -z "$skipped" ] || echo "skipped on $cli: $skipped"
done
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
exit "$status"
