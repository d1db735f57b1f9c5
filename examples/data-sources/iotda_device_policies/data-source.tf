terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

resource "iotda_device_policy" "firmware_lockdown" {
  policy_name = "firmware-lockdown"

  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/*/firmware"]
  }
}

# Every policy of the resource space, newest first. The listing carries no
# statements: read those with the iotda_device_policy data source.
data "iotda_device_policies" "space" {
  app_id = iotda_device_policy.firmware_lockdown.app_id
}

output "policies_in_space" {
  value = { for p in data.iotda_device_policies.space.policies : p.policy_name => p.policy_id }
}
