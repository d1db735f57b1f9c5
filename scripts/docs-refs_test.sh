#!/usr/bin/env bash
# Offline tests for scripts/docs-refs.sh. Run: bash scripts/docs-refs_test.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
# check NAME WANT GOT
check() {
	if [ "$2" = "$3" ]; then
		echo "ok   $1"
	else
		echo "FAIL $1: want \"$2\", got \"$3\""
		failures=$((failures + 1))
	fi
}

# refs PAGE_TEXT: the exit status of docs-refs.sh on a docs folder holding
# an index, a resource page and guides/page.md with PAGE_TEXT, and the
# number of lines it reported.
refs() {
	rm -rf "$work/docs"
	mkdir -p "$work/docs/resources" "$work/docs/guides"
	echo "# Index" >"$work/docs/index.md"
	echo "# A resource" >"$work/docs/resources/thing.md"
	printf '%s\n' "$1" >"$work/docs/guides/page.md"
	local status=0
	"$here/docs-refs.sh" "$work/docs" >"$work/out" 2>/dev/null || status=$?
	echo "$status $(wc -l <"$work/out")"
}

check "a page with links to pages and by URL, and make as a verb" "0 0" "$(refs '# Page

See [the resource](../resources/thing.md#import), [this part](#page), the
[index](../index.md) and [the example](https://github.com/iotda-terraform/terraform-provider-iotda/blob/main/examples/adopt/link-bindings.sh).
Make it match before applying: make sure of it.')"
check "a relative link out of the docs" "1 1" "$(refs 'See [the README](../../README.md).')"
check "a relative link to a missing page" "1 1" "$(refs 'See [x](../resources/missing.md).')"
check "a repository path in code" "1 1" "$(refs '```shell
cd examples/adopt
```')"
check "a repository path in prose" "1 1" "$(refs 'The file `scripts/release.sh` builds it.')"
check "the README by name" "1 1" "$(refs 'as the README says')"
check "a make target" "1 1" "$(refs '# Run with terraform test (make test runs it).')"
check "a path in a paragraph that links the repository" "0 0" "$(refs 'Run `scripts/release.sh build` in a clone of
[the repository](https://github.com/iotda-terraform/terraform-provider-iotda).')"
check "the link excuses its paragraph only" "1 1" "$(refs 'A clone of [the repository](https://github.com/iotda-terraform/terraform-provider-iotda).

Then `make demo`.')"
check "every offending line is listed" "1 3" "$(refs 'examples/a

scripts/b
and internal/c')"

if [ "$failures" -ne 0 ]; then
	echo "$failures test(s) failed"
	exit 1
fi
echo "all tests passed"
