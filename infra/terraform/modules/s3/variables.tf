variable "name" {
  description = "Prefix of the bucket names (<name>-<bucket>-<account id>)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lowercase letters, digits or hyphens."
  }
}

variable "buckets" {
  description = "Buckets to create (artifacts: INFERSTREAM_OBJECT_STORE_BUCKET; blobs/ and artifacts/ prefixes live in it)."
  type        = list(string)
  default     = ["artifacts"]

  validation {
    condition     = length(var.buckets) > 0 && alltrue([for b in var.buckets : can(regex("^[a-z0-9][a-z0-9-]{1,20}$", b))])
    error_message = "buckets must be short lowercase names (letters, digits, hyphens)."
  }
}

variable "noncurrent_version_days" {
  description = "Days to keep noncurrent object versions (undo window for overwrites and deletes)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "create_app_user" {
  description = "Create an IAM user with static keys for the workers and store them in Secrets Manager (only for clusters without IRSA; by default the workers and the API use their IRSA roles through the AWS credential chain, see docs/deploy.md)."
  type        = bool
  default     = false
}

variable "upload_staging_days" {
  description = "Days after which an API upload staging object (uploads/ prefix) that was never completed is deleted."
  type        = number
  default     = 1

  validation {
    condition     = var.upload_staging_days >= 1 && var.upload_staging_days <= 7
    error_message = "upload_staging_days must be 1 to 7 (a staging object is a presigned PUT's landing place)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
