# `terraform query -generate-config-out=generated.tf` writes a resource and
# an import block for every policy and every binding these blocks find.

# Every device policy of the instance, with its statements.
list "iotda_device_policy" "policy" {
  provider         = iotda
  include_resource = true
}

# Every (policy, target type) that has targets bound, with the targets.
list "iotda_device_policy_binding" "binding" {
  provider         = iotda
  include_resource = true
}
