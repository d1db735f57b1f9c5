#!/usr/bin/env bash
# Print the absolute path of a Terraform-compatible CLI on stdout (one line).
#
# Lookup order:
#   1. $TF_ACC_TERRAFORM_PATH, if set and executable
#   2. `terraform` on PATH
#   3. `tofu` on PATH
#   4. OpenTofu built from the Go module proxy (once) into
#      ${IOTDA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-iotda}/tofu-<version>/tofu
#
# Usage:
#   scripts/terraform-cli.sh          print the CLI path
#   scripts/terraform-cli.sh --env    print `export` lines for the acceptance tests
#
# Environment:
#   TF_ACC_TERRAFORM_PATH  use this CLI if it is executable
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

log() { printf '%s\n' "terraform-cli: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
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

# module_gomod VERSION: download the OpenTofu module and print its go.mod path.
module_gomod() {
	local json gomod
	json=$(go mod download -json "$OPENTOFU_MODULE@$1") ||
		die "could not download $OPENTOFU_MODULE@$1 from the Go module proxy"
	gomod=$(printf '%s\n' "$json" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' | head -n1)
	if [ -z "$gomod" ] || [ ! -f "$gomod" ]; then
		die "no go.mod found for $OPENTOFU_MODULE@$1"
	fi
	printf '%s\n' "$gomod"
}

tools_cache() {
	printf '%s\n' "${IOTDA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-iotda}"
}

# build_tofu: print the path of an OpenTofu binary in the cache, building it
# first if needed.
build_tofu() {
	local cache version dest_dir dest
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

	command -v go >/dev/null 2>&1 ||
		die "neither terraform nor tofu is on PATH, and go is not available to build OpenTofu"

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/terraform-cli.XXXXXX")
	staged=""
	trap 'rm -rf "$tmp"; [ -z "$staged" ] || rm -f "$staged"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	# Module lookups and builds must not be influenced by the caller's
	# module, workspace or GOFLAGS (e.g. -mod=vendor).
	export GOWORK=off GOFLAGS=-mod=mod GO111MODULE=on CGO_ENABLED=0
	cd "$tmp"

	local gover gomod need
	gover=$(go env GOVERSION)
	gover=${gover#go}
	gover=${gover%%[-+ ]*}

	gomod=$(module_gomod "$version")
	need=$(go_directive "$gomod")
	[ -n "$need" ] || die "could not read the go directive from $gomod"
	if ! version_ge "$gover" "$need"; then
		if [ -z "${OPENTOFU_VERSION:-}" ]; then
			log "OpenTofu $version needs Go >= $need but Go is $gover; using OpenTofu $FALLBACK_OPENTOFU_VERSION instead"
			version=$FALLBACK_OPENTOFU_VERSION
			gomod=$(module_gomod "$version")
			need=$(go_directive "$gomod")
		fi
		version_ge "$gover" "$need" ||
			die "OpenTofu $version needs Go >= $need but Go is $gover (GOTOOLCHAIN=$(go env GOTOOLCHAIN)); set OPENTOFU_VERSION to an older release or install a newer Go"
	fi

	dest_dir="$cache/tofu-$version"
	dest="$dest_dir/tofu"
	mkdir -p "$dest_dir"

	# Serialise concurrent builds of the same version (best effort).
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$dest_dir/.lock"
		if ! flock -n 9; then
			log "waiting for another build of OpenTofu $version to finish"
			flock 9
		fi
	fi
	if [ -x "$dest" ]; then
		printf '%s\n' "$dest"
		return
	fi

	log "terraform not found on PATH; building OpenTofu $version from the Go module proxy into $dest_dir (once, takes a few minutes)"
	local start=$SECONDS

	# A dependency's replace directives are ignored, so copy OpenTofu's into a
	# wrapper module that requires it.
	{
		printf 'module iotda.local/tofu-wrapper\n\ngo %s\n\nrequire %s %s\n\n' \
			"$need" "$OPENTOFU_MODULE" "$version"
		extract_directives "$gomod"
	} >"$tmp/go.mod"
	log "wrapper go.mod:"
	sed 's/^/    /' "$tmp/go.mod" >&2

	go get "$OPENTOFU_CMD@$version" >&2 ||
		die "go get $OPENTOFU_CMD@$version failed"
	# Same flags as OpenTofu's release builds; version.dev=no drops the "-dev"
	# suffix (a prerelease version would fail the testing framework's checks).
	go build -trimpath \
		-ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no" \
		-o "$tmp/tofu" "$OPENTOFU_CMD" >&2 ||
		die "go build $OPENTOFU_CMD@$version failed"
	local built
	built=$("$tmp/tofu" version 2>/dev/null) ||
		die "the built OpenTofu binary does not run"
	# (CLI configuration warnings may precede the version line on stdout.)
	[[ $'\n'$built$'\n' == *$'\n'"OpenTofu $version"$'\n'* ]] ||
		die "the built binary does not report 'OpenTofu $version': $built"

	# Stage next to the destination, then rename: the final path is either
	# absent or complete.
	staged="$dest_dir/.tofu.tmp.$$"
	cp "$tmp/tofu" "$staged"
	chmod 0755 "$staged"
	mv -f "$staged" "$dest"
	staged=""

	log "built OpenTofu $version in $((SECONDS - start))s: $dest"
	printf '%s\n' "$dest"
}

find_cli() {
	local p name
	if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ]; then
		if [ -f "$TF_ACC_TERRAFORM_PATH" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ]; then
			abs_path "$TF_ACC_TERRAFORM_PATH"
			return
		fi
		log "TF_ACC_TERRAFORM_PATH=$TF_ACC_TERRAFORM_PATH is not an executable file; ignoring it"
	fi
	for name in terraform tofu; do
		if p=$(command -v "$name" 2>/dev/null) && [ -n "$p" ] && [ -x "$p" ]; then
			abs_path "$p"
			return
		fi
	done
	build_tofu
}

main() {
	local mode="path"
	case "${1:-}" in
	"") ;;
	--env) mode="env" ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage
		die "unknown argument: $1"
		;;
	esac
	[ $# -le 1 ] || die "too many arguments"

	local cli
	cli=$(find_cli)
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
