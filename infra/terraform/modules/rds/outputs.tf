output "address" {
  description = "Hostname of the instance: INFERSTREAM_POSTGRES_HOST."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance: INFERSTREAM_POSTGRES_PORT."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Database name: INFERSTREAM_POSTGRES_DATABASE."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Master user (the bootstrap step of the migrate Job only)."
  value       = aws_db_instance.this.username
}

output "app_username" {
  description = "Application role: INFERSTREAM_POSTGRES_USER of every pod."
  value       = var.app_username
}

output "app_secret_name" {
  description = "Secrets Manager secret with {username, password} of the application role."
  value       = module.app_secret.name
}

output "app_secret_arn" {
  description = "ARN of that secret."
  value       = module.app_secret.arn
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret (managed by RDS) with the master password."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "kms_key_arn" {
  description = "KMS key of the instance and its secret (readers of the secret need kms:Decrypt on it)."
  value       = aws_kms_key.this.arn
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}

output "api_username" {
  description = "The results API's role: INFERSTREAM_POSTGRES_USER of the API pods only."
  value       = var.api_username
}

output "api_secret_name" {
  description = "Secrets Manager secret with {username, password} of the API's role."
  value       = module.api_secret.name
}

output "api_secret_arn" {
  description = "ARN of that secret."
  value       = module.api_secret.arn
}
