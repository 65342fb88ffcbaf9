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
  description = "Create an IAM user with keys for the workers and store them in Secrets Manager (for clusters without IRSA; with false the workers use their IRSA role through the AWS credential chain, see docs/deploy.md)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
