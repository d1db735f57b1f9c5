terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

variable "sensor_ids" {
  description = "The devices to bind, e.g. from a data source or a file."
  type        = list(string)
  default     = ["64a7ba7ef9cb063d27e16b97_sensor-0001", "64a7ba7ef9cb063d27e16b97_sensor-0002"]
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "targets-telemetry"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
}

# targets is { "64a7ba7ef9cb063d27e16b97_sensor-0001" = "", "64a7ba7ef9cb063d27e16b97_sensor-0002" = "" }.
# An id listed twice fails the plan, naming both positions.
resource "iotda_device_policy_binding" "sensors" {
  policy_id   = iotda_device_policy.telemetry.id
  target_type = "device"
  targets     = provider::iotda::targets(var.sensor_ids)
}
