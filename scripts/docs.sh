#!/usr/bin/env bash
# Regenerates docs/ from the provider's schema, templates/ and examples/.
# The schema is read through the dev_overrides CLI configuration, so no
# registry, download or `init` is needed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"

tf=$(terraform_cli)
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
(cd "$work/config" && TF_CLI_CONFIG_FILE="$work/cli.tfrc" "$tf" providers schema -json 2>/dev/null) |
	sed -E 's#"registry\.[a-z.]+/iotda-terraform/iotda"#"iotda"#' >"$work/schema.json"

"$tf" fmt -recursive examples >/dev/null
go tool -modfile=tools/go.mod tfplugindocs generate \
	--provider-name iotda --rendered-provider-name IoTDA \
	--providers-schema "$work/schema.json"
