output "bucket_names" {
  description = "Bucket name per entry of var.buckets (artifacts: INFERSTREAM_OBJECT_STORE_BUCKET)."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "bucket_arns" {
  description = "Bucket ARN per entry of var.buckets."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

output "kms_key_arn" {
  description = "KMS key of the buckets and of the keys secret."
  value       = aws_kms_key.this.arn
}

output "app_secret_name" {
  description = "Secrets Manager secret with {access_key_id, secret_access_key} of the workers (null without create_app_user)."
  value       = var.create_app_user ? aws_secretsmanager_secret.app[0].name : null
}

output "app_secret_arn" {
  description = "ARN of that secret (null without create_app_user)."
  value       = var.create_app_user ? aws_secretsmanager_secret.app[0].arn : null
}

output "access_policy_json" {
  description = "IAM policy for read/write on the buckets (for an IRSA role)."
  value       = data.aws_iam_policy_document.app.json
}

output "api_access_policy_json" {
  description = "IAM policy of the results API (for its own IRSA role): uploads/ staging, blobs/, read artifacts/."
  value       = data.aws_iam_policy_document.api.json
}
