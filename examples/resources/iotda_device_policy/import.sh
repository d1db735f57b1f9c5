# A device policy is imported by its id.
terraform import iotda_device_policy.telemetry 5c90fa7d3c4e4405e8525079
