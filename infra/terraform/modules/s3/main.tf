data "aws_caller_identity" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  names   = { for b in var.buckets : b => "${var.name}-${b}-${local.account}" }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} S3 buckets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdmin"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${local.account}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
  tags = var.tags
}

# ---- access logs bucket (target of the server access logs of the data buckets) ----

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are not replicated cross-region (audit copies belong in the organisation's log archive).
  #checkov:skip=CKV_AWS_145:S3 server access logging cannot deliver to SSE-KMS buckets; SSE-S3 (AES256) is used.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the log bucket.
  bucket = "${var.name}-access-logs-${local.account}"
  tags   = var.tags
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = 365
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
    ]
  })
}

# ---- data buckets: versioned, SSE-KMS, no public access, TLS only, access-logged ----

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Artifacts are rebuilt from Postgres rows and blobs are re-uploadable; cross-region replication is a DR choice left to the operator.
  #checkov:skip=CKV2_AWS_62:The pipeline is driven by Kafka, not by S3 event notifications.
  for_each = local.names
  bucket   = each.value
  tags     = var.tags
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = aws_s3_bucket.this
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each      = aws_s3_bucket.this
  bucket        = each.value.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  # The API's presigned uploads land in uploads/<sha256>/<token> and are copied to blobs/ once
  # verified; a staging object whose completion is never called is deleted after a day.
  rule {
    id     = "expire-upload-staging"
    status = "Enabled"
    filter {
      prefix = "uploads/"
    }
    expiration {
      days = var.upload_staging_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [each.value.arn, "${each.value.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# ---- workers' credentials ----
# inferstream's object-store client (minio) takes static keys when configured, else the AWS chain
# (IRSA). For clusters without IRSA, an optional IAM user with static keys
# (INFERSTREAM_OBJECT_STORE_ACCESS_KEY/_SECRET_KEY). This user may only use these buckets and
# their key; its keys go to Secrets Manager, from where External Secrets syncs them.

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "Buckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [for b in aws_s3_bucket.this : b.arn]
  }
  statement {
    sid       = "Objects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [for b in aws_s3_bucket.this : "${b.arn}/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

# The results API's own role (IRSA): it stages uploads, verifies them into blobs/ and deletes
# the staging object; it reads blobs and artifacts. It never writes artifacts/, archive/ or
# models/ (the workers' prefixes).
data "aws_iam_policy_document" "api" {
  statement {
    sid       = "Buckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [for b in aws_s3_bucket.this : b.arn]
  }
  statement {
    sid       = "UploadStaging"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [for b in aws_s3_bucket.this : "${b.arn}/uploads/*"]
  }
  statement {
    sid       = "VerifiedBlobs"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [for b in aws_s3_bucket.this : "${b.arn}/blobs/*"]
  }
  statement {
    sid       = "ReadArtifacts"
    actions   = ["s3:GetObject"]
    resources = [for b in aws_s3_bucket.this : "${b.arn}/artifacts/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }
}

resource "aws_iam_group" "app" {
  count = var.create_app_user ? 1 : 0
  name  = "${var.name}-object-store"
}

resource "aws_iam_group_policy" "app" {
  count  = var.create_app_user ? 1 : 0
  name   = "object-store"
  group  = aws_iam_group.app[0].name
  policy = data.aws_iam_policy_document.app.json
}

resource "aws_iam_user" "app" {
  #checkov:skip=CKV_AWS_273:A machine user for the S3 client, which takes static keys only; humans use SSO. Replace with IRSA once the object-store client supports web identity.
  count = var.create_app_user ? 1 : 0
  name  = "${var.name}-object-store"
  tags  = var.tags
}

resource "aws_iam_user_group_membership" "app" {
  count  = var.create_app_user ? 1 : 0
  user   = aws_iam_user.app[0].name
  groups = [aws_iam_group.app[0].name]
}

resource "aws_iam_access_key" "app" {
  count = var.create_app_user ? 1 : 0
  user  = aws_iam_user.app[0].name
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:IAM access keys are rotated by replacing aws_iam_access_key.app (terraform apply -replace); no Lambda rotator is deployed.
  count                   = var.create_app_user ? 1 : 0
  name                    = "${var.name}/s3"
  description             = "Object-store keys of the inferstream workers"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "app" {
  count     = var.create_app_user ? 1 : 0
  secret_id = aws_secretsmanager_secret.app[0].id
  secret_string = jsonencode({
    access_key_id     = aws_iam_access_key.app[0].id
    secret_access_key = aws_iam_access_key.app[0].secret
  })
}
