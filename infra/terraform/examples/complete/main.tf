# The whole AWS side of the cloud path: VPC, MSK (SASL/SCRAM + TLS), RDS Postgres 16 + pgvector,
# S3, EKS with CPU and GPU node groups (VPC CNI network policies, metrics-server), IRSA roles and
# ECR. Only the AWS provider: `terraform validate` runs offline. The in-cluster add-ons (KEDA,
# NVIDIA device plugin, cluster autoscaler, External Secrets, ingress) are the second root,
# ../platform, applied after this one; then `kubectl apply -k infra/k8s/overlays/prod`.

provider "aws" {
  region = var.region
  default_tags {
    tags = var.tags
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
  gpu_scaling            = { min = var.gpu_nodes_min, desired = var.gpu_nodes_min, max = var.gpu_nodes_max }
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

# Ephemeral and write-only: the key is in neither the plan nor the state.
ephemeral "aws_secretsmanager_random_password" "webhook" {
  password_length     = 48
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "webhook" {
  #checkov:skip=CKV2_AWS_57:The webhook key is shared with the receivers; rotate it together with them (raise webhook_secret_version), not on a schedule.
  name                    = "${var.name}/webhook"
  description             = "HMAC key of the webhook signatures (INFERSTREAM_WEBHOOK_SECRET)"
  kms_key_id              = aws_kms_key.app.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "webhook" {
  secret_id                = aws_secretsmanager_secret.webhook.id
  secret_string_wo         = jsonencode({ secret = ephemeral.aws_secretsmanager_random_password.webhook.random_password })
  secret_string_wo_version = var.webhook_secret_version
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

# The results API's own role: its S3 prefixes only (uploads/ staging, blobs/, read artifacts/).
module "irsa_api" {
  source            = "../../modules/irsa"
  name              = "${var.name}-api"
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer_url   = module.eks.oidc_issuer_url
  namespace         = var.namespace
  service_account   = "inferstream-api"
  policy_json       = module.s3.api_access_policy_json
  tags              = var.tags
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid     = "ReadInferstreamSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    # The s3 module's static-key secret exists only with create_app_user (off: IRSA).
    resources = compact([
      module.msk.scram_secret_arn,
      module.msk.api_scram_secret_arn,
      module.rds.master_user_secret_arn,
      module.rds.app_secret_arn,
      module.rds.api_secret_arn,
      module.s3.app_secret_arn,
      aws_secretsmanager_secret.webhook.arn,
    ])
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

# ---- the cluster autoscaler's role (the add-on itself is installed by ../platform) ----
# Scales the CPU and GPU node groups between their min and max when pods are pending (a GPU
# infer replica that finds no free GPU) and removes idle nodes. It may change only the Auto
# Scaling groups of this cluster (the tag EKS puts on its node groups' groups).

data "aws_iam_policy_document" "cluster_autoscaler" {
  statement {
    sid = "Describe"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
      "eks:DescribeNodegroup",
    ]
    resources = ["*"] #checkov:skip=CKV_AWS_356:Describe calls accept no resource-level permissions.
  }
  statement {
    sid       = "ScaleThisClustersGroups"
    actions   = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${module.eks.cluster_name}"
      values   = ["owned"]
    }
  }
}

module "irsa_cluster_autoscaler" {
  source            = "../../modules/irsa"
  name              = "${var.name}-cluster-autoscaler"
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer_url   = module.eks.oidc_issuer_url
  namespace         = "kube-system"
  service_account   = "cluster-autoscaler"
  policy_json       = data.aws_iam_policy_document.cluster_autoscaler.json
  tags              = var.tags
}
