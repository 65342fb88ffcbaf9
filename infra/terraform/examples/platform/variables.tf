variable "region" {
  description = "AWS region of the cluster (examples/complete output platform_inputs)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as eu-west-1."
  }
}

variable "cluster_name" {
  description = "EKS cluster name (examples/complete output platform_inputs)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.cluster_name))
    error_message = "cluster_name must be a valid EKS cluster name."
  }
}

variable "external_secrets_role_arn" {
  description = "IRSA role of the External Secrets controller (examples/complete output platform_inputs)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.external_secrets_role_arn))
    error_message = "external_secrets_role_arn must be an IAM role ARN."
  }
}

variable "cluster_autoscaler_role_arn" {
  description = "IRSA role of the cluster autoscaler (examples/complete output platform_inputs)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.cluster_autoscaler_role_arn))
    error_message = "cluster_autoscaler_role_arn must be an IAM role ARN."
  }
}

variable "gpu_node_labels" {
  description = "Labels of the GPU nodes (examples/complete output platform_inputs)."
  type        = map(string)

  validation {
    condition     = lookup(var.gpu_node_labels, "nvidia.com/gpu.present", "") == "true"
    error_message = "gpu_node_labels must include nvidia.com/gpu.present=true."
  }
}
