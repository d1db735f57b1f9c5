#!/usr/bin/env bash
# make testacc-real: rehearse the acceptance tests' real mode. Start a
# standalone iotda-mock on a free loopback port, point the tests at it only
# through the HW_* settings with IOTDA_ACC_REAL=1 (as at a real instance),
# run them, run the sweeper, and check that the sweeper then finds no test
# policy left. Prints how many tests ran against the instance (at least
# IOTDA_ACC_REAL_MIN, or it fails) and the ones that need a mock, with why.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

: "${MOCK_PROJECT_ID:?}" "${MOCK_ACCESS_KEY:?}"
min_real=${IOTDA_ACC_REAL_MIN:-50}
run=${IOTDA_ACC_RUN:-^TestAcc}

mock_work

say "building the mock"
go build -o "$work/iotda-mock" ./cmd/iotda-mock

say "starting the IoTDA mock on a free loopback port"
# A secret key of this run only, handed over in the environment: flags
# would show in the process list.
secret_key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
start_mock "$work" "$secret_key"

# The instance's settings, and the objects tests may bind: the mock keeps
# no devices, products or resource spaces, so any well-formed ids do.
export IOTDA_ACC_REAL=1 HW_IOTDA_ENDPOINT="$endpoint" HW_REGION_NAME=cn-north-4 HW_PROJECT_ID="$MOCK_PROJECT_ID" \
	HW_ACCESS_KEY="$MOCK_ACCESS_KEY" HW_SECRET_KEY="$secret_key"
IOTDA_ACC_DEVICE_IDS=$(printf '64a7ba7ef9cb063d27e16b97_sensor-%04d,' $(seq 0 299))
export IOTDA_ACC_DEVICE_IDS=${IOTDA_ACC_DEVICE_IDS%,}
export IOTDA_ACC_PRODUCT_IDS=prod-1,prod-2,prod-3 IOTDA_ACC_APP_IDS=space-1,space-2,space-3
unset secret_key

say "acceptance tests against $endpoint (IOTDA_ACC_REAL=1)"
start=$SECONDS
status=0
go test -count=1 -timeout 30m -json -run "$run" ./internal/provider/ >"$work/test.json" 2>&1 || status=$?
elapsed=$((SECONDS - start))
# test_names ACTION [TEXT] prints the top-level tests with events of
# ACTION (whose output contains TEXT).
test_names() {
	{ grep -F "\"Action\":\"$1\"" "$work/test.json" || true; } | { grep -F -- "${2:-}" || true; } |
		sed -n 's/.*"Test":"\(TestAcc[^"/]*\)".*/\1/p' | sort -u
}
# mock_reasons prints "test: why" for each test that needs the mock.
mock_reasons() {
	{ grep -F '"Action":"output"' "$work/test.json" || true; } | { grep -F 'needs the mock: ' || true; } |
		sed -n 's/.*"Test":"\(TestAcc[^"]*\)".*needs the mock: \(.*\)\\n"}$/\1: \2/p' | sed 's/\\"/"/g' | sort -u
}
# held prints the seconds each test held the instance, from its target
# taking it to the test's end, the longest first.
held() {
	{ grep -F -e 'runs against the instance' -e '"Action":"pass"' "$work/test.json" || true; } |
		sed -n 's/^{"Time":"[^T"]*T\([0-9:.]*\)[^"]*","Action":"\([a-z]*\)","Package":"[^"]*","Test":"\(TestAcc[^"/]*\)".*/\2 \3 \1/p' |
		awk '{
			split($3, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
			if ($1 == "output") start[$2] = s
			else if ($2 in start) { d = s - start[$2]; if (d < 0) d += 86400; printf "%.0f %s\n", d, $2 }
		}' | sort -rn
}
if [ "$status" -ne 0 ]; then
	for name in $(test_names fail); do
		grep -F "\"Test\":\"$name\"" "$work/test.json" | sed -n 's/.*"Output":"\(.*\)"}$/\1/p' |
			sed 's/\\n$//; s/\\t/\t/g; s/\\"/"/g' | tail -n 60 >&2
	done
	echo "the acceptance tests failed against the instance (exit $status): $(test_names fail | tr '\n' ' ')" >&2
	exit 1
fi
# A test ran against the instance when it passed and its target said so
# (newAccTarget); the others ran on a mock of their own, and say why.
ran=$(comm -12 <(test_names pass) <(test_names output 'runs against the instance') | wc -l)
echo "ran against the instance: $ran acceptance tests in ${elapsed}s"
# The tests hold the instance one at a time: the slowest set the time.
echo "slowest there (seconds holding the instance): $(held | head -n 8 | awk '{ printf "%s %ss, ", $2, $1 }' | sed 's/, $//')"
echo "on a mock of their own ($(mock_reasons | wc -l)):"
mock_reasons | sed 's/^/  /'
untold=$(comm -23 <(test_names pass) <(test_names output 'runs against the instance') | tr '\n' ' ')
if [ -n "$untold" ]; then
	echo "passed on a mock of their own without saying why: $untold" >&2
	exit 1
fi
echo "skipped by this CLI's version: $(comm -23 <(test_names skip) <(mock_reasons | sed 's/:.*//' | sort -u) | tr '\n' ' ')"

say "sweeper"
go test -count=1 -v ./internal/provider/ -sweep="$HW_REGION_NAME" 2>&1 | tee "$work/sweep.log" | grep -E '^sweeper:' || true
grep -q '^sweeper: deleted' "$work/sweep.log" || { cat "$work/sweep.log" >&2; echo "the sweeper did not run" >&2; exit 1; }
go test -count=1 -v ./internal/provider/ -sweep="$HW_REGION_NAME" >"$work/sweep-again.log" 2>&1 || { cat "$work/sweep-again.log" >&2; exit 1; }
if ! grep -q '^sweeper: deleted 0 ' "$work/sweep-again.log"; then
	cat "$work/sweep-again.log" >&2
	echo "test policies are left on the instance after the sweeper" >&2
	exit 1
fi
echo "no test policy is left on the instance"

if [ "$ran" -lt "$min_real" ]; then
	echo "only $ran acceptance tests ran against the instance, want at least $min_real" >&2
	exit 1
fi
