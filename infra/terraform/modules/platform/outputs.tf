output "keda_namespace" {
  description = "Namespace of KEDA."
  value       = helm_release.keda.namespace
}

output "external_secrets_namespace" {
  description = "Namespace of the External Secrets Operator."
  value       = helm_release.external_secrets.namespace
}

output "ingress_namespace" {
  description = "Namespace of the Ingress controller (the API NetworkPolicy admits traffic from it)."
  value       = helm_release.nginx_ingress.namespace
}
