# Terraform 1.12+ and OpenTofu 1.12+: import the devices bound to a policy
# by the binding's identity. The targets are read from the API.
import {
  to = iotda_device_policy_binding.sensors
  identity = {
    policy_id   = "5c90fa7d3c4e4405e8525079"
    target_type = "device"
  }
}
