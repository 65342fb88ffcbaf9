output "ingress_namespace" {
  description = "Namespace of the ingress controller (the API NetworkPolicy admits traffic from it)."
  value       = module.platform.ingress_namespace
}
