output "cluster_name" {
  description = "EKS cluster: aws eks update-kubeconfig --name <this> --region <region>."
  value       = module.eks.cluster_name
}

output "ecr_repositories" {
  description = "Where to push the CPU and GPU images."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "irsa_role_arn" {
  description = "Role of the inferstream-worker service account (prod overlay serviceaccount.yaml)."
  value       = module.irsa_workers.role_arn
}

output "api_irsa_role_arn" {
  description = "Role of the inferstream-api service account (the results API's S3 prefixes only)."
  value       = module.irsa_api.role_arn
}

output "kafka_bootstrap_servers" {
  description = "MSK bootstrap servers (SASL/SCRAM over TLS, port 9096)."
  value       = module.msk.bootstrap_brokers_sasl_scram
}

output "postgres_host" {
  description = "RDS endpoint."
  value       = module.rds.address
}

output "artifacts_bucket" {
  description = "S3 bucket of blobs and artifacts."
  value       = module.s3.bucket_names["artifacts"]
}

# Ready-made files for the prod overlay: no value here is a secret.
output "k8s_config_patch" {
  description = "infra/k8s/overlays/prod/config.yaml for this deployment."
  value = join("\n", [
    "# Written by terraform output k8s_config_patch (infra/terraform/examples/complete).",
    yamlencode({
      apiVersion = "v1"
      kind       = "ConfigMap"
      metadata   = { name = "inferstream-config" }
      data = {
        INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS           = module.msk.bootstrap_brokers_sasl_scram
        INFERSTREAM_KAFKA_SECURITY_PROTOCOL           = "SASL_SSL"
        INFERSTREAM_KAFKA_SASL_MECHANISM              = "SCRAM-SHA-512"
        INFERSTREAM_KAFKA_SSL_CA_LOCATION             = "/etc/ssl/certs/ca-certificates.crt"
        INFERSTREAM_KAFKA_SSL_ENDPOINT_IDENTIFICATION = "https"
        INFERSTREAM_POSTGRES_HOST                     = module.rds.address
        INFERSTREAM_POSTGRES_USER                     = module.rds.app_username
        INFERSTREAM_POSTGRES_DATABASE                 = module.rds.database_name
        INFERSTREAM_POSTGRES_SSLMODE                  = "verify-full"
        INFERSTREAM_POSTGRES_SSLROOTCERT              = "/opt/inferstream/certs/rds-global-bundle.pem"
        INFERSTREAM_POSTGRES_POOL_MAX_SIZE            = "10"
        INFERSTREAM_OBJECT_STORE_ENDPOINT             = "s3.${var.region}.amazonaws.com"
        INFERSTREAM_OBJECT_STORE_SECURE               = "true"
        INFERSTREAM_OBJECT_STORE_REGION               = var.region
        INFERSTREAM_OBJECT_STORE_BUCKET               = module.s3.bucket_names["artifacts"]
        INFERSTREAM_API_TLS_ENABLED                   = "true"
        INFERSTREAM_API_CORS_ORIGINS                  = ""
        INFERSTREAM_TOPOLOGY_ENVIRONMENT              = "prod"
      }
    }),
  ])
}

output "k8s_external_secret" {
  description = "infra/k8s/overlays/prod/external-secret.yaml for this deployment (secret names only)."
  value = join("\n", [
    "# Written by terraform output k8s_external_secret (infra/terraform/examples/complete).",
    yamlencode({
      apiVersion = "external-secrets.io/v1"
      kind       = "ExternalSecret"
      metadata   = { name = "inferstream-secrets" }
      spec = {
        refreshInterval = "1h"
        secretStoreRef  = { kind = "ClusterSecretStore", name = "aws-secrets-manager" }
        target          = { name = "inferstream-secrets", creationPolicy = "Owner" }
        data = [
          { secretKey = "INFERSTREAM_KAFKA_SASL_USERNAME", remoteRef = { key = module.msk.scram_secret_name, property = "username" } },
          { secretKey = "INFERSTREAM_KAFKA_SASL_PASSWORD", remoteRef = { key = module.msk.scram_secret_name, property = "password" } },
          { secretKey = "INFERSTREAM_POSTGRES_PASSWORD", remoteRef = { key = module.rds.app_secret_name, property = "password" } },
          { secretKey = "INFERSTREAM_WEBHOOK_SECRET", remoteRef = { key = aws_secretsmanager_secret.webhook.name, property = "secret" } },
        ]
      }
    }),
    "---",
    # The results API's own credentials: its Kafka principal and its Postgres role; no webhook
    # key, no worker credential; S3 through its IRSA role.
    yamlencode({
      apiVersion = "external-secrets.io/v1"
      kind       = "ExternalSecret"
      metadata   = { name = "inferstream-api-secrets" }
      spec = {
        refreshInterval = "1h"
        secretStoreRef  = { kind = "ClusterSecretStore", name = "aws-secrets-manager" }
        target          = { name = "inferstream-api-secrets", creationPolicy = "Owner" }
        data = [
          { secretKey = "INFERSTREAM_KAFKA_SASL_USERNAME", remoteRef = { key = module.msk.api_scram_secret_name, property = "username" } },
          { secretKey = "INFERSTREAM_KAFKA_SASL_PASSWORD", remoteRef = { key = module.msk.api_scram_secret_name, property = "password" } },
          { secretKey = "INFERSTREAM_POSTGRES_PASSWORD", remoteRef = { key = module.rds.api_secret_name, property = "password" } },
        ]
      }
    }),
    "---",
    # The master credentials, for the bootstrap step of the migrate Job only (a Secret of its
    # own: no worker sees it). Refreshed often: RDS rotates the password every 7 days.
    yamlencode({
      apiVersion = "external-secrets.io/v1"
      kind       = "ExternalSecret"
      metadata   = { name = "inferstream-db-admin" }
      spec = {
        refreshInterval = "5m"
        secretStoreRef  = { kind = "ClusterSecretStore", name = "aws-secrets-manager" }
        target          = { name = "inferstream-db-admin", creationPolicy = "Owner" }
        data = [
          { secretKey = "PGUSER", remoteRef = { key = module.rds.master_user_secret_arn, property = "username" } },
          { secretKey = "PGPASSWORD", remoteRef = { key = module.rds.master_user_secret_arn, property = "password" } },
        ]
      }
    }),
  ])
}

output "k8s_site_component" {
  description = "infra/k8s/overlays/prod/site/kustomization.yaml: this deployment's images, IRSA role ARN, API host and region (no secret)."
  value = join("\n", [
    "# Written by terraform output k8s_site_component (infra/terraform/examples/complete).",
    yamlencode({
      apiVersion = "kustomize.config.k8s.io/v1alpha1"
      kind       = "Component"
      images = [
        { name = "inferstream", newName = aws_ecr_repository.this["inferstream"].repository_url, newTag = var.image_tag },
        { name = "inferstream-gpu", newName = aws_ecr_repository.this["inferstream-gpu"].repository_url, newTag = var.image_tag },
      ]
      patches = [
        {
          target = { kind = "ServiceAccount", name = "inferstream-worker" }
          patch = yamlencode([{
            op    = "add"
            path  = "/metadata/annotations"
            value = { "eks.amazonaws.com/role-arn" = module.irsa_workers.role_arn }
          }])
        },
        {
          target = { kind = "ServiceAccount", name = "inferstream-api" }
          patch = yamlencode([{
            op    = "add"
            path  = "/metadata/annotations"
            value = { "eks.amazonaws.com/role-arn" = module.irsa_api.role_arn }
          }])
        },
        {
          target = { kind = "Ingress", name = "api" }
          patch = yamlencode([
            { op = "replace", path = "/spec/rules/0/host", value = var.api_host },
            { op = "replace", path = "/spec/tls/0/hosts/0", value = var.api_host },
          ])
        },
      ]
    }),
  ])
}

output "cluster_secret_store" {
  description = "infra/k8s/cluster/secret-store.yaml for this region."
  value = join("\n", [
    "# Written by terraform output cluster_secret_store (infra/terraform/examples/complete).",
    yamlencode({
      apiVersion = "external-secrets.io/v1"
      kind       = "ClusterSecretStore"
      metadata   = { name = "aws-secrets-manager" }
      spec       = { provider = { aws = { service = "SecretsManager", region = var.region } } }
    }),
  ])
}

output "cluster_issuer" {
  description = "infra/k8s/cluster/cluster-issuer.yaml: Let's Encrypt (ACME HTTP-01 through the nginx class) with your contact address."
  value = join("\n", [
    "# Written by terraform output cluster_issuer (infra/terraform/examples/complete).",
    yamlencode({
      apiVersion = "cert-manager.io/v1"
      kind       = "ClusterIssuer"
      metadata   = { name = "letsencrypt" }
      spec = {
        acme = {
          server              = "https://acme-v02.api.letsencrypt.org/directory"
          email               = var.acme_email
          privateKeySecretRef = { name = "letsencrypt-account-key" }
          solvers             = [{ http01 = { ingress = { ingressClassName = "nginx" } } }]
        }
      }
    }),
  ])
}

output "platform_inputs" {
  description = "Inputs of the second root (../platform): terraform output -json platform_inputs > ../platform/terraform.tfvars.json"
  value = {
    region                      = var.region
    cluster_name                = module.eks.cluster_name
    external_secrets_role_arn   = module.irsa_external_secrets.role_arn
    cluster_autoscaler_role_arn = module.irsa_cluster_autoscaler.role_arn
    gpu_node_labels             = module.eks.gpu_node_labels
  }
}

output "k8s_api_config" {
  description = "infra/k8s/overlays/prod/api-config.yaml: the results API's Postgres role and the proxies it trusts (the private subnets, where the ingress controller's pods get their IPs)."
  value = join("\n", [
    "# Written by terraform output k8s_api_config (infra/terraform/examples/complete).",
    yamlencode({
      apiVersion = "v1"
      kind       = "ConfigMap"
      metadata   = { name = "inferstream-api-config" }
      data = {
        FORWARDED_ALLOW_IPS       = join(",", module.vpc.subnet_cidrs.private)
        INFERSTREAM_POSTGRES_USER = module.rds.api_username
      }
    }),
  ])
}
