# Terraform 1.12+ and OpenTofu 1.12+: import a policy by its identity.
import {
  to = iotda_device_policy.telemetry
  identity = {
    policy_id = "5c90fa7d3c4e4405e8525079"
  }
}
