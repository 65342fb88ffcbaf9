output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "API server endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_ca_certificate" {
  description = "Base64 CA certificate of the API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "node_security_group_id" {
  description = "Security group EKS attaches to the nodes (the cluster security group): clients of MSK and RDS."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA)."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster (IRSA)."
  value       = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

output "gpu_max_nodes" {
  description = "Most GPU nodes: the ceiling of infer replicas."
  value       = var.gpu_scaling.max
}

output "gpu_node_labels" {
  description = "Labels of the GPU nodes: the device plugin's and the GPU infer pods' node selectors match them."
  value       = local.gpu_labels
}
