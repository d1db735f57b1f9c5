terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "access-check-telemetry"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
}

resource "iotda_device_policy_binding" "sensors" {
  policy_id   = iotda_device_policy.telemetry.id
  target_type = "product"
  targets     = { "64a7ba7ef9cb063d27e16b97" = "" }
}

# May sensor-0001 publish its telemetry on the live platform, under every
# policy bound to it, to its product or to its resource space?
data "iotda_device_access" "sensor_telemetry" {
  device_id  = "64a7ba7ef9cb063d27e16b97_sensor-0001"
  product_id = "64a7ba7ef9cb063d27e16b97"
  app_id     = iotda_device_policy.telemetry.app_id
  action     = "publish"
  topic      = "/v1/devices/64a7ba7ef9cb063d27e16b97_sensor-0001/telemetry"

  depends_on = [iotda_device_policy_binding.sensors]
}

check "sensor_can_publish_telemetry" {
  assert {
    condition     = data.iotda_device_access.sensor_telemetry.allowed
    error_message = "sensor-0001 may not publish its telemetry: ${data.iotda_device_access.sensor_telemetry.decision}."
  }
}
