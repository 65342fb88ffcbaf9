variable "keda_version" {
  description = "KEDA Helm chart version (kedacore/keda): scales the stage workers on consumer lag."
  type        = string
  default     = "2.17.2"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.keda_version))
    error_message = "keda_version must be an exact chart version (x.y.z)."
  }
}

variable "nvidia_device_plugin_version" {
  description = "NVIDIA device plugin Helm chart version: advertises nvidia.com/gpu on the GPU nodes."
  type        = string
  default     = "0.17.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.nvidia_device_plugin_version))
    error_message = "nvidia_device_plugin_version must be an exact chart version (x.y.z)."
  }
}

variable "external_secrets_version" {
  description = "External Secrets Operator Helm chart version: syncs Secrets Manager into the Secret inferstream-secrets."
  type        = string
  default     = "0.19.2"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.external_secrets_version))
    error_message = "external_secrets_version must be an exact chart version (x.y.z)."
  }
}

variable "external_secrets_role_arn" {
  description = "IRSA role of the External Secrets controller (read access to the inferstream secrets)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.external_secrets_role_arn))
    error_message = "external_secrets_role_arn must be an IAM role ARN."
  }
}

variable "ingress_nginx_version" {
  description = "ingress-nginx Helm chart version (the API Ingress uses class nginx; a Network Load Balancer in front)."
  type        = string
  default     = "4.13.2"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.ingress_nginx_version))
    error_message = "ingress_nginx_version must be an exact chart version (x.y.z)."
  }
}
