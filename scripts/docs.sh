#!/usr/bin/env bash
# Regenerates docs/ from the provider's schema, templates/ and examples/,
# then checks the result: `tfplugindocs validate` against the same full
# schema (a page with no resource, data source, list resource or function
# behind it fails), and scripts/docs-refs.sh (no page may send its reader
# into the repository). `make docs-check` runs this and then fails when
# docs/ differs from what was committed (a hand-edited or stray page).
# The schema is read through the dev_overrides CLI configuration, so no
# registry, download or `init` is needed; with Terraform 1.16.4 (built once,
# see scripts/terraform-cli.sh) unless terraform on PATH is 1.14 or later.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

# The schema's resource identities and list resources, which the docs show,
# are only in the output of Terraform 1.14 or later.
tf=$(terraform_cli)
tf_version=$(CHECKPOINT_DISABLE=1 "$tf" version 2>/dev/null | sed -n 's/^Terraform v\([0-9.]*\).*/\1/p' | head -n1)
if [ -z "$tf_version" ] || [ "$(printf '%s\n%s\n' 1.14.0 "$tf_version" | sort -V | head -n1)" != 1.14.0 ]; then
	say "the docs need Terraform 1.14+ (resource identities, list resources); using Terraform 1.16.4"
	tf=$("$root/scripts/terraform-cli.sh" --cli terraform-1.16)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/bin/terraform-provider-iotda" .
write_cli_config "$work/cli.tfrc" "$work/bin"
mkdir "$work/config"
cat >"$work/config/main.tf" <<'HCL'
terraform {
  required_providers {
    iotda = { source = "iotda-terraform/iotda" }
  }
}
HCL
(cd "$work/config" && TF_CLI_CONFIG_FILE="$work/cli.tfrc" "$tf" providers schema -json 2>"$work/schema.err") |
	sed -E 's#"registry\.[a-z.]+/iotda-terraform/iotda"#"iotda"#' >"$work/schema.json" ||
	{ cat "$work/schema.err" >&2; echo "docs.sh: $tf providers schema -json failed" >&2; exit 1; }
# Without list resources in the schema, tfplugindocs would neither render
# their pages nor check them: refuse rather than pass a partial check.
grep -q '"list_resource_schemas":{"iotda_' "$work/schema.json" ||
	{ echo "docs.sh: the schema from $tf has no list resources (they need Terraform 1.14+): the docs cannot be generated or validated" >&2; exit 1; }

# tfplugindocs lists a block under "Required" only when the schema gives it
# min_items > 0, and the plugin framework never sets min_items (it enforces
# counts with validators, so that every configuration error comes at once).
# The statement block of iotda_device_policy is required (1 to 10, by its
# validators): say so in the schema the docs are made from. Check at every
# framework upgrade whether blocks can declare min_items themselves.
block='"statement":{"nesting_mode":"list","block":'
required=${block/'"block":'/'"min_items":1,"block":'}
[ "$(grep -o "$block" "$work/schema.json" | wc -l)" = 1 ] ||
	{ echo "docs.sh: expected the schema to hold one statement block (iotda_device_policy)" >&2; exit 1; }
sed -i "s#$block#$required#" "$work/schema.json"

"$tf" fmt -recursive examples >/dev/null
go tool -modfile=tools/go.mod tfplugindocs generate \
	--provider-name iotda --rendered-provider-name IoTDA \
	--providers-schema "$work/schema.json"
# validate logs every step; its findings are the lines that are not debug logs.
go tool -modfile=tools/go.mod tfplugindocs validate \
	--provider-name iotda --providers-schema "$work/schema.json" >"$work/validate.log" 2>&1 ||
	{ grep -v '\[DEBUG\]' "$work/validate.log" >&2; echo "docs.sh: tfplugindocs validate failed" >&2; exit 1; }
say "tfplugindocs validate: $(grep -c '^running file checks' "$work/validate.log") pages match the schema"
"$root/scripts/docs-refs.sh" "$root/docs"
