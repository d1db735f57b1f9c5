terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

resource "iotda_device_policy" "telemetry" {
  policy_name = "bound-sensor-telemetry"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
}

# The devices to bind: any list of ids, from a variable, a data source, a
# file or a for expression.
locals {
  sensor_ids = [for n in range(1, 101) : format("64a7ba7ef9cb063d27e16b97_sensor-%04d", n)]
}

# Every device bound to the policy, keyed by id. Refer to the policy's id:
# when the policy is replaced (for example because app_id changed), the
# binding is re-created on the new policy.
resource "iotda_device_policy_binding" "sensors" {
  policy_id   = iotda_device_policy.telemetry.id
  target_type = "device"
  targets     = provider::iotda::targets(local.sensor_ids)
}

# Bind a whole product (all its devices) with a second binding of the same
# policy: each binding owns one target type. The same map, written out.
resource "iotda_device_policy_binding" "gateway_product" {
  policy_id   = iotda_device_policy.telemetry.id
  target_type = "product"
  targets     = { "64a7ba7ef9cb063d27e16b98" = "" }
}

# A policy shared by several teams: each binds its own devices with a
# non-exclusive binding (in its own configuration, if it likes). Each
# binding binds and unbinds only the targets it lists and leaves the other
# teams' targets alone. Do not mix them with an exclusive binding of the
# same policy and target type, here or in another configuration: the two
# would fight, the exclusive one unbinding the others' targets on each of
# its applies (its every plan warns). Make every binding of a shared
# policy and target type non-exclusive, as here.
resource "iotda_device_policy" "no_firmware_push" {
  policy_name = "no-firmware-push"

  statement {
    effect    = "DENY"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/firmware/*"]
  }
}

resource "iotda_device_policy_binding" "team_a" {
  policy_id   = iotda_device_policy.no_firmware_push.id
  target_type = "device"
  exclusive   = false
  targets     = provider::iotda::targets(["64a7ba7ef9cb063d27e16b97_team-a-gw-01", "64a7ba7ef9cb063d27e16b97_team-a-gw-02"])
}

resource "iotda_device_policy_binding" "team_b" {
  policy_id   = iotda_device_policy.no_firmware_push.id
  target_type = "device"
  exclusive   = false
  targets     = provider::iotda::targets(["64a7ba7ef9cb063d27e16b97_team-b-cam-01"])
}
