# Shared shell helpers of the Makefile's scripts. Source it; don't run it.

# repo_root prints the repository's top folder.
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# say prints a progress line to stderr, in bold only when stderr is a
# terminal (logs and CI get plain text).
say() {
	if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi
}

# write_cli_config FILE BIN_DIR writes a CLI configuration that runs the
# provider built into BIN_DIR in place of a registry download (no init, no
# network).
write_cli_config() {
	cat >"$1" <<CONFIG
provider_installation {
  dev_overrides {
    "iotda-terraform/iotda" = "$2"
  }
  direct {}
}
CONFIG
}

# terraform_cli prints the path of a Terraform-compatible CLI.
terraform_cli() { "$(repo_root)/scripts/terraform-cli.sh"; }

# go_test_counts FILE prints "PASSED FAILED SKIPPED" for a file of `go test
# -json` events. Subtests count as tests, as in gotestsum's totals; a package
# that failed with no test failing in it (a build failure, or a panic or
# timeout outside any test) counts as one failed test, so that a failed run
# never counts 0 failures.
go_test_counts() {
	sed -nE 's/^\{("Time":"[^"]*",)?"Action":"(pass|fail|skip)","Package":"([^"]*)"(,"Test":"([^"]*)")?.*/\2 \3 \5/p' "$1" |
		awk '
			NF == 3 { n[$1]++; if ($1 == "fail") testfailed[$2] = 1 }
			NF == 2 && $1 == "fail" { pkgfailed[$2] = 1 }
			END {
				for (p in pkgfailed) if (!(p in testfailed)) n["fail"]++
				printf "%d %d %d\n", n["pass"], n["fail"], n["skip"]
			}'
}

# start_mock WORK SECRET_KEY [SECURITY_TOKEN]: start WORK/iotda-mock on a
# free 127.0.0.1 port with MOCK_ACCESS_KEY and MOCK_PROJECT_ID (a temporary
# key when SECURITY_TOKEN is given; keys through the environment, never the
# command line), log to WORK/mock.log; set mock_pid and endpoint once it
# accepts connections (at most 60 seconds).
start_mock() {
	local work=$1 secret=$2 deadline
	rm -f "$work/mock.url"
	IOTDA_MOCK_ACCESS_KEY="$MOCK_ACCESS_KEY" IOTDA_MOCK_SECRET_KEY="$secret" IOTDA_MOCK_SECURITY_TOKEN="${3:-}" \
		"$work/iotda-mock" -listen 127.0.0.1:0 -url-file "$work/mock.url" -project-id "$MOCK_PROJECT_ID" \
		>/dev/null 2>"$work/mock.log" &
	mock_pid=$!
	deadline=$((SECONDS + 60))
	until [ -s "$work/mock.url" ]; do
		kill -0 "$mock_pid" 2>/dev/null || { echo "the mock exited before it accepted connections" >&2; exit 1; }
		[ "$SECONDS" -lt "$deadline" ] || { echo "the mock did not accept connections within 60 seconds" >&2; exit 1; }
		sleep 0.05
	done
	endpoint=$(<"$work/mock.url")
}

# stop_mock stops the mock start_mock started, if it still runs.
stop_mock() {
	if [ -n "${mock_pid:-}" ] && kill -0 "$mock_pid" 2>/dev/null; then
		kill -TERM "$mock_pid" 2>/dev/null || true
		wait "$mock_pid" 2>/dev/null || true
	fi
	mock_pid=""
}

# cleanup_mock_work STATUS stops the mock, shows the last lines of its log
# when STATUS is a failure, and removes $work: the EXIT trap of the scripts
# that start a mock (mock_work sets it). on_signal_exit makes HUP, INT and
# TERM run the EXIT trap too.
cleanup_mock_work() {
	stop_mock
	if [ "$1" -ne 0 ] && [ -s "$work/mock.log" ]; then
		echo "--- last lines of the mock's log:" >&2
		tail -n 20 "$work/mock.log" >&2
	fi
	rm -rf "$work"
}
on_signal_exit() {
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# mock_work makes the folder $work of a script that starts a mock, and
# stops the mock and removes $work when the script exits, on a signal too.
mock_work() {
	work=$(mktemp -d)
	mock_pid=""
	trap 'status=$?; cleanup_mock_work "$status"; exit "$status"' EXIT
	on_signal_exit
}
