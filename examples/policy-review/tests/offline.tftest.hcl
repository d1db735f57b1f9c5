# The same review with no IoTDA at all, for a CI job without credentials:
# mock_provider (Terraform 1.7+, OpenTofu 1.8+) stands in for the provider's
# resources, while provider::iotda::evaluate and compare still run in the
# provider, so the decisions are the real ones.
mock_provider "iotda" {}

run "decisions_without_an_api" {
  command = apply

  assert {
    condition     = output.access.own_telemetry == "ALLOW" && output.access.other_device_telemetry == "NO_MATCH" && output.access.own_firmware == "DENY"
    error_message = "The decisions differ from those against the API: ${jsonencode(output.access)}"
  }

  assert {
    condition     = output.since_approval.no_new_access
    error_message = "The policy grants access beyond the approved statements: ${jsonencode(output.since_approval.widened)}"
  }
}
