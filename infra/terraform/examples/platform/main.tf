# Second root: the in-cluster add-ons of infra/k8s (KEDA, NVIDIA device plugin, cluster
# autoscaler, External Secrets, ingress), applied after examples/complete:
#   terraform -chdir=../complete output -json platform_inputs > terraform.tfvars.json
#   terraform init && terraform apply
# Needs the helm provider (not in the offline mirror CI validates with: docs/deploy.md).

provider "helm" {
  kubernetes {
    host                   = data.aws_eks_cluster.this.endpoint
    cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", var.cluster_name, "--region", var.region]
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

module "platform" {
  source                      = "../../modules/platform"
  region                      = var.region
  cluster_name                = var.cluster_name
  external_secrets_role_arn   = var.external_secrets_role_arn
  cluster_autoscaler_role_arn = var.cluster_autoscaler_role_arn
  gpu_node_labels             = var.gpu_node_labels
}
