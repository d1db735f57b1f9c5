#!/usr/bin/env bash
# Builds the release with GoReleaser (pinned in tools/go.mod) into dist/ (DIST).
#
# Usage:
#   scripts/release.sh check                     validate .goreleaser.yml
#   scripts/release.sh snapshot                  every platform, offline, nothing published
#   scripts/release.sh snapshot --single-target  the host platform only (CI)
#   VERSION=X.Y.Z scripts/release.sh build       every platform as version X.Y.Z, nothing published
#                                                (no tag needed; --single-target too)
#   scripts/release.sh reproducible [--single-target]
#                                                a build (VERSION, default 0.0.1) made twice: fails
#                                                unless both give the same SHA256SUMS
#   scripts/release.sh release                   a tagged release, published (the release workflow)
#   scripts/release.sh mirror DIR                from the build in dist/, the provider's archives in
#                                                DIR as a packed filesystem mirror that is also a
#                                                network mirror (index.json, <version>.json)
#
# Environment:
#   DIST             the folder the build goes to and mirror reads (default dist)
#   GPG_FINGERPRINT  key (in the gpg keyring) that signs the SHA256SUMS file.
#                    Without it a snapshot skips signing and says so; a release
#                    refuses to run, since the Terraform Registry needs the signature.
#
# After a build it checks what the Terraform Registry checks: every archive
# and the manifest are in SHA256SUMS with the right sums, every provider zip
# holds terraform-provider-iotda_v<version>, and that binary reports the
# version it was built as. It prints the time taken and the files made.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
# DIST is read from where the script was started.
dist=$(realpath -m -- "${DIST:-$root/dist}")
export DIST=$dist
cd "$root"
name=terraform-provider-iotda
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

goreleaser() { go tool -modfile=tools/go.mod goreleaser "$@"; }
die() { echo "release: $*" >&2; exit 1; }

mode=${1:-}
[ $# -gt 0 ] && shift
single=false
positional=()
for arg in "$@"; do
	case "$arg" in
	--single-target) single=true ;;
	-*) die "unknown argument $arg" ;;
	*) positional+=("$arg") ;;
	esac
done
[ "$mode" = mirror ] || [ "${#positional[@]}" -eq 0 ] || die "unknown argument ${positional[0]}"

if [ "$mode" = reproducible ]; then
	export VERSION=${VERSION:-0.0.1}
	"$0" build "$@" >/dev/null
	cp "$dist/${name}_${VERSION}_SHA256SUMS" "$tmp/first"
	"$0" build "$@" >/dev/null
	diff "$tmp/first" "$dist/${name}_${VERSION}_SHA256SUMS" ||
		die "two builds of $(git rev-parse --short HEAD) gave different archives"
	say "two builds of $(git rev-parse --short HEAD) gave identical archives:"
	cat "$tmp/first"
	exit
fi

# h1_hash ZIP prints the h1: hash (without the prefix) that Terraform and
# OpenTofu record in lock files: the SHA-256 of the lines "<SHA-256 of the
# file>  <name>" of the files in ZIP, sorted by name (the "h1" of
# golang.org/x/mod/sumdb/dirhash), in base64.
h1_hash() {
	local file
	unzip -Z1 "$1" | LC_ALL=C sort | while IFS= read -r file; do
		printf '%s  %s\n' "$(unzip -p "$1" "$file" | sha256sum | cut -c1-64)" "$file"
	done | sha256sum | cut -c1-64 | tr a-f A-F | basenc --base16 -d | base64
}

if [ "$mode" = mirror ]; then
	[ "${#positional[@]}" -eq 1 ] || die "usage: scripts/release.sh mirror DIR"
	[ -f "$dist/metadata.json" ] || die "no build in $dist: run a build first"
	version=$(sed -nE 's/.*"version":"([^"]+)".*/\1/p' "$dist/metadata.json")
	sums="${name}_${version}_SHA256SUMS"
	(cd "$dist" && sha256sum --check --strict --quiet "$sums") || die "$sums does not match the files of $dist"
	# The source address names the host: OpenTofu, which reads a bare
	# iotda-terraform/iotda as registry.opentofu.org/..., then looks for the
	# same folder and lock file entry as Terraform.
	dir="${positional[0]}/registry.terraform.io/iotda-terraform/iotda"
	mkdir -p "$dir"
	shopt -s nullglob
	zips=("$dist/${name}_${version}"_*.zip)
	[ "${#zips[@]}" -gt 0 ] || die "no provider archives in $dist"
	{
		echo '{'
		echo '  "archives": {'
		separator=
		for zip in "${zips[@]}"; do
			file=$(basename "$zip")
			platform=${file#"${name}_${version}_"}
			platform=${platform%.zip}
			cp "$zip" "$dir/$file"
			# zh: is the archive's SHA-256, as SHA256SUMS lists it.
			zh=$(awk -v f="$file" '$2 == f { print $1 }' "$dist/$sums")
			printf '%s    "%s": {\n' "$separator" "$platform"
			printf '      "url": "%s",\n' "$file"
			printf '      "hashes": ["h1:%s", "zh:%s"]\n' "$(h1_hash "$zip")" "$zh"
			printf '    }'
			separator=$',\n'
		done
		printf '\n  }\n}\n'
	} >"$dir/$version.json"
	# Every version of the mirror, this one and any put there before.
	{
		echo '{'
		echo '  "versions": {'
		separator=
		for file in "$dir"/*.*.*.json; do
			printf '%s    "%s": {}' "$separator" "$(basename "$file" .json)"
			separator=$',\n'
		done
		printf '\n  }\n}\n'
	} >"$dir/index.json"
	say "mirror of $name $version in ${positional[0]} (a filesystem_mirror path, and a network_mirror served over HTTPS):"
	find "${positional[0]}" -type f | sort
	exit
fi

config=.goreleaser.yml
if $single || [ "$dist" != "$root/dist" ]; then
	config="$tmp/goreleaser.yml"
	cp .goreleaser.yml "$config"
	[ "$dist" = "$root/dist" ] || printf '\n# From DIST (scripts/release.sh).\ndist: %s\n' "$dist" >>"$config"
fi
if $single; then
	case "$mode" in snapshot | build) ;; *) die "--single-target is for snapshot and build only" ;; esac
	target="$(go env GOOS)_$(go env GOARCH)"
	sed -i -E "s/^( *targets:) \[.*\]$/\1 [$target]/" "$config"
	[ "$(grep -cE "^ *targets: \[$target\]$" "$config")" -eq "$(grep -cE '^ *targets:' .goreleaser.yml)" ] ||
		die "could not restrict every targets: line of .goreleaser.yml to $target"
	say "building for $target only"
fi
args=(release --clean --config "$config")
case "$mode" in
check)
	goreleaser check --config "$config"
	exit
	;;
snapshot)
	args+=(--snapshot)
	;;
build)
	# A real version (a snapshot's X.Y.Z-snapshot is a pre-release that
	# `terraform init` only takes when pinned exactly), for an organisation's
	# own mirror or registry. The archives are byte-reproducible per commit.
	[[ "${VERSION:-}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "set VERSION=X.Y.Z (for example VERSION=0.3.0)"
	export RELEASE_VERSION="$VERSION"
	args+=(--snapshot)
	;;
release)
	[ -n "${GPG_FINGERPRINT:-}" ] || die "GPG_FINGERPRINT is not set: the Terraform Registry needs a signed SHA256SUMS"
	tag=$(git describe --tags --exact-match) || die "HEAD has no tag: tag it vX.Y.Z first"
	notes="$tmp/notes"
	# The tag's section of CHANGELOG.md ("## X.Y.Z (date)" up to the next "## ").
	awk -v v="${tag#v}" '
		/^## / { if (on) exit; on = ($2 == v) ; next }
		on { print }
	' CHANGELOG.md >"$notes"
	[ -s "$notes" ] || die "CHANGELOG.md has no section \"## ${tag#v}\""
	if grep -qE "^## ${tag#v} \(Unreleased\)" CHANGELOG.md; then
		die "the CHANGELOG.md section of ${tag#v} still says (Unreleased): put the release date there first"
	fi
	args+=(--release-notes "$notes")
	;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac

if [ -z "${GPG_FINGERPRINT:-}" ]; then
	say "GPG_FINGERPRINT is not set: SHA256SUMS will NOT be signed (no .sig file); set it to a key of your gpg keyring to sign"
	args+=(--skip=sign)
else
	say "signing SHA256SUMS with the GPG key $GPG_FINGERPRINT"
fi

# GoReleaser reads the commit, and the commit date that the binaries' and
# archives' file times come from, only when `git ls-remote --get-url`
# answers; in a clone without a remote a snapshot falls back to "none" and
# the build time. The clone itself stands in as the remote URL then (for
# this command only, nothing is written to the git configuration).
if [ -z "$(git remote)" ]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0="$root"
fi

start=$SECONDS
say "goreleaser ${args[*]}"
goreleaser "${args[@]}"
elapsed=$((SECONDS - start))

version=$(sed -nE 's/.*"version":"([^"]+)".*/\1/p' "$dist/metadata.json")
[ -n "$version" ] || die "no version in $dist/metadata.json"
# The registry reads the manifest from the release; keep a copy beside the
# archives under that name (a release uploads it from release.extra_files).
cp terraform-registry-manifest.json "$dist/${name}_${version}_manifest.json"

say "checking $dist as the Terraform Registry would"
sums="${name}_${version}_SHA256SUMS"
(cd "$dist" && sha256sum --check --strict --quiet "$sums") || die "$sums does not match the files"
shopt -s nullglob
archives=("$dist/${name}"_*.zip "$dist"/iotda-mock_*.zip "$dist"/iotda-mock_*.tar.gz "$dist"/iotda-policy_*.zip "$dist"/iotda-policy_*.tar.gz)
[ "${#archives[@]}" -gt 0 ] || die "no archives in $dist"
for archive in "${archives[@]}"; do
	grep -qF "  $(basename "$archive")" "$dist/$sums" || die "$(basename "$archive") is not in $sums"
done
grep -qF "  ${name}_${version}_manifest.json" "$dist/$sums" || die "the manifest is not in $sums"
for zip in "$dist/${name}"_*.zip; do
	binary="${name}_v${version}"
	case "$zip" in *_windows_*) binary="$binary.exe" ;; esac
	unzip -Z1 "$zip" | grep -qxF "$binary" || die "$(basename "$zip") does not hold $binary"
done
host_zip="$dist/${name}_${version}_$(go env GOOS)_$(go env GOARCH).zip"
if [ -f "$host_zip" ]; then
	check_dir="$tmp/check"
	unzip -q "$host_zip" -d "$check_dir"
	shown=$("$check_dir/${name}_v${version}" -version)
	case "$shown" in
	"$name $version "*) echo "$(basename "$host_zip"): $shown" ;;
	*) die "the binary of $(basename "$host_zip") says \"$shown\", not version $version" ;;
	esac
fi
if [ -f "$dist/$sums.sig" ]; then
	gpg --batch --verify "$dist/$sums.sig" "$dist/$sums" || die "the signature of $sums does not verify"
else
	echo "not signed: $dist/$sums.sig was not made (GPG_FINGERPRINT not set)"
fi

say "release files in $dist (version $version, built in ${elapsed}s):"
ls -1 "$dist" | grep -E '\.(zip|tar\.gz)$|_SHA256SUMS(\.sig)?$|_manifest\.json$'
