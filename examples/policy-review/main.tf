# Policy-as-code: the policy of a sensor fleet, with `terraform test`
# assertions (tests/) that prove what a device may and may not do, offline,
# with provider::iotda::evaluate.
terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

provider "iotda" {}

resource "iotda_device_policy" "sensors" {
  policy_name = "reviewed-sensor-fleet"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/commands"]
  }

  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/*/firmware"]
  }
}

# What the policy lets a device do, decided offline by the provider. The
# check warns in every plan, and tests/ asserts each decision.
locals {
  access = {
    own_telemetry = provider::iotda::evaluate(
      iotda_device_policy.sensors.statement, "publish", "/v1/devices/sensor-1/telemetry", { device_id = "sensor-1" }
    )
    other_device_telemetry = provider::iotda::evaluate(
      iotda_device_policy.sensors.statement, "publish", "/v1/devices/sensor-2/telemetry", { device_id = "sensor-1" }
    )
    own_firmware = provider::iotda::evaluate(
      iotda_device_policy.sensors.statement, "subscribe", "/v1/devices/sensor-1/firmware", { device_id = "sensor-1" }
    )
  }
}

check "devices_are_isolated" {
  assert {
    condition     = !local.access.other_device_telemetry.allowed
    error_message = "Device sensor-1 may publish on the telemetry topic of sensor-2."
  }
}

# The statements approved in the last security review. compare() proves the
# policy grants no device anything beyond them (taking access away is fine);
# tests/ fails on a change that widens access until the approval is updated.
locals {
  approved = [
    {
      effect    = "ALLOW"
      actions   = ["iotda:devices:publish"]
      resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
    },
    {
      effect    = "ALLOW"
      actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
      resources = ["topic:/v1/devices/$${devices.deviceId}/commands"]
    },
    {
      effect    = "DENY"
      actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
      resources = ["topic:/v1/devices/*/firmware"]
    },
  ]
}

output "since_approval" {
  description = "What the policy grants beyond the approved statements, and what it no longer grants."
  value       = provider::iotda::compare(local.approved, iotda_device_policy.sensors.statement)
}

output "access" {
  description = "The decision for each scenario."
  value       = { for name, result in local.access : name => result.decision }
}
