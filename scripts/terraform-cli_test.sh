#!/usr/bin/env bash
# Offline tests for scripts/terraform-cli.sh (no network, no real build).
# Run: bash scripts/terraform-cli_test.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
script="$here/terraform-cli.sh"
default_version=$(sed -n 's/^DEFAULT_OPENTOFU_VERSION=//p' "$script")
fallback_version=$(sed -n 's/^FALLBACK_OPENTOFU_VERSION=//p' "$script")

work=$(mktemp -d "${TMPDIR:-/tmp}/terraform-cli-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A bin dir with only the basic tools the script needs: no terraform, tofu or go.
sysbin="$work/sysbin"
mkdir -p "$sysbin"
for tool in bash sed awk sort head tail grep mktemp rm mkdir cp mv chmod cat env dirname du cut sleep; do
	ln -s "$(command -v "$tool")" "$sysbin/$tool"
done

# stub DIR NAME OUTPUT: an executable DIR/NAME whose `version` prints OUTPUT.
stub() {
	mkdir -p "$1"
	printf '#!/bin/sh\necho "%s"\n' "$3" >"$1/$2"
	chmod +x "$1/$2"
}
stub "$work/tfbin" terraform "Terraform v1.11.4"
stub "$work/tofubin" tofu "OpenTofu v1.12.6"
stub "$work/cache/tofu-$default_version" tofu "OpenTofu $default_version"
stub "$work/cache2/tofu-$fallback_version" tofu "OpenTofu $fallback_version"
stub "$work/custom" my-terraform "Terraform v1.11.4"
stub "$work/custom" my-tofu "OpenTofu v1.12.6"
tf_version=$(sed -n 's/^TERRAFORM_VERSION=//p' "$script")
stub "$work/cache/terraform-$tf_version" terraform "Terraform $tf_version"

failures=0
# check NAME EXPECTED_STDOUT ENV... -- ARGS...: run the script under `env -i`.
check() {
	local name=$1 want=$2 got rc=0
	shift 2
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	got=$(env -i HOME="$work/home" "${envs[@]}" "$sysbin/bash" "$script" "$@" 2>"$work/stderr") || rc=$?
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
		echo "ok   $name"
	else
		echo "FAIL $name (rc=$rc)"
		echo "  want: $want"
		echo "  got:  $got"
		sed 's/^/  stderr: /' "$work/stderr"
		failures=$((failures + 1))
	fi
}

check "terraform on PATH" "$work/tfbin/terraform" \
	PATH="$work/tfbin:$work/tofubin:$sysbin" --
check "tofu on PATH" "$work/tofubin/tofu" \
	PATH="$work/tofubin:$sysbin" --
check "TF_ACC_TERRAFORM_PATH wins" "$work/custom/my-tofu" \
	PATH="$work/tfbin:$sysbin" TF_ACC_TERRAFORM_PATH="$work/custom/my-tofu" --
check "TF_ACC_TERRAFORM_PATH not executable is ignored" "$work/tfbin/terraform" \
	PATH="$work/tfbin:$sysbin" TF_ACC_TERRAFORM_PATH="$work/missing" --
check "cached build (IOTDA_TOOLS_CACHE)" "$work/cache/tofu-$default_version/tofu" \
	PATH="$sysbin" IOTDA_TOOLS_CACHE="$work/cache" --
check "cached fallback build" "$work/cache2/tofu-$fallback_version/tofu" \
	PATH="$sysbin" IOTDA_TOOLS_CACHE="$work/cache2" --
check "cached build (XDG_CACHE_HOME)" "$work/cache/tofu-$default_version/tofu" \
	PATH="$sysbin" XDG_CACHE_HOME="$work/xdg" IOTDA_TOOLS_CACHE="$work/cache" --
mkdir -p "$work/xdg"
ln -s "$work/cache" "$work/xdg/terraform-provider-iotda"
check "cached build (XDG_CACHE_HOME default dir)" "$work/xdg/terraform-provider-iotda/tofu-$default_version/tofu" \
	PATH="$sysbin" XDG_CACHE_HOME="$work/xdg" --
check "--env with terraform" "export TF_ACC_TERRAFORM_PATH=$work/tfbin/terraform" \
	PATH="$work/tfbin:$sysbin" -- --env
check "--env with OpenTofu" "export TF_ACC_TERRAFORM_PATH=$work/custom/my-tofu
export TF_ACC_PROVIDER_HOST=registry.opentofu.org" \
	PATH="$sysbin" TF_ACC_TERRAFORM_PATH="$work/custom/my-tofu" -- --env
check "--cli terraform-1.16 (cached)" "$work/cache/terraform-$tf_version/terraform" \
	PATH="$work/tfbin:$sysbin" IOTDA_TOOLS_CACHE="$work/cache" -- --cli terraform-1.16
check "--cli=terraform-1.16 --no-build (cached)" "$work/cache/terraform-$tf_version/terraform" \
	PATH="$sysbin" IOTDA_TOOLS_CACHE="$work/cache" -- --cli=terraform-1.16 --no-build
check "IOTDA_CLI chooses" "$work/cache/terraform-$tf_version/terraform" \
	PATH="$work/tfbin:$sysbin" IOTDA_TOOLS_CACHE="$work/cache" IOTDA_CLI=terraform-1.16 --
check "--cli wins over IOTDA_CLI" "$work/tfbin/terraform" \
	PATH="$work/tfbin:$sysbin" IOTDA_TOOLS_CACHE="$work/cache" IOTDA_CLI=terraform-1.16 -- --cli terraform
check "--cli ignores TF_ACC_TERRAFORM_PATH" "$work/tfbin/terraform" \
	PATH="$work/tfbin:$sysbin" TF_ACC_TERRAFORM_PATH="$work/custom/my-tofu" -- --cli terraform
check "--cli tofu prefers tofu on PATH" "$work/tofubin/tofu" \
	PATH="$work/tfbin:$work/tofubin:$sysbin" IOTDA_TOOLS_CACHE="$work/cache" -- --cli tofu
check "--cli tofu (cached)" "$work/cache/tofu-$default_version/tofu" \
	PATH="$work/tfbin:$sysbin" IOTDA_TOOLS_CACHE="$work/cache" -- --cli tofu
check "--env with --cli terraform-1.16" "export TF_ACC_TERRAFORM_PATH=$work/cache/terraform-$tf_version/terraform" \
	PATH="$sysbin" IOTDA_TOOLS_CACHE="$work/cache" -- --env --cli terraform-1.16

# Error cases: must fail with a message and print nothing on stdout.
expect_fail() {
	local name=$1 out rc=0
	shift
	out=$(env -i HOME="$work/home" PATH="$sysbin" "$@" 2>"$work/stderr") || rc=$?
	if [ "$rc" -ne 0 ] && [ -z "$out" ] && [ -s "$work/stderr" ]; then
		echo "ok   $name ($(tail -n1 "$work/stderr"))"
	else
		echo "FAIL $name (rc=$rc, stdout=$out)"
		failures=$((failures + 1))
	fi
}
expect_fail "unknown argument" "$sysbin/bash" "$script" --bogus
expect_fail "nothing found and no go" "$sysbin/bash" "$script"
expect_fail "--cli terraform without terraform on PATH" env PATH="$work/tofubin:$sysbin" "$sysbin/bash" "$script" --cli terraform
expect_fail "--cli with an unknown name" "$sysbin/bash" "$script" --cli terraform-0.12
expect_fail "--cli without a name" "$sysbin/bash" "$script" --cli
expect_fail_with() {
	local name=$1 want=$2
	shift 2
	expect_fail "$name" "$@"
	grep -q -- "$want" "$work/stderr" || {
		echo "FAIL $name: stderr does not say \"$want\""
		failures=$((failures + 1))
	}
}
expect_fail_with "--no-build refuses the Terraform build" "building is refused" \
	env IOTDA_TOOLS_CACHE="$work/empty" "$sysbin/bash" "$script" --cli terraform-1.16 --no-build
expect_fail_with "IOTDA_CLI_NO_BUILD refuses the OpenTofu fallback" "OpenTofu $default_version is not built yet" \
	env IOTDA_TOOLS_CACHE="$work/empty" IOTDA_CLI_NO_BUILD=1 "$sysbin/bash" "$script"

# A build through a fake go: the wrapper module, the progress lines, the
# cached result, and the message that says what a build costs.
mkdir -p "$work/fakego" "$work/gomodcache" "$work/gocache"
printf 'module github.com/hashicorp/terraform\n\ngo 1.26.8\n\ngodebug winsymlink=0\n\nreplace github.com/hashicorp/terraform/internal/legacy => ./internal/legacy\n' >"$work/tf.mod"
cat >"$work/fakego/go" <<EOF
#!$sysbin/bash
case "\$1 \$2" in
"env GOVERSION") echo go1.26.8 ;;
"env GOMODCACHE") echo "$work/gomodcache" ;;
"env GOCACHE") echo "$work/gocache" ;;
"env GOTOOLCHAIN") echo local ;;
"mod download") echo '{"GoMod": "$work/tf.mod"}' ;;
"get "*) cp go.mod "$work/wrapper.mod" ;;
"build "*)
	sleep 3
	out=\$(printf '%s\n' "\$@" | grep -A1 -x -- -o | tail -n1)
	printf '#!/bin/sh\necho "Terraform $tf_version"\n' >"\$out"
	chmod +x "\$out" ;;
*) echo "fake go: unexpected \$*" >&2; exit 2 ;;
esac
EOF
chmod +x "$work/fakego/go"
check "builds Terraform once" "$work/built/terraform-$tf_version/terraform" \
	PATH="$work/fakego:$sysbin" IOTDA_TOOLS_CACHE="$work/built" IOTDA_PROGRESS_INTERVAL=1 -- --cli terraform-1.16
for want in "takes 8 to 13 minutes" "still building Terraform $tf_version" "built Terraform $tf_version in" \
	"replace github.com/hashicorp/terraform/internal/backend/remote-state/s3 => github.com/hashicorp/terraform/internal/backend/remote-state/s3 v0.0.0-"; do
	if grep -qF -- "$want" "$work/stderr"; then
		echo "ok   build says: $want"
	else
		echo "FAIL build does not say: $want"
		sed 's/^/  stderr: /' "$work/stderr"
		failures=$((failures + 1))
	fi
done
nested=$(grep -c "^replace github.com/hashicorp/terraform/internal/.* => github.com/hashicorp/terraform/internal/.* v0.0.0-" "$work/wrapper.mod" || true)
if [ "$nested" = 10 ] && ! grep -q '=> ./' "$work/wrapper.mod" && grep -qx 'godebug winsymlink=0' "$work/wrapper.mod"; then
	echo "ok   wrapper go.mod replaces the 10 nested modules"
else
	echo "FAIL wrapper go.mod:"
	sed 's/^/  /' "$work/wrapper.mod"
	failures=$((failures + 1))
fi
rm "$work/fakego/go"
check "the build is cached (no go on PATH)" "$work/built/terraform-$tf_version/terraform" \
	PATH="$sysbin" IOTDA_TOOLS_CACHE="$work/built" -- --cli terraform-1.16 --no-build

# The go.mod directive extraction (replace/godebug, blocks, local paths).
cat >"$work/go.mod" <<'EOF'
module example.com/x

go 1.26.6

godebug (
	tlsmlkem=0
	winsymlink=0 // comment
)

require example.com/a v1.0.0

replace example.com/b v1.0.0 => example.com/c v1.1.0

replace (
	example.com/d => example.com/e v0.1.0 // comment
	example.com/local => ../local
)
EOF
want='godebug tlsmlkem=0
godebug winsymlink=0
replace example.com/b v1.0.0 => example.com/c v1.1.0
replace example.com/d => example.com/e v0.1.0'
# shellcheck source=/dev/null
got=$(source <(sed -n '/^extract_directives() {/,/^}/p' "$script") && extract_directives "$work/go.mod")
if [ "$got" = "$want" ]; then
	echo "ok   extract_directives"
else
	echo "FAIL extract_directives"
	printf '%s\n' "$got" | sed 's/^/  got: /'
	failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures test(s) failed"
	exit 1
fi
echo "all tests passed"
