output "arn" {
  description = "ARN of the secret."
  value       = aws_secretsmanager_secret.this.arn
}

output "name" {
  description = "Name of the secret."
  value       = aws_secretsmanager_secret.this.name
}

output "version_id" {
  description = "The written version (depend on it where the password must exist first)."
  value       = aws_secretsmanager_secret_version.this.version_id
}
