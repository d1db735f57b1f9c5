# Every policy of the instance, with its statements (for generated
# configuration). Run with `terraform query` (Terraform 1.14+).
list "iotda_device_policy" "all" {
  provider         = iotda
  include_resource = true
}

# Only the policies of one resource space.
list "iotda_device_policy" "factory" {
  provider = iotda
  config {
    app_id = "factory-1"
  }
}
