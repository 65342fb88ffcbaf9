# The whole cloud path: VPC, MSK (SASL/SCRAM + TLS), RDS Postgres 16 + pgvector, S3, EKS with
# CPU and GPU node groups, IRSA roles, ECR, and KEDA / device plugin / External Secrets /
# ingress-nginx via helm. Then `kubectl apply -k infra/k8s/overlays/prod` (docs/deploy.md).

provider "aws" {
  region = var.region
  default_tags {
    tags = var.tags
  }
}

provider "helm" {
  kubernetes {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_ca_certificate)
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}

data "aws_caller_identity" "current" {}

module "vpc" {
  source           = "../../modules/vpc"
  name             = var.name
  eks_cluster_name = var.name
  tags             = var.tags
}

module "eks" {
  source                 = "../../modules/eks"
  name                   = var.name
  subnet_ids             = module.vpc.private_subnet_ids
  endpoint_public_access = length(var.admin_cidrs) > 0
  public_access_cidrs    = var.admin_cidrs
  gpu_scaling            = { min = 1, desired = 1, max = var.gpu_nodes_max }
  tags                   = var.tags
}

module "msk" {
  source                    = "../../modules/msk"
  name                      = var.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.private_subnet_ids
  client_security_group_ids = [module.eks.node_security_group_id]
  tags                      = var.tags
}

module "rds" {
  source                    = "../../modules/rds"
  name                      = var.name
  vpc_id                    = module.vpc.vpc_id
  subnet_ids                = module.vpc.database_subnet_ids
  client_security_group_ids = [module.eks.node_security_group_id]
  tags                      = var.tags
}

module "s3" {
  source = "../../modules/s3"
  name   = var.name
  tags   = var.tags
}

# ---- the webhook signing key (INFERSTREAM_WEBHOOK_SECRET): generated, in Secrets Manager ----

resource "aws_kms_key" "app" {
  description             = "${var.name} application secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdmin"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "random_password" "webhook" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret" "webhook" {
  #checkov:skip=CKV2_AWS_57:The webhook key is shared with the receivers; rotate it together with them (taint random_password.webhook), not on a schedule.
  name                    = "${var.name}/webhook"
  description             = "HMAC key of the webhook signatures (INFERSTREAM_WEBHOOK_SECRET)"
  kms_key_id              = aws_kms_key.app.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "webhook" {
  secret_id     = aws_secretsmanager_secret.webhook.id
  secret_string = jsonencode({ secret = random_password.webhook.result })
}

# ---- IAM roles for service accounts ----

module "irsa_workers" {
  source            = "../../modules/irsa"
  name              = "${var.name}-workers"
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer_url   = module.eks.oidc_issuer_url
  namespace         = var.namespace
  service_account   = "inferstream-worker"
  policy_json       = module.s3.access_policy_json
  tags              = var.tags
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid     = "ReadInferstreamSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [
      module.msk.scram_secret_arn,
      module.rds.master_user_secret_arn,
      module.s3.app_secret_arn,
      aws_secretsmanager_secret.webhook.arn,
    ]
  }
  statement {
    sid       = "DecryptThem"
    actions   = ["kms:Decrypt"]
    resources = [module.msk.kms_key_arn, module.rds.kms_key_arn, module.s3.kms_key_arn, aws_kms_key.app.arn]
  }
}

module "irsa_external_secrets" {
  source            = "../../modules/irsa"
  name              = "${var.name}-external-secrets"
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer_url   = module.eks.oidc_issuer_url
  namespace         = "external-secrets"
  service_account   = "external-secrets"
  policy_json       = data.aws_iam_policy_document.external_secrets.json
  tags              = var.tags
}

# ---- images ----

resource "aws_ecr_repository" "this" {
  for_each             = toset(["inferstream", "inferstream-gpu"])
  name                 = each.value
  image_tag_mutability = "IMMUTABLE"
  force_delete         = false
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.app.arn
  }
}

# ---- cluster add-ons (KEDA, NVIDIA device plugin, External Secrets, ingress-nginx) ----

module "platform" {
  source                    = "../../modules/platform"
  external_secrets_role_arn = module.irsa_external_secrets.role_arn
  depends_on                = [module.eks]
}
