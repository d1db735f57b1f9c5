terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "evaluated-telemetry"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }

  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/*/firmware"]
  }
}

# Can sensor-1 publish on sensor-2's telemetry topic? Evaluated offline, at
# plan time. To pool several policies, concat() their statements.
locals {
  cross_device = provider::iotda::evaluate(
    iotda_device_policy.telemetry.statement,
    "publish",
    "/v1/devices/sensor-2/telemetry",
    { device_id = "sensor-1" },
  )
}

output "cross_device_decision" {
  value = local.cross_device.decision # "NO_MATCH": not allowed
}

# Guard the policy in review: the plan warns when a device could publish on
# another device's topic.
check "devices_are_isolated" {
  assert {
    condition     = !local.cross_device.allowed
    error_message = "A device may publish on another device's telemetry topic."
  }
}
