terraform {
  required_version = ">= 1.8"
  required_providers {
    huaweicloud = {
      source = "huaweicloud/huaweicloud"
    }
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

# Configured from the environment: HW_REGION_NAME, HW_PROJECT_ID,
# HW_IOTDA_ENDPOINT, HW_IOTDA_INSTANCE_ID, HW_ACCESS_KEY, HW_SECRET_KEY.
provider "iotda" {}

# Was:
#
# resource "huaweicloud_iotda_device_policy" "telemetry" {
#   policy_name = "migrated-telemetry"
#   space_id    = "factory-1"
#   statement { ... }
# }
moved {
  from = huaweicloud_iotda_device_policy.telemetry
  to   = iotda_device_policy.telemetry
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "migrated-telemetry"
  app_id      = "factory-1"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/firmware/*"]
  }
}
