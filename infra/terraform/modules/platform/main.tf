# Cluster add-ons the manifests in infra/k8s rely on, installed with the helm provider (root
# examples/platform, applied after examples/complete). The helm provider is not in the offline
# provider mirror, so this module is the one part `terraform validate` cannot check in CI.

resource "helm_release" "keda" {
  name             = "keda"
  namespace        = "keda"
  create_namespace = true
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.keda_version
  atomic           = true
  timeout          = 600
}

resource "helm_release" "nvidia_device_plugin" {
  name             = "nvidia-device-plugin"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = var.nvidia_device_plugin_version
  atomic           = true

  # Only on the GPU node group (tainted nvidia.com/gpu=true:NoSchedule). The chart's default
  # node affinity also stays: it admits nodes labelled nvidia.com/gpu.present=true, which the
  # eks module sets on the GPU node group (no node-feature-discovery needed).
  values = [yamlencode({
    nodeSelector = var.gpu_node_labels
    tolerations  = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  })]
}

# Adds GPU (and CPU) nodes when pods are pending and removes idle ones: without it a scaled-up
# infer Deployment waits on a fixed-size GPU node group.
resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  namespace  = "kube-system"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = var.cluster_autoscaler_version
  atomic     = true

  values = [yamlencode({
    cloudProvider = "aws"
    awsRegion     = var.region
    autoDiscovery = { clusterName = var.cluster_name }
    rbac = {
      serviceAccount = {
        name        = "cluster-autoscaler"
        annotations = { "eks.amazonaws.com/role-arn" = var.cluster_autoscaler_role_arn }
      }
    }
    extraArgs = {
      "balance-similar-node-groups" = true
      "skip-nodes-with-system-pods" = false
      "scale-down-unneeded-time"    = "10m"
      "expander"                    = "least-waste"
    }
  })]
}

resource "helm_release" "external_secrets" {
  name             = "external-secrets"
  namespace        = "external-secrets"
  create_namespace = true
  repository       = "https://charts.external-secrets.io"
  chart            = "external-secrets"
  version          = var.external_secrets_version
  atomic           = true

  values = [yamlencode({
    installCRDs = true
    serviceAccount = {
      name        = "external-secrets"
      annotations = { "eks.amazonaws.com/role-arn" = var.external_secrets_role_arn }
    }
  })]
}

# The Ingress controller: F5's NGINX Ingress Controller (nginx/kubernetes-ingress), maintained,
# with IngressClass nginx. The community ingress-nginx (kubernetes/ingress-nginx) is retired
# upstream (best-effort maintenance ended in March 2026), so it is not installed any more.
resource "helm_release" "nginx_ingress" {
  name             = "nginx-ingress"
  namespace        = "nginx-ingress"
  create_namespace = true
  repository       = "https://helm.nginx.com/stable"
  chart            = "nginx-ingress"
  version          = var.nginx_ingress_version
  atomic           = true

  values = [yamlencode({
    controller = {
      ingressClass = { name = "nginx", create = true, setAsDefaultIngress = false }
      service = {
        annotations = {
          "service.beta.kubernetes.io/aws-load-balancer-type"   = "nlb"
          "service.beta.kubernetes.io/aws-load-balancer-scheme" = "internet-facing"
        }
      }
    }
    prometheus = { create = true }
  })]
}

# Issues the API's TLS certificate (Secret inferstream-api-tls) from the ClusterIssuer in
# infra/k8s/cluster (ACME HTTP-01 through the nginx class) and renews it.
resource "helm_release" "cert_manager" {
  name             = "cert-manager"
  namespace        = "cert-manager"
  create_namespace = true
  repository       = "https://charts.jetstack.io"
  chart            = "cert-manager"
  version          = var.cert_manager_version
  atomic           = true

  values = [yamlencode({ crds = { enabled = true } })]
}
