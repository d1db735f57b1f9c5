# Stands for what exists before adoption: three policies, a device binding
# and a product binding, made "elsewhere" (apply this, then delete its
# terraform.tfstate, and Terraform no longer knows them). Only for trying
# the adoption guide on the mock.
terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

provider "iotda" {}

resource "iotda_device_policy" "sensors" {
  policy_name = "sensors"
  app_id      = "factory-1"

  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/firmware/*"]
  }
  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/*"]
  }
}

resource "iotda_device_policy" "gateways" {
  policy_name = "gateways"
  app_id      = "factory-1"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:subscribe"]
    resources = ["topic:/v1/broadcast"]
  }
}

resource "iotda_device_policy" "sensors_factory_2" {
  policy_name = "sensors"
  app_id      = "factory-2"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v2/telemetry"]
  }
}

resource "iotda_device_policy_binding" "sensors" {
  policy_id   = iotda_device_policy.sensors.id
  target_type = "device"
  targets     = { "sensor-0001" = "", "sensor-0002" = "", "sensor-0003" = "" }
}

resource "iotda_device_policy_binding" "gateways" {
  policy_id   = iotda_device_policy.gateways.id
  target_type = "product"
  targets     = { "gateway-product" = "" }
}
