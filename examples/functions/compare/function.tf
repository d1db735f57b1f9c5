terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "compared-telemetry"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }

  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
    resources = ["topic:/v1/devices/*/firmware"]
  }
}

# A proposed version of the policy: the telemetry statement now also lets
# devices subscribe, and the firmware DENY is gone.
locals {
  proposed = [
    {
      effect    = "ALLOW"
      actions   = ["iotda:devices:publish", "iotda:devices:subscribe"]
      resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
    },
  ]

  change = provider::iotda::compare(iotda_device_policy.telemetry.statement, local.proposed)
}

# Each entry: action, an example topic, the identity it holds for, and the
# statement and resource of the new statements that grant it, e.g.
# { action = "iotda:devices:subscribe", topic = "/v1/devices/device-1/telemetry",
#   identity = { device_id = "device-1" }, statement = 0, resource = "topic:/v1/devices/${devices.deviceId}/telemetry" }
output "widened" {
  value = local.change.widened
}

# Reordering statements, actions or resources compares as equivalent.
check "reordering_is_no_change" {
  assert {
    condition = provider::iotda::compare(
      iotda_device_policy.telemetry.statement,
      reverse(iotda_device_policy.telemetry.statement),
    ).equivalent
    error_message = "Reordering the statements changed what devices may do."
  }
}

# In review, assert that a change grants no new access: this one does, so
# the plan shows the check's warning.
check "proposal_grants_no_new_access" {
  assert {
    condition     = local.change.no_new_access
    error_message = "The proposed statements let devices publish or subscribe to topics they could not before: ${jsonencode(local.change.widened)}"
  }
}
