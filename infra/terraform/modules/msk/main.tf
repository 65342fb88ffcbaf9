data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

# One customer-managed key for the brokers' storage, their logs and the SCRAM secret (MSK
# refuses SCRAM secrets encrypted with the default Secrets Manager key).
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A KMS key policy: Resource "*" is the key itself, and the account root statement is the standard delegation to IAM.
  #checkov:skip=CKV_AWS_111:A KMS key policy: Resource "*" is the key itself (AWS key-policy convention).
  #checkov:skip=CKV_AWS_356:A KMS key policy: Resource "*" is the key itself (AWS key-policy convention).
  statement {
    sid       = "AccountAdmin"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} MSK storage, logs and SCRAM secret"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-msk"
  description = "MSK brokers: SASL/SCRAM over TLS from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "scram" {
  count                        = length(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  description                  = "Kafka SASL/SCRAM over TLS"
  ip_protocol                  = "tcp"
  from_port                    = 9096
  to_port                      = 9096
  referenced_security_group_id = var.client_security_group_ids[count.index]
}

resource "aws_cloudwatch_log_group" "broker" {
  name              = "/aws/msk/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

resource "aws_msk_configuration" "this" {
  name           = var.name
  kafka_versions = [var.kafka_version]
  # Topics are created by `inferstream topology apply` (prod profile: 12 partitions,
  # replication 3, min.insync.replicas 2); nothing is auto-created by a typo.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=3
    min.insync.replicas=2
    num.partitions=12
    unclean.leader.election.enable=false
    offsets.topic.replication.factor=3
    transaction.state.log.replication.factor=3
    transaction.state.log.min.isr=2
  PROPERTIES
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count
  enhanced_monitoring    = "PER_TOPIC_PER_PARTITION"

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.this.id]
    storage_info {
      ebs_storage_info {
        volume_size = var.volume_size_gb
      }
    }
    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  client_authentication {
    unauthenticated = false
    sasl {
      scram = true
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.this.arn
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  open_monitoring {
    prometheus {
      jmx_exporter {
        enabled_in_broker = true
      }
      node_exporter {
        enabled_in_broker = true
      }
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.broker.name
      }
    }
  }

  tags = var.tags
}

# ---- the SCRAM users: generated, stored in Secrets Manager, never in the repo ----

# The workers' principal (User:<scram_username>). Rotation: raise scram_password_version, apply,
# restart the workers.
module "scram_secret" {
  source           = "../generated_secret"
  name             = "AmazonMSK_${var.name}"
  description      = "SASL/SCRAM credentials of the inferstream workers on ${var.name}"
  username         = var.scram_username
  kms_key_id       = aws_kms_key.this.arn
  password_version = var.scram_password_version
  tags             = var.tags
}

# The results API only produces to submissions.<task>: it gets a principal of its own (User:<api
# user>), so the brokers' ACLs (`inferstream topology acls --apply`, run by the prod migrate Job)
# allow it that and nothing else, and a leaked API credential is not the workers' credential.
module "api_secret" {
  source           = "../generated_secret"
  name             = "AmazonMSK_${var.name}-api"
  description      = "SASL/SCRAM credentials of the inferstream results API on ${var.name}"
  username         = var.api_scram_username
  kms_key_id       = aws_kms_key.this.arn
  password_version = var.api_scram_password_version
  tags             = var.tags
}

# State written before the generated_secret module keeps its objects (no destroy/create).
moved {
  from = aws_secretsmanager_secret.scram
  to   = module.scram_secret.aws_secretsmanager_secret.this
}

moved {
  from = aws_secretsmanager_secret_version.scram
  to   = module.scram_secret.aws_secretsmanager_secret_version.this
}

moved {
  from = aws_secretsmanager_secret.api
  to   = module.api_secret.aws_secretsmanager_secret.this
}

moved {
  from = aws_secretsmanager_secret_version.api
  to   = module.api_secret.aws_secretsmanager_secret_version.this
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [module.scram_secret.arn, module.api_secret.arn]
  # The association needs each secret's value: the versions must be written first.
  depends_on = [module.scram_secret, module.api_secret]
}
