# Every binding of the instance: one result per policy and target type that
# has targets, with the targets. Run with `terraform query` (Terraform 1.14+).
list "iotda_device_policy_binding" "all" {
  provider         = iotda
  include_resource = true
}

# Only the products bound to one policy.
list "iotda_device_policy_binding" "fleet_products" {
  provider = iotda
  config {
    policy_id   = "5c90fa7d3c4e4405e8525079"
    target_type = "product"
  }
}
