# Shared shell helpers of the Makefile's scripts. Source it; don't run it.

# repo_root prints the repository's top folder.
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# say prints a progress line to stderr, in bold only when stderr is a
# terminal (logs and CI get plain text).
say() {
	if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi
}

# write_cli_config FILE BIN_DIR writes a CLI configuration that runs the
# provider built into BIN_DIR in place of a registry download (no init, no
# network).
write_cli_config() {
	cat >"$1" <<CONFIG
provider_installation {
  dev_overrides {
    "iotda-terraform/iotda" = "$2"
  }
  direct {}
}
CONFIG
}

# terraform_cli prints the path of a Terraform-compatible CLI.
terraform_cli() { "$(repo_root)/scripts/terraform-cli.sh"; }
