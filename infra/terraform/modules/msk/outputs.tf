output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_sasl_scram" {
  description = "Bootstrap servers for SASL/SCRAM over TLS (port 9096): INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "security_group_id" {
  description = "Security group of the brokers."
  value       = aws_security_group.this.id
}

output "scram_secret_arn" {
  description = "Secrets Manager secret with {username, password} of the SCRAM user."
  value       = module.scram_secret.arn
}

output "scram_secret_name" {
  description = "Name of the SCRAM secret (AmazonMSK_<name>)."
  value       = module.scram_secret.name
}

output "kms_key_arn" {
  description = "KMS key of the cluster and its secret (readers of the secret need kms:Decrypt on it)."
  value       = aws_kms_key.this.arn
}

output "api_scram_secret_arn" {
  description = "Secrets Manager secret with {username, password} of the results API's principal."
  value       = module.api_secret.arn
}

output "api_scram_secret_name" {
  description = "Name of that secret (for the API's ExternalSecret)."
  value       = module.api_secret.name
}

output "principals" {
  description = "Kafka principals: the workers' and the results API's (for the ACLs)."
  value       = { workers = "User:${var.scram_username}", api = "User:${var.api_scram_username}" }
}
