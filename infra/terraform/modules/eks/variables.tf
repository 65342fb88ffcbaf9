variable "name" {
  description = "Cluster name and name prefix."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.name))
    error_message = "name must be 2-63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "cluster_version" {
  description = "Kubernetes version. 1.35 is in EKS standard support until 2027-03-27 (1.33 ended 2026-07-29, 1.34 on 2026-12-02; later ones cost extended-support fees): move up a minor version at a time."
  type        = string
  default     = "1.35"

  validation {
    condition     = can(regex("^1\\.(3[5-9]|[4-9][0-9])$", var.cluster_version))
    error_message = "cluster_version must be 1.35 or later (older versions are out of EKS standard support), written like 1.35."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the nodes and the control-plane network interfaces."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two availability zones."
  }
}

variable "endpoint_public_access" {
  description = "Expose the API server endpoint publicly (restricted to public_access_cidrs); false keeps it VPC-only."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDR blocks allowed to the public API endpoint (only with endpoint_public_access)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "public_access_cidrs must be valid CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "cpu_instance_types" {
  description = "Instance types of the CPU node group (enrich, sink, webhooks, the API, KEDA)."
  type        = list(string)
  default     = ["m7i.xlarge"]
}

variable "cpu_scaling" {
  description = "Node counts of the CPU node group."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 2, desired = 3, max = 10 }

  validation {
    condition     = var.cpu_scaling.min >= 1 && var.cpu_scaling.min <= var.cpu_scaling.desired && var.cpu_scaling.desired <= var.cpu_scaling.max
    error_message = "cpu_scaling needs 1 <= min <= desired <= max."
  }
}

variable "gpu_instance_types" {
  description = "Instance types of the GPU node group (one NVIDIA GPU each: one infer replica per node)."
  type        = list(string)
  default     = ["g6.xlarge", "g5.xlarge"]

  validation {
    condition     = alltrue([for t in var.gpu_instance_types : can(regex("^(g4dn|g5|g6|g6e|p4d|p5)\\.", t))])
    error_message = "gpu_instance_types must be NVIDIA GPU instance families (g4dn, g5, g6, g6e, p4d, p5)."
  }
}

variable "gpu_scaling" {
  description = "Node counts of the GPU node group; the cluster autoscaler moves it between min and max (min 0 is allowed: it scales up from zero), and max bounds the infer replicas (KEDA maxReplicaCount in the prod overlay)."
  type        = object({ min = number, desired = number, max = number })
  default     = { min = 1, desired = 1, max = 4 }

  validation {
    condition     = var.gpu_scaling.min >= 0 && var.gpu_scaling.min <= var.gpu_scaling.desired && var.gpu_scaling.desired <= var.gpu_scaling.max
    error_message = "gpu_scaling needs 0 <= min <= desired <= max."
  }
}

variable "node_disk_gb" {
  description = "Root volume size of every node in GiB (the GPU image is several GiB)."
  type        = number
  default     = 100

  validation {
    condition     = var.node_disk_gb >= 50
    error_message = "node_disk_gb must be at least 50."
  }
}

variable "log_retention_days" {
  description = "Days to keep control-plane logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
