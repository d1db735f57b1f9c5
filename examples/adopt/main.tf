terraform {
  required_version = ">= 1.14"
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

# Configured from the environment: HW_REGION_NAME, HW_PROJECT_ID,
# HW_IOTDA_ENDPOINT, HW_IOTDA_INSTANCE_ID, HW_ACCESS_KEY, HW_SECRET_KEY.
provider "iotda" {}
