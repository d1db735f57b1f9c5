#!/usr/bin/env bash
# make test-clis: run the whole test suite once on each CLI (default:
# terraform from PATH, Terraform 1.16.4 and OpenTofu 1.12.6), then print per
# CLI how many tests (top-level tests and subtests) ran, passed, skipped and
# failed, as scripts/testsummary counts them from `go test -json`. Tests
# that need a newer CLI skip below it, so each feature is tested on every
# CLI that has it.
#
# Environment:
#   CLIS        the CLIs, as names of scripts/terraform-cli.sh --cli
#               (default "terraform terraform-1.16 tofu")
#   TEST_FLAGS  extra go test flags (default none)
#   TESTED_CLI  path of a CLI the whole suite has just run on (CI sets it to
#               the CLI of `make test`, which runs it with -race): the suite
#               is not run on it again, and its row says so
#
# A CLI that is not built yet is built first (once per machine; the build
# says how long it takes). Exits non-zero when a test failed on any CLI.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

clis=${CLIS:-terraform terraform-1.16 tofu}
logs=$(mktemp -d "${TMPDIR:-/tmp}/test-clis.XXXXXX")
go build -o "$logs/testsummary" ./scripts/testsummary
summary=()
status=0

for cli in $clis; do
	env_lines=$(scripts/terraform-cli.sh --cli "$cli" --env) || {
		summary+=("$(printf '%-16s %-22s %s' "$cli" "-" "no CLI (see above)")")
		status=1
		continue
	}
	cli_path=$(eval "$env_lines" && printf '%s\n' "$TF_ACC_TERRAFORM_PATH")
	# (Read all of the output first: a reader that stops early would end
	# the CLI with SIGPIPE.)
	out=$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$cli_path" version 2>/dev/null || true)
	version=$(printf '%s\n' "$out" | sed -n '/^\(Terraform\|OpenTofu\) v/{p;q;}')
	if [ -n "${TESTED_CLI:-}" ] && [ "$cli_path" -ef "$TESTED_CLI" ]; then
		say "no tests on $version ($cli_path): they ran on it already (TESTED_CLI)"
		summary+=("$(printf '%-16s %-22s %s' "$cli" "$version" "already tested (TESTED_CLI)")")
		continue
	fi
	(
		eval "$env_lines"
		export TF_CLI_CONFIG_FILE=/dev/null
		say "tests on $version ($TF_ACC_TERRAFORM_PATH)"
		start=$SECONDS
		# The events go to $cli.json; testsummary writes $cli.log: what
		# failed, in full, the skipped tests with their reasons, the counts.
		# shellcheck disable=SC2086 # TEST_FLAGS is a list of flags.
		go test -count=1 -json -timeout 30m ${TEST_FLAGS:-} ./... 2>&1 | tee "$logs/$cli.json" |
			"$logs/testsummary" -cli "$TF_ACC_TERRAFORM_PATH" >"$logs/$cli.log" || echo failed >"$logs/$cli.failed"
		echo $((SECONDS - start)) >"$logs/$cli.seconds"
	) || echo "the run on $cli stopped" >>"$logs/$cli.failed"
	log="$logs/$cli.log"
	# testsummary's closing line: "N passed, N failed, N skipped".
	counts=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$log" 2>/dev/null | tail -n 1 || true)
	read -r passed failed skipped <<<"${counts:-0 0 0}"
	ran=$((passed + skipped + failed))
	line=$(printf '%-16s %-22s %6d %7d %8d %7d %6ss' "$cli" "$version" "$ran" "$passed" "$skipped" "$failed" "$(cat "$logs/$cli.seconds" 2>/dev/null || echo 0)")
	if [ -e "$logs/$cli.failed" ]; then
		status=1
		echo "--- failures on $version (full log: $log):" >&2
		grep -E -- '^ *--- FAIL: |^FAIL|^panic: |build failed' "$log" >&2 || tail -n 30 "$log" >&2 || true
		line="$line  FAILED"
	fi
	summary+=("$line")
done

echo
printf '%-16s %-22s %6s %7s %8s %7s %7s\n' CLI VERSION RAN PASSED SKIPPED FAILED TIME
printf '%s\n' "${summary[@]}"
for cli in $clis; do
	[ -f "$logs/$cli.log" ] || continue
	skipped=$(sed -n 's/^skipped: [^ ]* \([^ ]*\): .*/\1/p' "$logs/$cli.log" | sort | tr '\n' ' ')
	[ -z "$skipped" ] || echo "skipped on $cli: $skipped"
done
echo "(full logs: $logs)"
exit "$status"
