variable "name" {
  description = "Cluster name; also names the SCRAM secret (AmazonMSK_<name>, the prefix MSK requires)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.name))
    error_message = "name must be 2-63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the brokers."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the brokers, one per availability zone (2 or 3)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && length(var.subnet_ids) <= 3
    error_message = "MSK needs 2 or 3 client subnets in different availability zones."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach the brokers on 9096 (SASL/SCRAM over TLS): the EKS nodes."
  type        = list(string)
}

variable "kafka_version" {
  description = "Apache Kafka version of the cluster (KRaft-capable versions are 3.7 and later)."
  type        = string
  default     = "3.8.x"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.([0-9]+|x)(\\.kraft)?$", var.kafka_version))
    error_message = "kafka_version must look like 3.8.x or 3.7.x.kraft."
  }
}

variable "broker_count" {
  description = "Number of brokers: a multiple of the subnet count. The prod topology (replication 3, min.insync 2) needs at least 3."
  type        = number
  default     = 3

  validation {
    condition     = var.broker_count >= 3
    error_message = "broker_count must be at least 3 (replication factor 3 with min.insync.replicas 2)."
  }
}

variable "instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.m7g.large"

  validation {
    condition     = startswith(var.instance_type, "kafka.")
    error_message = "instance_type must be an MSK broker type (kafka.*)."
  }
}

variable "volume_size_gb" {
  description = "EBS storage per broker in GiB (retention: submissions 7d, results 14d, deadletter 30d)."
  type        = number
  default     = 500

  validation {
    condition     = var.volume_size_gb >= 1 && var.volume_size_gb <= 16384
    error_message = "volume_size_gb must be between 1 and 16384."
  }
}

variable "scram_username" {
  description = "SASL/SCRAM user of the inferstream workers (its password is generated and kept in Secrets Manager)."
  type        = string
  default     = "inferstream"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_.-]{2,63}$", var.scram_username))
    error_message = "scram_username must be 3-64 letters, digits, '_', '.' or '-'."
  }
}

variable "scram_password_version" {
  description = "Version of the generated SCRAM password: raise it by one to generate and store a new password (write-only, never in the state)."
  type        = number
  default     = 1

  validation {
    condition     = var.scram_password_version >= 1 && floor(var.scram_password_version) == var.scram_password_version
    error_message = "scram_password_version must be a whole number >= 1."
  }
}

variable "log_retention_days" {
  description = "Days to keep broker logs in CloudWatch."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "api_scram_username" {
  description = "SASL/SCRAM user of the results API (produces to submissions.* only; its password is generated and kept in Secrets Manager)."
  type        = string
  default     = "inferstream-api"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_.-]{2,63}$", var.api_scram_username))
    error_message = "api_scram_username must be 3-64 letters, digits, '_', '.' or '-'."
  }
}

variable "api_scram_password_version" {
  description = "Version of the API's generated SCRAM password: raise it by one to store a new one (then restart the API)."
  type        = number
  default     = 1

  validation {
    condition     = var.api_scram_password_version >= 1
    error_message = "api_scram_password_version must be at least 1."
  }
}
