resource "iotda_device_policy" "telemetry" {
  policy_name = "telemetry-own-topics"

  statement {
    effect    = "ALLOW"
    actions   = ["iotda:devices:publish"]
    resources = ["topic:/v1/devices/$${devices.deviceId}/telemetry"]
  }
}

# The complete set of devices bound to the policy. Refer to the policy's id:
# when the policy is replaced (for example because app_id changed), the
# binding is re-created on the new policy.
resource "iotda_device_policy_binding" "sensors" {
  policy_id   = iotda_device_policy.telemetry.id
  target_type = "device"
  target_ids  = [for n in range(1, 101) : format("64a7ba7ef9cb063d27e16b97_sensor-%04d", n)]
}

# Bind a whole product (all its devices) with a second binding of the same
# policy: each binding owns one target type.
resource "iotda_device_policy_binding" "gateway_product" {
  policy_id   = iotda_device_policy.telemetry.id
  target_type = "product"
  target_ids  = ["64a7ba7ef9cb063d27e16b98"]
}
