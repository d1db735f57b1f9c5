#!/usr/bin/env bash
# Fails on a page of the registry docs that sends its reader into the
# repository, which a reader of the registry does not have: a relative link
# that is not to another page of the docs, a repository path (examples/...,
# scripts/...), the README or another file of the repository's top folder,
# or a `make` target. Each is listed as FILE:LINE: TEXT.
#
# Usage: scripts/docs-refs.sh [DOCS_DIR]   (default: docs of the repository)
#
# Links to the repository by URL are fine, and so is a path in a paragraph
# that links the repository itself (say, a command to run in a clone of
# it): that paragraph tells the reader where the path is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
docs=${1:-$root/docs}
repo_url=https://github.com/iotda-terraform/terraform-provider-iotda
# The Makefile's targets, as "build|test|...".
targets=$(sed -nE 's/^([a-z][a-z-]*):.*## .*/\1/p' "$root/GNUmakefile" | paste -sd '|' -)
[ -n "$targets" ] || { echo "docs-refs.sh: no targets found in GNUmakefile" >&2; exit 2; }

found=0
while IFS= read -r -d '' page; do
	awk -v page="$page" -v docs="$docs" -v repo="$repo_url" -v targets="$targets" '
		function check(   i, line, rest, target, dir, link, before) {
			if (para ~ "\\]\\(" repo "/?\\)") { n = 0; para = ""; return }
			for (i = 1; i <= n; i++) {
				line = lines[i]
				before = bad_lines
				# Relative links must name an existing page of the docs.
				rest = line
				while (match(rest, /\]\([^)]*\)/)) {
					link = substr(rest, RSTART + 2, RLENGTH - 3)
					rest = substr(rest, RSTART + RLENGTH)
					sub(/#.*/, "", link)
					sub(/[ \t].*/, "", link)
					if (link == "" || link ~ /^(https?|mailto):/) continue
					dir = page; sub(/[^\/]*$/, "", dir)
					target = (link ~ /^\//) ? docs link : dir link
					if (system("test -f \"" target "\"") != 0 || !inside(target)) {
						report(nums[i], line, "relative link " link " is not a page of the docs")
					}
				}
				if (bad_lines > before) continue
				# What is left once links by URL are gone.
				gsub(/\[[^]]*\]\(https?:[^)]*\)/, "", line)
				gsub(/https?:\/\/[^ )>"`]*/, "", line)
				if (match(line, /(^|[^A-Za-z0-9_.\/-])(\.\/)?(examples|scripts|internal|cmd|templates|conformance|tools|\.ci|\.github)\/[A-Za-z0-9_.\/-]*/)) {
					target = substr(line, RSTART, RLENGTH)
					sub(/^[^A-Za-z.]/, "", target)
					report(nums[i], lines[i], "repository path " target)
				} else if (match(line, /(README|CONTRIBUTING|DESIGN\.md|CHANGELOG\.md|GNUmakefile)/)) {
					report(nums[i], lines[i], substr(line, RSTART, RLENGTH) " of the repository")
				} else if (match(line, "(^|[^A-Za-z0-9_-])make (" targets ")([^A-Za-z0-9_-]|$)")) {
					report(nums[i], lines[i], "make target")
				}
			}
			n = 0; para = ""
		}
		# inside reports whether a path stays under the docs folder.
		function inside(path,   parts, k, m, depth) {
			if (index(path, docs "/") == 1) path = substr(path, length(docs) + 2)
			m = split(path, parts, "/")
			depth = 0
			for (k = 1; k <= m; k++) {
				if (parts[k] == "..") depth--
				else if (parts[k] != "." && parts[k] != "") depth++
				if (depth < 0) return 0
			}
			return 1
		}
		function report(num, text, why) {
			sub(/^[ \t]+/, "", text)
			printf "%s:%d: %s: %s\n", page, num, why, text
			bad = 1
			bad_lines++
		}
		/^[ \t]*$/ { check(); next }
		{ lines[++n] = $0; nums[n] = FNR; para = para "\n" $0 }
		END { check(); exit bad }
	' "$page" || found=1
done < <(find "$docs" -name '*.md' -print0 | sort -z)

if [ "$found" -ne 0 ]; then
	echo "docs/ sends readers into the repository (above): link by URL ($repo_url/blob/main/PATH), or show the content on the page" >&2
	exit 1
fi
