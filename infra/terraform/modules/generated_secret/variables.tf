variable "name" {
  description = "Secret name (MSK SCRAM secrets must start with AmazonMSK_)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_+=.@-]{1,512}$", var.name))
    error_message = "name must be 1-512 letters, digits or /_+=.@- (a Secrets Manager name)."
  }
}

variable "description" {
  description = "What the credential is for."
  type        = string

  validation {
    condition     = length(trimspace(var.description)) > 0
    error_message = "description must say what the credential is for."
  }
}

variable "username" {
  description = "The principal's user name, stored beside the generated password."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$", var.username))
    error_message = "username must be 1-64 letters, digits, '_', '.' or '-', starting with a letter."
  }
}

variable "kms_key_id" {
  description = "Customer-managed KMS key ARN the secret is encrypted with (MSK requires one)."
  type        = string

  validation {
    condition     = startswith(var.kms_key_id, "arn:")
    error_message = "kms_key_id must be a KMS key ARN."
  }
}

variable "password_version" {
  description = "Raise it by one to generate and write a new password (write-only, never in the state); then restart what uses it."
  type        = number
  default     = 1

  validation {
    condition     = var.password_version >= 1 && floor(var.password_version) == var.password_version
    error_message = "password_version must be a whole number >= 1."
  }
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can be restored (7-30)."
  type        = number
  default     = 7

  validation {
    condition     = var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30
    error_message = "recovery_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags for the secret."
  type        = map(string)
  default     = {}
}
