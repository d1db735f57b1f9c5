terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "gateway-telemetry"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
}

resource "iotda_device_policy_binding" "gateway_product" {
  policy_id   = iotda_device_policy.telemetry.id
  target_type = "product"
  targets     = { "64a7ba7ef9cb063d27e16b98" = "" }
}

# Everything the policy is bound to, by this configuration or by anyone else.
data "iotda_device_policy_targets" "telemetry" {
  policy_id = iotda_device_policy.telemetry.id

  depends_on = [iotda_device_policy_binding.gateway_product]
}

output "telemetry_targets" {
  value = [for t in data.iotda_device_policy_targets.telemetry.targets : "${t.target_type}/${t.target_id}"]
}
