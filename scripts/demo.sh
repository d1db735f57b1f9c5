#!/usr/bin/env bash
# make demo: build the provider and the mock, start the mock on a free
# loopback port, apply examples/demo with a real Terraform CLI, prove the
# next plan is empty, destroy, and stop the mock, leaving nothing behind.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

: "${MOCK_PROJECT_ID:?}" "${MOCK_ACCESS_KEY:?}" "${MOCK_SECRET_KEY:?}"

work=$(mktemp -d)
mock_pid=""
cleanup() {
	local status=$?
	[ -z "$mock_pid" ] || say "stopping the mock (pid $mock_pid)"
	cleanup_mock_work "$status"
	if [ "$status" -eq 0 ]; then say "demo finished"; else say "demo FAILED (exit $status)"; fi
	exit "$status"
}
trap cleanup EXIT
on_signal_exit

write_cli_config "$work/cli.tfrc" "$work/bin"
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

say "finding a Terraform CLI"
tf=$(terraform_cli)
version=$("$tf" version)
echo "${version%%$'\n'*}"

say "building the provider and the mock"
go build -o "$work/bin/terraform-provider-iotda" .
go build -o "$work/iotda-mock" ./cmd/iotda-mock

say "starting the IoTDA mock on a free loopback port"
# The keys go through the environment: flags would show in the process list.
# The mock writes its URL to mock.url by renaming a complete temporary file
# into place once it accepts connections: the file either does not exist yet
# or holds the whole URL, so waiting for it cannot race the mock's start-up.
start_mock "$work" "$MOCK_SECRET_KEY"
case "$endpoint" in
http://127.0.0.1:[0-9]*) ;;
*) echo "the mock wrote an unexpected URL: $endpoint" >&2; exit 1 ;;
esac
echo "mock: $endpoint (pid $mock_pid)"

cp -R examples/demo "$work/config"
export HW_IOTDA_ENDPOINT="$endpoint" HW_REGION_NAME=cn-north-4 HW_PROJECT_ID="$MOCK_PROJECT_ID" \
	HW_ACCESS_KEY="$MOCK_ACCESS_KEY" HW_SECRET_KEY="$MOCK_SECRET_KEY"
cd "$work/config"

# Colour codes only when the output is a terminal.
color=()
[ -t 1 ] || color=(-no-color)

say "terraform apply"
"$tf" apply -auto-approve -compact-warnings "${color[@]}"

say "terraform output"
"$tf" output "${color[@]}"

say "terraform plan -detailed-exitcode (must be empty)"
set +e
"$tf" plan -detailed-exitcode -compact-warnings "${color[@]}"
plan_status=$?
set -e
case "$plan_status" in
0) echo "The plan after apply is empty." ;;
2) echo "The plan after apply is NOT empty: the provider has a perpetual diff." >&2; exit 1 ;;
*) echo "terraform plan failed (exit $plan_status)." >&2; exit 1 ;;
esac

say "terraform destroy"
"$tf" destroy -auto-approve -compact-warnings "${color[@]}"
