terraform {
  required_providers {
    iotda = {
      source = "iotda-terraform/iotda"
    }
  }
}

# A standard or enterprise instance: the endpoint is the instance's access
# address, which selects derived signing (V11-HMAC-SHA256) automatically.
# Credentials are best taken from HW_ACCESS_KEY and HW_SECRET_KEY.
provider "iotda" {
  endpoint    = "https://a1b2c3d4e5.st1.iotda-app.cn-north-4.myhuaweicloud.com"
  project_id  = "0f5c8f3ae1c24b0b9c0f3f1f2a7d6e01"
  instance_id = "6f3f0c5e-8a2b-4c1d-9e7f-0a1b2c3d4e5f"
}
