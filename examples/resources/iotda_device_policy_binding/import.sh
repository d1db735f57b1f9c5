# A binding is imported as <policy_id>/<target_type>; the targets are read
# from the API.
terraform import iotda_device_policy_binding.sensors 5c90fa7d3c4e4405e8525079/device
