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
  default     = "0.18.2"

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

variable "nginx_ingress_version" {
  description = "F5 NGINX Ingress Controller Helm chart version (helm.nginx.com/stable nginx-ingress): class nginx, a Network Load Balancer in front."
  type        = string
  default     = "2.5.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.nginx_ingress_version))
    error_message = "nginx_ingress_version must be an exact chart version (x.y.z)."
  }
}

variable "cert_manager_version" {
  description = "cert-manager Helm chart version (charts.jetstack.io): issues and renews the API's TLS certificate."
  type        = string
  default     = "v1.18.2"

  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+$", var.cert_manager_version))
    error_message = "cert_manager_version must be an exact chart version (vX.Y.Z)."
  }
}

variable "region" {
  description = "AWS region of the cluster (the cluster autoscaler calls the Auto Scaling API there)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region code such as eu-west-1."
  }
}

variable "cluster_name" {
  description = "EKS cluster name (the cluster autoscaler discovers its node groups by it)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.cluster_name))
    error_message = "cluster_name must be a valid EKS cluster name."
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

variable "cluster_autoscaler_version" {
  description = "cluster-autoscaler Helm chart version (kubernetes/autoscaler); its app version should match the cluster's minor version."
  type        = string
  default     = "9.50.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.cluster_autoscaler_version))
    error_message = "cluster_autoscaler_version must be an exact chart version (x.y.z)."
  }
}

variable "gpu_node_labels" {
  description = "Labels of the GPU nodes (module eks output gpu_node_labels): the device plugin's node selector."
  type        = map(string)

  validation {
    condition     = lookup(var.gpu_node_labels, "nvidia.com/gpu.present", "") == "true"
    error_message = "gpu_node_labels must include nvidia.com/gpu.present=true (the device plugin chart's default node affinity needs it)."
  }
}
