#!/usr/bin/env bash
# make dev-config: write bin/dev.tfrc, a CLI configuration whose
# dev_overrides run the provider built into BIN_DIR in place of a registry
# download (no `terraform init`), and print on stdout the one line that
# uses it:
#
#   eval "$(make -s dev-config)"    or copy the printed export line.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

bin_dir=${1:?usage: scripts/dev-config.sh BIN_DIR}
[ -x "$bin_dir/terraform-provider-iotda" ] || { echo "no provider in $bin_dir: run make build" >&2; exit 1; }
config="$bin_dir/dev.tfrc"
write_cli_config "$config" "$bin_dir"
{
	echo "Wrote $config: Terraform and OpenTofu will run $bin_dir/terraform-provider-iotda"
	echo "for source \"iotda-terraform/iotda\" without \`terraform init\`. Use it in this shell:"
} >&2
printf 'export TF_CLI_CONFIG_FILE=%q\n' "$config"
