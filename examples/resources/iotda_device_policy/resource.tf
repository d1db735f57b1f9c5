terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

# Each device may publish only to its own telemetry topics and subscribe
# only to its own command topic. `$${...}` keeps the IoTDA variable literal.
resource "iotda_device_policy" "telemetry" {
  policy_name = "telemetry-own-topics"

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

  # DENY wins over ALLOW: nobody publishes to or subscribes to firmware topics.
  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/firmware/*"]
  }
}

# A policy in a named resource space. Changing app_id replaces the policy.
resource "iotda_device_policy" "factory" {
  policy_name = "factory-line-3"
  app_id      = "b1e7c2d9a4f34a6c8d0e5f7a9b3c1d2e"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/factory/line3/$${devices.productId}/*"]
  }
}
