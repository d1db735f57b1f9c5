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
  policy_name = "sensor-fleet"

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

# Fails the plan when a device could publish on another device's topic.
check "devices_are_isolated" {
  assert {
    condition = !provider::iotda::evaluate(
      iotda_device_policy.sensors.statement, "publish", "/v1/devices/sensor-2/telemetry", { device_id = "sensor-1" }
    ).allowed
    error_message = "Device sensor-1 may publish on the telemetry topic of sensor-2."
  }
}
