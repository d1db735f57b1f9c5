#!/usr/bin/env bash
# Run Huawei's own Terraform provider (huaweicloud/huaweicloud), unchanged,
# against iotda-mock: the device-policy lifecycle (create, empty plan,
# update, import, out-of-band delete, destroy) and the `moved` migration from
# huaweicloud_iotda_device_policy to iotda_device_policy, on each CLI that is
# available, with a permanent and a temporary key, signed with
# SDK-HMAC-SHA256 and with the derived V11-HMAC-SHA256. It prints the mock's
# request log, summarised per step.
#
# Usage:
#   scripts/huaweicloud-provider.sh [--build | --no-build] [--cli NAME]...
#
#   --build      build the provider first when it is not in the cache
#   --no-build   never build: without a cached build, say so and exit 0
#                (what CI does; also the default)
#   --cli NAME   run on this CLI only (repeatable; the names of
#                scripts/terraform-cli.sh --cli). Default: terraform from
#                PATH, and Terraform 1.16.4 and OpenTofu 1.12.6 when they are
#                built.
#
# The provider is built once, from the Go module proxy (a fresh machine
# needs nothing else), into
# ${IOTDA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-iotda}/huaweicloud-<version>/.
# Its module is downloaded with `go mod download`, not `go install`: its
# go.mod has a replace directive, which `go install pkg@version` refuses.
# The module zip leaves out vendor/ (but for vendor/modules.txt), so the
# build resolves the modules through the proxy (-mod=mod).
#
# The derived signature is chosen by that provider only for an endpoint
# containing ".iotda-app.<region>.", so those runs name such a host and
# reach the mock through HTTP_PROXY (the provider's transport honours it).
set -euo pipefail
shopt -s inherit_errexit
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

# The newest release the Go module proxy serves (later tags are refused).
HUAWEICLOUD_VERSION=v1.79.0
HUAWEICLOUD_MODULE=github.com/huaweicloud/terraform-provider-huaweicloud
BUILD_COST="about 12 minutes on 2 idle cores (much longer on a busy machine), 140 MB for the binary and about 2 GB of Go module and build caches"
REGION=cn-north-4
SPACE_ID=hwc-conformance-space
DERIVED_HOST=conformance.st1.iotda-app.$REGION.myhuaweicloud.com

build=false
clis=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=true ;;
	--no-build) build=false ;;
	--cli)
		[ $# -ge 2 ] || { echo "--cli needs a name" >&2; exit 2; }
		clis+=("$2")
		shift
		;;
	*) echo "usage: scripts/huaweicloud-provider.sh [--build | --no-build] [--cli NAME]..." >&2; exit 2 ;;
	esac
	shift
done

cache="${IOTDA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-iotda}/huaweicloud-$HUAWEICLOUD_VERSION"
provider_bin="$cache/terraform-provider-huaweicloud"

mock_work

build_provider() {
	say "building the huaweicloud provider $HUAWEICLOUD_VERSION: $BUILD_COST"
	local start=$SECONDS dir src
	dir=$(go mod download -json "$HUAWEICLOUD_MODULE@$HUAWEICLOUD_VERSION" | jq -r .Dir)
	[ -d "$dir" ] || { echo "go mod download $HUAWEICLOUD_MODULE@$HUAWEICLOUD_VERSION failed" >&2; exit 1; }
	src="$work/huaweicloud-src"
	cp -R "$dir" "$src"
	chmod -R u+w "$src"
	rm -rf "$src/vendor"
	mkdir -p "$cache"
	(cd "$src" && GOFLAGS=-mod=mod nice -n 10 go build -trimpath -o "$cache/.terraform-provider-huaweicloud.tmp" .)
	mv "$cache/.terraform-provider-huaweicloud.tmp" "$provider_bin"
	rm -rf "$src"
	say "built $provider_bin ($(du -sm "$provider_bin" | cut -f1) MB) in $((SECONDS - start)) s"
}

if [ ! -x "$provider_bin" ]; then
	if ! $build; then
		say "SKIPPED: the huaweicloud provider $HUAWEICLOUD_VERSION is not built ($provider_bin)." \
			"Build it once with: scripts/huaweicloud-provider.sh --build ($BUILD_COST)."
		exit 0
	fi
	build_provider
fi

if [ ${#clis[@]} -eq 0 ]; then
	clis=(terraform)
	for name in terraform-1.16 tofu; do
		if scripts/terraform-cli.sh --cli "$name" --no-build >/dev/null 2>&1; then clis+=("$name"); fi
	done
fi

say "building this provider and the mock"
go build -o "$work/bin/terraform-provider-iotda" .
go build -o "$work/iotda-mock" ./cmd/iotda-mock

# Both providers come from their builds, with no init and no network.
cat >"$work/cli.tfrc" <<CONFIG
provider_installation {
  dev_overrides {
    "iotda-terraform/iotda"   = "$work/bin"
    "huaweicloud/huaweicloud" = "$cache"
  }
  direct {}
}
CONFIG
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset HTTPS_PROXY https_proxy http_proxy NO_PROXY no_proxy HW_IOTDA_INSTANCE_ID HW_AUTH_TOKEN HW_SECURITY_TOKEN

hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# start_fresh_mock TOKEN: start the mock with a fresh project and key
# (temporary when TOKEN is not empty), exporting the HW_* settings both
# providers read.
start_fresh_mock() {
	export HW_PROJECT_ID HW_ACCESS_KEY HW_SECRET_KEY HW_REGION_NAME=$REGION
	HW_PROJECT_ID=$(hex 16)
	HW_ACCESS_KEY=HWCCONFORMANCE$(hex 3 | tr a-f A-F)
	HW_SECRET_KEY=$(hex 20)
	if [ -n "$1" ]; then export HW_SECURITY_TOKEN=$1; else unset HW_SECURITY_TOKEN; fi
	: >"$work/mock.log"
	MOCK_ACCESS_KEY=$HW_ACCESS_KEY MOCK_PROJECT_ID=$HW_PROJECT_ID start_mock "$work" "$HW_SECRET_KEY" "$1"
	mock_url=$endpoint
	export HW_IOTDA_ENDPOINT=$mock_url
}

# requests FROM: the mock's requests logged after line FROM, one per line,
# as "METHOD /path STATUS" with the project and policy ids abstracted.
requests() {
	tail -n +"$(($1 + 1))" "$work/mock.log" | sed -n 's/.* msg=request method=\([A-Z]*\) path=\([^ ]*\) status=\([0-9]*\) .*/\1 \2 \3/p' |
		sed -e "s#/v5/iot/$HW_PROJECT_ID/device-policies#/device-policies#" -e 's#/[0-9a-f]\{24\}#/{id}#'
}

# auths FROM: how the requests after line FROM authenticated, one kind a line.
auths() { tail -n +"$(($1 + 1))" "$work/mock.log" | sed -n 's/.* msg=request .* auth=\([^ ]*\) .*/\1/p' | sort -u; }

# summary: requests on one line, "N x METHOD /path STATUS" in first-seen order.
summary() { awk '{ if (!($0 in n)) order[++k] = $0; n[$0]++ } END { for (i = 1; i <= k; i++) printf "%s%d x %s", (i > 1 ? ", " : ""), n[order[i]], order[i]; print "" }'; }

log_lines() { wc -l <"$work/mock.log"; }

fail() { echo "FAILED ($run_name, $step_name): $*" >&2; exit 1; }

# step NAME EXPECTED_EXIT CMD...: run a CLI command in the current folder,
# check its exit code, and print the requests it made. Its output is kept
# in $work/out for checks.
step() {
	step_name=$1
	local want=$2 code=0 from
	shift 2
	from=$(log_lines)
	"$tf" "$@" -no-color >"$work/out" 2>&1 || code=$?
	step_requests=$(requests "$from")
	printf '  %-26s %s\n' "$step_name" "$(summary <<<"$step_requests")"
	if [ "$code" -ne "$want" ]; then
		cat "$work/out" >&2
		fail "exit code $code, want $want"
	fi
	if grep -E ' (401|403|5[0-9][0-9])$' <<<"$step_requests" >&2; then fail "the mock refused requests"; fi
	local kinds
	kinds=$(auths "$from")
	[ -z "$kinds" ] || [ "$kinds" = "$step_auth" ] || fail "requests authenticated by $(tr '\n' ' ' <<<"$kinds"), want $step_auth only"
}

# expect PATTERN...: each pattern matches a request of the last step.
expect() { for p in "$@"; do grep -qE "^$p\$" <<<"$step_requests" || fail "no request matching '$p'"; done; }
# no_writes: the last step made no POST, PUT or DELETE.
no_writes() { if grep -E '^(POST|PUT|DELETE) ' <<<"$step_requests" >&2; then fail "the step wrote to the API"; fi; }

# huaweicloud_config ENDPOINT NAME STATEMENTS: a configuration of one
# huaweicloud_iotda_device_policy.
huaweicloud_config() {
	cat <<EOF
terraform {
  required_providers {
    huaweicloud = { source = "huaweicloud/huaweicloud" }
  }
}

provider "huaweicloud" {
  endpoints               = { iotda = "$1" }
  skip_check_website_type = true
  skip_check_upgrade      = true
}

# space_id is set: that provider's schema does not compute it, so without
# it the resource space the API reports would plan a (refused) change.
resource "huaweicloud_iotda_device_policy" "p" {
  policy_name = "$2"
  space_id    = "$SPACE_ID"
  $3
}

output "id" { value = huaweicloud_iotda_device_policy.p.id }
EOF
}

statement_allow='statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }'
statement_deny='statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/firmware/*"]
  }'

# lifecycle ENDPOINT: the huaweicloud resource from create to destroy.
lifecycle() {
	local id
	mkdir -p "$work/$run_id/life" "$work/$run_id/oob"
	cd "$work/$run_id/life"
	huaweicloud_config "$1" hwc-lifecycle "$statement_allow" >main.tf
	step "create" 0 apply -auto-approve
	expect 'POST /device-policies 201' 'GET /device-policies/\{id\} 200'
	id=$("$tf" output -raw id)
	step "plan (no changes)" 0 plan -detailed-exitcode
	huaweicloud_config "$1" hwc-lifecycle-v2 "$statement_allow
  $statement_deny" >main.tf
	step "update" 0 apply -auto-approve
	expect 'PUT /device-policies/\{id\} 200'
	grep -q '1 changed' "$work/out" || fail "apply did not update in place"
	step "plan after update" 0 plan -detailed-exitcode
	step "state rm" 0 state rm huaweicloud_iotda_device_policy.p
	step "import" 0 import huaweicloud_iotda_device_policy.p "$id"
	expect 'GET /device-policies/\{id\} 200'
	step "plan after import" 0 plan -detailed-exitcode

	# Another workspace deletes the policy behind this one's back.
	cd "$work/$run_id/oob"
	cp ../life/main.tf .
	step "out-of-band: import" 0 import huaweicloud_iotda_device_policy.p "$id"
	step "out-of-band: destroy" 0 destroy -auto-approve
	expect 'DELETE /device-policies/\{id\} 204'
	cd "$work/$run_id/life"
	step "plan after out-of-band" 2 plan -detailed-exitcode
	expect 'GET /device-policies/\{id\} 404'
	grep -q '1 to add, 0 to change, 0 to destroy' "$work/out" || fail "the plan does not recreate the deleted policy"
	step "apply (recreate)" 0 apply -auto-approve
	expect 'POST /device-policies 201'
	step "destroy" 0 destroy -auto-approve
	expect 'DELETE /device-policies/\{id\} 204'
	[ -z "$("$tf" state list)" ] || fail "resources left in the state after destroy"
}

# migration ENDPOINT: create with the huaweicloud provider, move to
# iotda_device_policy with a moved block, destroy with this provider.
migration() {
	mkdir -p "$work/$run_id/move"
	cd "$work/$run_id/move"
	huaweicloud_config "$1" hwc-migrated "$statement_allow
  $statement_deny" >main.tf
	step "create (huaweicloud)" 0 apply -auto-approve
	expect 'POST /device-policies 201'
	cat >main.tf <<EOF
terraform {
  required_providers {
    huaweicloud = { source = "huaweicloud/huaweicloud" }
    iotda       = { source = "iotda-terraform/iotda" }
  }
}

provider "huaweicloud" {
  endpoints               = { iotda = "$1" }
  skip_check_website_type = true
  skip_check_upgrade      = true
}

# Endpoint, region, project and keys from the HW_* variables.
provider "iotda" {}

moved {
  from = huaweicloud_iotda_device_policy.p
  to   = iotda_device_policy.p
}

resource "iotda_device_policy" "p" {
  policy_name = "hwc-migrated"
  app_id      = "$SPACE_ID"
  $statement_allow
  $statement_deny
}
EOF
	# From here this provider makes the calls, on the mock's own address.
	step_auth=SDK-HMAC-SHA256
	step "moved: plan" 2 plan -detailed-exitcode
	no_writes
	grep -q 'huaweicloud_iotda_device_policy.p has moved to iotda_device_policy.p' "$work/out" || fail "the plan does not show the move"
	grep -q 'Plan: 0 to add, 0 to change, 0 to destroy' "$work/out" || fail "the move plans a change"
	step "moved: apply" 0 apply -auto-approve
	no_writes
	step "moved: plan after" 0 plan -detailed-exitcode
	no_writes
	[ "$("$tf" state list)" = iotda_device_policy.p ] || fail "state after the move: $("$tf" state list | tr '\n' ' ')"
	step "destroy (iotda)" 0 destroy -auto-approve
	expect 'DELETE /device-policies/\{id\} 204'
}

start=$SECONDS
runs=0
for cli in "${clis[@]}"; do
	tf=$(scripts/terraform-cli.sh --cli "$cli" --no-build)
	version=$("$tf" version)
	version=${version%%$'\n'*}
	for key in permanent temporary; do
		for signing in SDK-HMAC-SHA256 V11-HMAC-SHA256; do
			run_name="$version, $key key, $signing"
			run_id="run$runs"
			say "$run_name"
			token=""
			[ "$key" = temporary ] && token="sts-$(hex 24)"
			start_fresh_mock "$token"
			if [ "$signing" = V11-HMAC-SHA256 ]; then
				export HTTP_PROXY=$mock_url
				endpoint="http://$DERIVED_HOST"
			else
				unset HTTP_PROXY
				endpoint=$mock_url
			fi
			run_start=$SECONDS
			step_auth=$signing
			lifecycle "$endpoint"
			migration "$endpoint"
			cd "$root"
			unset HTTP_PROXY
			all=$(requests 0)
			echo "  total: $(wc -l <<<"$all") requests in $((SECONDS - run_start)) s: $(sort <<<"$all" | uniq -c | awk '{ printf "%s%d x %s %s %s", (NR > 1 ? ", " : ""), $1, $2, $3, $4 }')"
			stop_mock
			runs=$((runs + 1))
		done
	done
done
say "huaweicloud provider $HUAWEICLOUD_VERSION: lifecycle and migration passed in $runs runs (${clis[*]}; permanent and temporary keys; SDK-HMAC-SHA256 and V11-HMAC-SHA256) in $((SECONDS - start)) s"
