# A fleet of environment sensors: each device may publish telemetry and
# subscribe to commands on its own topics only, and no device may touch the
# firmware channel.
terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

# Endpoint, project and credentials come from the environment
# (HW_IOTDA_ENDPOINT, HW_PROJECT_ID, HW_ACCESS_KEY, HW_SECRET_KEY).
provider "iotda" {}

resource "iotda_device_policy" "sensors" {
  policy_name = "sensor-fleet"

  statement {
    effect  = "ALLOW"
    actions = ["iotda:devices:publish"]
    resources = [
      "topic:/v1/devices/$${devices.deviceId}/telemetry",
      "topic:/v1/devices/$${devices.deviceId}/events/*",
    ]
  }

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/commands"]
  }

  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/firmware/*"]
  }
}

resource "iotda_device_policy" "gateways" {
  policy_name = "gateway-uplink"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/gateways/$${devices.deviceId}/uplink/*"]
  }
}

# 48 sensors of one product, bound in three calls of at most 20.
locals {
  sensor_ids = [for n in range(1, 49) : format("64a7ba7ef9cb063d27e16b97_sensor-%04d", n)]
}

resource "iotda_device_policy_binding" "sensors" {
  policy_id   = iotda_device_policy.sensors.id
  target_type = "device"
  targets     = provider::iotda::targets(local.sensor_ids)

  lifecycle {
    # Never bind a policy that would let sensors touch the firmware channel.
    precondition {
      condition = provider::iotda::evaluate(
        iotda_device_policy.sensors.statement, "publish", "/v1/firmware/image", { device_id = local.sensor_ids[0] }
      ).decision == "DENY"
      error_message = "The sensor policy must deny publishing on firmware topics."
    }
  }
}

# Every device of the gateway product.
resource "iotda_device_policy_binding" "gateways" {
  policy_id   = iotda_device_policy.gateways.id
  target_type = "product"
  targets     = { "64a7ba7ef9cb063d27e16b98" = "" }
}

# A review guard: the plan warns if a sensor could publish on another
# sensor's topic (evaluated offline by the provider).
check "sensors_are_isolated" {
  assert {
    condition = !provider::iotda::evaluate(
      iotda_device_policy.sensors.statement, "publish", "/v1/devices/sensor-0002/telemetry", { device_id = "sensor-0001" }
    ).allowed
    error_message = "A sensor may publish on another sensor's telemetry topic."
  }
}

output "sensor_policy_id" {
  value = iotda_device_policy.sensors.id
}

output "gateway_policy_id" {
  value = iotda_device_policy.gateways.id
}

output "resource_space" {
  description = "The default resource space the policies were created in."
  value       = iotda_device_policy.sensors.app_id
}

output "bound_sensors" {
  value = length(iotda_device_policy_binding.sensors.targets)
}
