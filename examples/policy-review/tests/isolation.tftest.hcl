# Run with `terraform test`, against an IoTDA instance or the IoTDA mock. The
# decisions come from provider::iotda::evaluate in main.tf, the comparison
# with the approved statements from provider::iotda::compare.

run "device_publishes_on_its_own_topic" {
  command = plan

  assert {
    condition     = output.access.own_telemetry == "ALLOW"
    error_message = "A device must be able to publish its own telemetry."
  }
}

run "device_cannot_publish_on_another_devices_topic" {
  command = plan

  assert {
    condition     = output.access.other_device_telemetry == "NO_MATCH"
    error_message = "Device sensor-1 must not publish on the topic of sensor-2."
  }
}

run "firmware_is_denied_even_on_own_topic" {
  command = plan

  assert {
    condition     = output.access.own_firmware == "DENY"
    error_message = "The firmware channel must be denied to every device."
  }
}

run "no_access_beyond_the_approved_statements" {
  command = plan

  assert {
    condition     = output.since_approval.no_new_access
    error_message = "The policy grants access beyond the approved statements: ${jsonencode(output.since_approval.widened)}"
  }

  # Publishing on the commands topic was approved and is no longer granted.
  assert {
    condition     = [for c in output.since_approval.narrowed : c.topic] == ["/v1/devices/device-1/commands"]
    error_message = "Expected only publishing on the commands topic to be taken away."
  }
}

run "policy_applies" {
  command = apply

  assert {
    condition     = length(iotda_device_policy.sensors.id) == 24
    error_message = "The policy was not created."
  }
}
