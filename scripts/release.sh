#!/usr/bin/env bash
# Builds the release with GoReleaser (pinned in tools/go.mod) into dist/.
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
#
# Environment:
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
cd "$root"

goreleaser() { go tool -modfile=tools/go.mod goreleaser "$@"; }
die() { echo "release: $*" >&2; exit 1; }

mode=${1:-}
[ $# -gt 0 ] && shift
single=false
for arg in "$@"; do
	case "$arg" in
	--single-target) single=true ;;
	*) die "unknown argument $arg" ;;
	esac
done

if [ "$mode" = reproducible ]; then
	export VERSION=${VERSION:-0.0.1}
	first=$(mktemp)
	trap 'rm -f "$first"' EXIT
	"$0" build "$@" >/dev/null
	cp "dist/terraform-provider-iotda_${VERSION}_SHA256SUMS" "$first"
	"$0" build "$@" >/dev/null
	diff "$first" "dist/terraform-provider-iotda_${VERSION}_SHA256SUMS" ||
		die "two builds of $(git rev-parse --short HEAD) gave different archives"
	say "two builds of $(git rev-parse --short HEAD) gave identical archives:"
	cat "$first"
	exit
fi

config=.goreleaser.yml
if $single; then
	case "$mode" in snapshot | build) ;; *) die "--single-target is for snapshot and build only" ;; esac
	target="$(go env GOOS)_$(go env GOARCH)"
	config=$(mktemp --suffix=.yml)
	trap 'rm -f "$config"' EXIT
	sed -E "s/^( *targets:) \[.*\]$/\1 [$target]/" .goreleaser.yml >"$config"
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
	notes=$(mktemp)
	trap 'rm -f "$notes"' EXIT
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

version=$(sed -nE 's/.*"version":"([^"]+)".*/\1/p' dist/metadata.json)
[ -n "$version" ] || die "no version in dist/metadata.json"
name=terraform-provider-iotda
# The registry reads the manifest from the release; keep a copy beside the
# archives under that name (a release uploads it from release.extra_files).
cp terraform-registry-manifest.json "dist/${name}_${version}_manifest.json"

say "checking dist/ as the Terraform Registry would"
sums="${name}_${version}_SHA256SUMS"
(cd dist && sha256sum --check --strict --quiet "$sums") || die "$sums does not match the files"
shopt -s nullglob
archives=(dist/"${name}"_*.zip dist/iotda-mock_*.zip dist/iotda-mock_*.tar.gz dist/iotda-policy_*.zip dist/iotda-policy_*.tar.gz)
[ "${#archives[@]}" -gt 0 ] || die "no archives in dist/"
for archive in "${archives[@]}"; do
	grep -qF "  $(basename "$archive")" "dist/$sums" || die "$(basename "$archive") is not in $sums"
done
grep -qF "  ${name}_${version}_manifest.json" "dist/$sums" || die "the manifest is not in $sums"
for zip in dist/"${name}"_*.zip; do
	binary="${name}_v${version}"
	case "$zip" in *_windows_*) binary="$binary.exe" ;; esac
	unzip -Z1 "$zip" | grep -qxF "$binary" || die "$(basename "$zip") does not hold $binary"
done
host_zip="dist/${name}_${version}_$(go env GOOS)_$(go env GOARCH).zip"
if [ -f "$host_zip" ]; then
	check_dir=$(mktemp -d)
	unzip -q "$host_zip" -d "$check_dir"
	shown=$("$check_dir/${name}_v${version}" -version)
	rm -rf "$check_dir"
	case "$shown" in
	"$name $version "*) echo "$(basename "$host_zip"): $shown" ;;
	*) die "the binary of $(basename "$host_zip") says \"$shown\", not version $version" ;;
	esac
fi
if [ -f "dist/$sums.sig" ]; then
	gpg --batch --verify "dist/$sums.sig" "dist/$sums" || die "the signature of $sums does not verify"
else
	echo "not signed: dist/$sums.sig was not made (GPG_FINGERPRINT not set)"
fi

say "release files in dist/ (version $version, built in ${elapsed}s):"
ls -1 dist | grep -E '\.(zip|tar\.gz)$|_SHA256SUMS(\.sig)?$|_manifest\.json$'
