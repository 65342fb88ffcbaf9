terraform {
  required_version = ">= 1.11"

  # Remote state in S3 (partial configuration: terraform init -backend-config=backend.hcl, from
  # backend.hcl.example). S3-native locking (use_lockfile): no DynamoDB table. The state holds
  # no password: every generated secret is written write-only.
  backend "s3" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
