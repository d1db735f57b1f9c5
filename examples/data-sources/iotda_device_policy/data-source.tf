terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "lookup-telemetry"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
}

# Look a policy up by its exact name, with app_id when several resource
# spaces hold a policy of that name. Or by id: policy_id = "5c90fa7d3c4e4405e8525079".
data "iotda_device_policy" "telemetry" {
  policy_name = iotda_device_policy.telemetry.policy_name
  app_id      = iotda_device_policy.telemetry.app_id
}

output "telemetry_topics" {
  value = flatten(data.iotda_device_policy.telemetry.statement[*].resources)
}
