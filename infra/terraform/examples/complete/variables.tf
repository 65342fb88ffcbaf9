variable "region" {
  description = "AWS region of everything."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as eu-west-1."
  }
}

variable "name" {
  description = "Name of this deployment (prefix of every resource), e.g. inferstream-prod."
  type        = string
  default     = "inferstream-prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name must be 2-25 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the pipeline (the prod overlay's namespace)."
  type        = string
  default     = "inferstream"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a valid Kubernetes namespace name."
  }
}

variable "admin_cidrs" {
  description = "CIDR blocks allowed to the EKS API endpoint (where terraform, helm and kubectl run). Empty keeps the endpoint private: then run terraform from inside the VPC."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidrs must be valid CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "gpu_nodes_max" {
  description = "Most GPU nodes (one GPU each): the ceiling of infer replicas; keep the prod overlay's infer maxReplicaCount at or below it."
  type        = number
  default     = 4

  validation {
    condition     = var.gpu_nodes_max >= 1 && var.gpu_nodes_max <= 12
    error_message = "gpu_nodes_max must be between 1 and 12 (12 = the partitions of the prod topology)."
  }
}

variable "api_host" {
  description = "Public host name of the results API (the Ingress rule and its TLS certificate); a DNS name you own."
  type        = string
  default     = "inferstream.example.com"

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,}$", var.api_host))
    error_message = "api_host must be a lowercase DNS name such as api.example.com."
  }
}

variable "acme_email" {
  description = "Contact address Let's Encrypt registers for the API's certificate (expiry notices)."
  type        = string
  default     = "ops@example.com"

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.acme_email))
    error_message = "acme_email must be an e-mail address."
  }
}

variable "image_tag" {
  description = "Tag of the images pushed to the ECR repositories (immutable tags: a new release is a new tag)."
  type        = string
  default     = "0.1.0"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag."
  }
}

variable "gpu_nodes_min" {
  description = "Fewest GPU nodes the cluster autoscaler keeps (0: none while idle; the first infer replica then waits a few minutes for a node)."
  type        = number
  default     = 1

  validation {
    condition     = var.gpu_nodes_min >= 0 && var.gpu_nodes_min <= var.gpu_nodes_max
    error_message = "gpu_nodes_min must be between 0 and gpu_nodes_max."
  }
}

variable "webhook_secret_version" {
  description = "Version of the generated webhook signing key: raise it by one to write a new key (share it with the receivers first)."
  type        = number
  default     = 1

  validation {
    condition     = var.webhook_secret_version >= 1 && floor(var.webhook_secret_version) == var.webhook_secret_version
    error_message = "webhook_secret_version must be a whole number >= 1."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = { Project = "inferstream" }
}
