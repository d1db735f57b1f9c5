#!/usr/bin/env bash
# Print the absolute path of a Terraform-compatible CLI on stdout (one line).
#
# Usage:
#   scripts/terraform-cli.sh [--cli NAME] [--no-build] [--env]
#
#   --cli NAME   which CLI (default: $IOTDA_CLI, else auto):
#     auto            $TF_ACC_TERRAFORM_PATH if executable, else terraform on
#                     PATH, else tofu on PATH, else OpenTofu built once
#     terraform       terraform on PATH, nothing else
#     terraform-1.16  Terraform 1.16.4 built once from the Go module proxy
#     tofu            tofu on PATH, else OpenTofu 1.12.6 built once
#   --no-build   never build: fail, saying what to do, when the CLI is neither
#                on PATH nor built yet (also IOTDA_CLI_NO_BUILD=1)
#   --env        print `export` lines for the acceptance tests instead
#
# A build happens at most once per machine, into
# ${IOTDA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-iotda}/
# <cli>-<version>/. The first build of either CLI takes 8 to 13 minutes on
# 2 idle cores (25 on a busy machine) and fills about 3 GB of Go module and
# build caches; the script says so before it starts and prints progress
# every 30 seconds.
#
# Environment:
#   IOTDA_CLI              default for --cli
#   IOTDA_CLI_NO_BUILD     1: as --no-build
#   TF_ACC_TERRAFORM_PATH  used by --cli auto if it is executable
#   OPENTOFU_VERSION       OpenTofu release to build (default: see DEFAULT_OPENTOFU_VERSION)
#   IOTDA_TOOLS_CACHE      cache folder for built tools
#
# All progress messages go to stderr; stdout carries only the result.
set -euo pipefail
# Keep errexit inside $(...) so failures in helpers stop the script.
shopt -s inherit_errexit

# Pinned OpenTofu release: latest stable v1.x; its go.mod needs go 1.26.6.
DEFAULT_OPENTOFU_VERSION=v1.12.6
# Used instead of the default when the local Go is older than the default
# release requires (and OPENTOFU_VERSION is not set); its go.mod needs go 1.24.13.
FALLBACK_OPENTOFU_VERSION=v1.10.10
OPENTOFU_MODULE=github.com/opentofu/opentofu
OPENTOFU_CMD=github.com/opentofu/opentofu/cmd/tofu

# Pinned Terraform release for the tests of identity, `terraform query` and
# list resources. Its go.mod replaces ten nested modules with local folders,
# which a module that requires it cannot use; the module proxy serves each
# of them at the pseudo-version of the release's commit.
TERRAFORM_VERSION=v1.16.4
TERRAFORM_MODULE=github.com/hashicorp/terraform
TERRAFORM_NESTED_VERSION=v0.0.0-20260923115756-6ee8af215a53
TERRAFORM_NESTED_MODULES="internal/backend/remote-state/azure internal/backend/remote-state/consul
internal/backend/remote-state/cos internal/backend/remote-state/gcs internal/backend/remote-state/kubernetes
internal/backend/remote-state/oci internal/backend/remote-state/oss internal/backend/remote-state/pg
internal/backend/remote-state/s3 internal/legacy"

# What a first build costs, measured on 2 cores (see the README): said
# before a build starts.
BUILD_COST="8 to 13 minutes on 2 idle cores (25 minutes on a busy machine; under 2 minutes when the Go build cache is warm) and about 3 GB of Go module and build caches"
# Seconds between progress lines while building.
PROGRESS_INTERVAL=${IOTDA_PROGRESS_INTERVAL:-30}

log() { printf '%s\n' "terraform-cli: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//' >&2
}
# abs_path PATH: print PATH made absolute (without resolving symlinks).
abs_path() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd -P)" "${1#./}" ;;
	esac
}

# version_ge A B: true if Go version A >= B (e.g. 1.26.8 >= 1.26.6).
version_ge() {
	[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# extract_directives GOMOD: print the module's replace and godebug directives,
# one per line in single-line form ("replace A v => B v", "godebug k=v").
# Replacements pointing at local directories are dropped (they cannot work
# outside the module's own source tree).
extract_directives() {
	awk '
		function emit(kw, body) {
			sub(/[ \t]*\/\/.*$/, "", body)
			gsub(/^[ \t]+|[ \t]+$/, "", body)
			if (body == "") return
			if (kw == "replace") {
				rhs = body; sub(/^.*=>[ \t]*/, "", rhs)
				if (rhs ~ /^(\.|\/)/) return
			}
			print kw " " body
		}
		block != "" {
			if ($0 ~ /^[ \t]*\)/) { block = ""; next }
			emit(block, $0); next
		}
		/^(replace|godebug)[ \t]*\([ \t]*(\/\/.*)?$/ { block = $1; sub(/\(.*/, "", block); next }
		/^(replace|godebug)[ \t]/ { kw = $1; body = $0; sub(/^[a-z]+[ \t]+/, "", body); emit(kw, body) }
	' "$1"
}

# go_directive GOMOD: print the value of the `go` directive.
go_directive() {
	sed -n 's/^go[[:space:]]\{1,\}\([0-9][0-9.a-z]*\).*/\1/p' "$1" | head -n1
}

# module_gomod MODULE VERSION: download a module and print its go.mod path.
module_gomod() {
	local json gomod
	json=$(go mod download -json "$1@$2") ||
		die "could not download $1@$2 from the Go module proxy"
	gomod=$(printf '%s\n' "$json" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' | head -n1)
	if [ -z "$gomod" ] || [ ! -f "$gomod" ]; then
		die "no go.mod found for $1@$2"
	fi
	printf '%s\n' "$gomod"
}

tools_cache() {
	printf '%s\n' "${IOTDA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-iotda}"
}

no_build() {
	[ "${IOTDA_CLI_NO_BUILD:-}" = 1 ]
}

# go_version: the local Go version, e.g. 1.26.8.
go_version() {
	local v
	v=$(go env GOVERSION)
	v=${v#go}
	printf '%s\n' "${v%%[-+ ]*}"
}

# cache_mb: megabytes held by the Go module and build caches.
cache_mb() {
	du -smc "$(go env GOMODCACHE)" "$(go env GOCACHE)" 2>/dev/null | tail -n1 | cut -f1
}

# with_progress WHAT CMD...: run CMD (output to stderr), printing a line
# every PROGRESS_INTERVAL seconds until it ends; return its status.
with_progress() {
	local what=$1 start=$SECONDS pid rc=0 next
	shift
	"$@" >&2 &
	pid=$!
	next=$PROGRESS_INTERVAL
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if [ $((SECONDS - start)) -ge "$next" ] && kill -0 "$pid" 2>/dev/null; then
			log "still ${what}: $(elapsed $((SECONDS - build_start))) elapsed"
			next=$((next + PROGRESS_INTERVAL))
		fi
	done
	wait "$pid" || rc=$?
	return "$rc"
}

elapsed() {
	printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# build_cli NAME VERSION DEST_DIR BIN WRAPPER_FN PKG LDFLAGS: build PKG
# with a wrapper module (its go.mod written by WRAPPER_FN into the current
# folder) into DEST_DIR/BIN, print that path. Serialised per version;
# the final path is either absent or complete.
build_cli() {
	local name=$1 version=$2 dest_dir=$3 bin=$4 wrapper=$5 pkg=$6 ldflags=$7
	local dest="$dest_dir/$bin"
	mkdir -p "$dest_dir"
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$dest_dir/.lock"
		if ! flock -n 9; then
			log "waiting for another build of $name $version to finish"
			flock 9
		fi
	fi
	if [ -x "$dest" ]; then
		printf '%s\n' "$dest"
		return
	fi

	log "building $name $version from the Go module proxy into $dest_dir, once for this machine."
	log "a first build takes $BUILD_COST; progress every ${PROGRESS_INTERVAL}s. (Refuse it with --no-build or IOTDA_CLI_NO_BUILD=1.)"
	build_start=$SECONDS
	local before after
	before=$(cache_mb)

	"$wrapper" >"$tmp/go.mod"
	log "wrapper go.mod:"
	sed 's/^/    /' "$tmp/go.mod" >&2

	with_progress "resolving the modules of $name $version" go get "$pkg@$version" ||
		die "go get $pkg@$version failed"
	with_progress "building $name $version" go build -trimpath -ldflags="$ldflags" -o "$tmp/$bin" "$pkg" ||
		die "go build $pkg@$version failed"
	local built
	built=$("$tmp/$bin" version 2>/dev/null) ||
		die "the built $name binary does not run"
	# (CLI configuration warnings may precede the version line on stdout.)
	[[ $'\n'$built$'\n' == *$'\n'"$name $version"$'\n'* ]] ||
		die "the built binary does not report '$name $version': $built"

	staged="$dest_dir/.$bin.tmp.$$"
	cp "$tmp/$bin" "$staged"
	chmod 0755 "$staged"
	mv -f "$staged" "$dest"
	staged=""

	after=$(cache_mb)
	log "built $name $version in $(elapsed $((SECONDS - build_start))): $dest ($(du -sm "$dest" | cut -f1) MB); the Go caches grew by $((after - before)) MB to $after MB ($(go env GOMODCACHE), $(go env GOCACHE))"
	printf '%s\n' "$dest"
}

# prepare_build: a scratch folder and an environment in which module
# lookups and builds are not influenced by the caller's module, workspace
# or GOFLAGS (e.g. -mod=vendor).
prepare_build() {
	command -v go >/dev/null 2>&1 ||
		die "go is not available to build $1; install Go, or put a terraform or tofu CLI on PATH"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/terraform-cli.XXXXXX")
	staged=""
	trap 'rm -rf "$tmp"; [ -z "$staged" ] || rm -f "$staged"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	export GOWORK=off GOFLAGS=-mod=mod GO111MODULE=on CGO_ENABLED=0
	cd "$tmp"
}

refuse_build() {
	die "$1 is not built yet and building is refused (--no-build or IOTDA_CLI_NO_BUILD=1). Building it takes $BUILD_COST; run scripts/terraform-cli.sh --cli $2 once to build it, or choose another CLI with --cli."
}

# build_tofu: print the path of an OpenTofu binary in the cache, building it
# first if needed.
build_tofu() {
	local cache version dest
	cache=$(tools_cache)
	version=${OPENTOFU_VERSION:-$DEFAULT_OPENTOFU_VERSION}
	case "$version" in v*) ;; *) version="v$version" ;; esac

	# Fast path: already built (check both candidate versions without calling go).
	dest="$cache/tofu-$version/tofu"
	if [ -x "$dest" ]; then
		printf '%s\n' "$dest"
		return
	fi
	if [ -z "${OPENTOFU_VERSION:-}" ] && [ -x "$cache/tofu-$FALLBACK_OPENTOFU_VERSION/tofu" ]; then
		printf '%s\n' "$cache/tofu-$FALLBACK_OPENTOFU_VERSION/tofu"
		return
	fi
	no_build && refuse_build "OpenTofu $version" tofu
	prepare_build "OpenTofu"

	local gover gomod need
	gover=$(go_version)
	gomod=$(module_gomod "$OPENTOFU_MODULE" "$version")
	need=$(go_directive "$gomod")
	[ -n "$need" ] || die "could not read the go directive from $gomod"
	if ! version_ge "$gover" "$need"; then
		if [ -z "${OPENTOFU_VERSION:-}" ]; then
			log "OpenTofu $version needs Go >= $need but Go is $gover; using OpenTofu $FALLBACK_OPENTOFU_VERSION instead"
			version=$FALLBACK_OPENTOFU_VERSION
			gomod=$(module_gomod "$OPENTOFU_MODULE" "$version")
			need=$(go_directive "$gomod")
		fi
		version_ge "$gover" "$need" ||
			die "OpenTofu $version needs Go >= $need but Go is $gover (GOTOOLCHAIN=$(go env GOTOOLCHAIN)); set OPENTOFU_VERSION to an older release or install a newer Go"
	fi
	tofu_wrapper() {
		# A dependency's replace directives are ignored, so copy OpenTofu's
		# into a wrapper module that requires it.
		printf 'module iotda.local/tofu-wrapper\n\ngo %s\n\nrequire %s %s\n\n' "$need" "$OPENTOFU_MODULE" "$version"
		extract_directives "$gomod"
	}
	# Same flags as OpenTofu's release builds; version.dev=no drops the "-dev"
	# suffix (a prerelease version would fail the testing framework's checks).
	build_cli OpenTofu "$version" "$cache/tofu-$version" tofu tofu_wrapper "$OPENTOFU_CMD" \
		"-s -w -X github.com/opentofu/opentofu/version.dev=no"
}

# terraform_wrapper GOMOD NEED: the wrapper go.mod of Terraform: its own
# directives, and its nested modules at the release's pseudo-version.
terraform_wrapper_mod() {
	local m
	printf 'module iotda.local/terraform-wrapper\n\ngo %s\n\nrequire %s %s\n\n' "$2" "$TERRAFORM_MODULE" "$TERRAFORM_VERSION"
	extract_directives "$1"
	for m in $TERRAFORM_NESTED_MODULES; do
		printf 'replace %s/%s => %s/%s %s\n' "$TERRAFORM_MODULE" "$m" "$TERRAFORM_MODULE" "$m" "$TERRAFORM_NESTED_VERSION"
	done
}

# build_terraform: print the path of Terraform 1.16 in the cache, building
# it first if needed.
build_terraform() {
	local cache dest
	cache=$(tools_cache)
	dest="$cache/terraform-$TERRAFORM_VERSION/terraform"
	if [ -x "$dest" ]; then
		printf '%s\n' "$dest"
		return
	fi
	no_build && refuse_build "Terraform $TERRAFORM_VERSION" terraform-1.16
	prepare_build "Terraform"
	local gomod need
	gomod=$(module_gomod "$TERRAFORM_MODULE" "$TERRAFORM_VERSION")
	need=$(go_directive "$gomod")
	[ -n "$need" ] || die "could not read the go directive from $gomod"
	version_ge "$(go_version)" "$need" ||
		die "Terraform $TERRAFORM_VERSION needs Go >= $need but Go is $(go_version) (GOTOOLCHAIN=$(go env GOTOOLCHAIN)); install a newer Go"
	terraform_wrapper() { terraform_wrapper_mod "$gomod" "$need"; }
	# version.dev=no drops the "-dev" suffix, as in Terraform's release builds.
	build_cli Terraform "$TERRAFORM_VERSION" "$cache/terraform-$TERRAFORM_VERSION" terraform terraform_wrapper \
		"$TERRAFORM_MODULE" "-s -w -X github.com/hashicorp/terraform/version.dev=no"
}

# on_path NAME: print the absolute path of NAME on PATH, or fail.
on_path() {
	local p
	p=$(command -v "$1" 2>/dev/null) && [ -n "$p" ] && [ -x "$p" ] || return 1
	abs_path "$p"
}

find_cli() {
	case "$1" in
	auto)
		if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ]; then
			if [ -f "$TF_ACC_TERRAFORM_PATH" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ]; then
				abs_path "$TF_ACC_TERRAFORM_PATH"
				return
			fi
			log "TF_ACC_TERRAFORM_PATH=$TF_ACC_TERRAFORM_PATH is not an executable file; ignoring it"
		fi
		on_path terraform || on_path tofu || {
			log "neither terraform nor tofu is on PATH; using OpenTofu built from the Go module proxy"
			build_tofu
		}
		;;
	terraform)
		on_path terraform || die "--cli terraform: no terraform on PATH; install it, or choose --cli terraform-1.16 or --cli tofu"
		;;
	terraform-1.16) build_terraform ;;
	tofu) on_path tofu || build_tofu ;;
	*) die "unknown CLI \"$1\": choose auto, terraform, terraform-1.16 or tofu" ;;
	esac
}

main() {
	local mode="path" choice=${IOTDA_CLI:-auto}
	while [ $# -gt 0 ]; do
		case "$1" in
		--env) mode="env" ;;
		--no-build) IOTDA_CLI_NO_BUILD=1 ;;
		--cli)
			[ $# -ge 2 ] || die "--cli needs a name: auto, terraform, terraform-1.16 or tofu"
			choice=$2
			shift
			;;
		--cli=*) choice=${1#--cli=} ;;
		-h | --help)
			usage
			exit 0
			;;
		*)
			usage
			die "unknown argument: $1"
			;;
		esac
		shift
	done

	local cli
	cli=$(find_cli "$choice")
	[ -n "$cli" ] || die "no Terraform-compatible CLI found"

	if [ "$mode" = path ]; then
		printf '%s\n' "$cli"
		return
	fi

	printf 'export TF_ACC_TERRAFORM_PATH=%q\n' "$cli"
	local out
	out=$(CHECKPOINT_DISABLE=1 "$cli" version 2>&1) || true
	if [[ $out == *OpenTofu* ]]; then
		printf 'export TF_ACC_PROVIDER_HOST=%s\n' registry.opentofu.org
	fi
}

main "$@"
