data "aws_caller_identity" "current" {}

resource "aws_kms_key" "this" {
  description             = "${var.name} RDS storage, Performance Insights and master secret"
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
  tags = var.tags
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-rds"
  description = "PostgreSQL from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  count                        = length(var.client_security_group_ids)
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL (TLS enforced by rds.force_ssl)"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.client_security_group_ids[count.index]
}

# Postgres 16 tuned for pgvector: TLS only, statement logging for slow queries, memory for
# HNSW builds. The extension itself is created by `inferstream db migrate` (0001_foundation).
resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-pg16"
  family      = "postgres16"
  description = "inferstream: PostgreSQL 16 + pgvector"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }
  parameter {
    name  = "maintenance_work_mem"
    value = tostring(var.maintenance_work_mem_mb * 1024)
  }
  parameter {
    name  = "max_parallel_maintenance_workers"
    value = "4"
  }
  tags = var.tags
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  db_name  = var.database_name
  username = var.username
  # RDS generates and rotates the password in Secrets Manager: it never enters the state.
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.this.arn

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  iam_database_authentication_enabled = true
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  auto_minor_version_upgrade          = true
  apply_immediately                   = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  tags = var.tags
}

# ---- the application role ----
# The master password above rotates every 7 days (RDS-managed), and a pod holding an old copy
# cannot open new connections until its Secret is refreshed and it restarts. So the pods never
# use the master user: a dedicated role (var.app_username) with its own password, created and
# kept in sync by the bootstrap step of the migrate Job (the only user of the master secret,
# read fresh on every run). The password is generated ephemerally and written write-only: it is
# in neither the plan nor the state. Rotate it deliberately: raise app_password_version, apply,
# rerun the migrate Job, restart the workers.
module "app_secret" {
  source           = "../generated_secret"
  name             = "${var.name}/postgres-app"
  description      = "Password of the inferstream application role ${var.app_username} on ${var.name}"
  username         = var.app_username
  kms_key_id       = aws_kms_key.this.arn
  password_version = var.app_password_version
  tags             = var.tags
}

# ---- the results API's role ----
# The API gets a role of its own (var.api_username): it reads results and writes submissions,
# keys, web sessions and rate-limit counters only (`inferstream db grant-api`, run by the
# migrate Job after the migrations). A stolen API credential cannot change results, offsets or
# the schema. Created by the same bootstrap step; rotated like the application role.
module "api_secret" {
  source           = "../generated_secret"
  name             = "${var.name}/postgres-api"
  description      = "Password of the results API's role ${var.api_username} on ${var.name}"
  username         = var.api_username
  kms_key_id       = aws_kms_key.this.arn
  password_version = var.api_password_version
  tags             = var.tags
}

# State written before the generated_secret module keeps its objects (no destroy/create).
moved {
  from = aws_secretsmanager_secret.app
  to   = module.app_secret.aws_secretsmanager_secret.this
}

moved {
  from = aws_secretsmanager_secret_version.app
  to   = module.app_secret.aws_secretsmanager_secret_version.this
}

moved {
  from = aws_secretsmanager_secret.api
  to   = module.api_secret.aws_secretsmanager_secret.this
}

moved {
  from = aws_secretsmanager_secret_version.api
  to   = module.api_secret.aws_secretsmanager_secret_version.this
}
