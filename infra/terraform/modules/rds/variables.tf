variable "name" {
  description = "DB instance identifier and name prefix."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.name))
    error_message = "name must be 2-63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the instance."
  type        = string
}

variable "subnet_ids" {
  description = "Isolated database subnets in at least two availability zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two availability zones."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the EKS nodes)."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL 16 minor version (pgvector is an RDS extension from 16.x on: CREATE EXTENSION vector runs in migration 0001)."
  type        = string
  default     = "16.9"

  validation {
    condition     = can(regex("^16\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be a PostgreSQL 16 version such as 16.9."
  }
}

variable "instance_class" {
  description = "Instance class (memory sizes the HNSW index builds: see maintenance_work_mem_mb)."
  type        = string
  default     = "db.r7g.large"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class (db.*)."
  }
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage in GiB."
  type        = number
  default     = 100

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "allocated_storage_gb must be between 20 and 65536."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 1000

  validation {
    condition     = var.max_allocated_storage_gb >= 20 && var.max_allocated_storage_gb <= 65536
    error_message = "max_allocated_storage_gb must be between 20 and 65536."
  }
}

variable "database_name" {
  description = "Database created on the instance (INFERSTREAM_POSTGRES_DATABASE)."
  type        = string
  default     = "inferstream"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase identifier."
  }
}

variable "username" {
  description = "Master user: only the bootstrap step of the migrate Job uses it (creates the application role); its password is managed and rotated by RDS in Secrets Manager."
  type        = string
  default     = "inferstream"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.username)) && var.username != "postgres"
    error_message = "username must be a lowercase identifier other than postgres."
  }
}

variable "app_username" {
  description = "Role the pods connect as (INFERSTREAM_POSTGRES_USER); it owns the schema objects. Not the master user, whose password rotates."
  type        = string
  default     = "inferstream_app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.app_username)) && var.app_username != "postgres"
    error_message = "app_username must be a lowercase identifier other than postgres."
  }
}

variable "app_password_version" {
  description = "Version of the generated application password: raise it by one to write a new one (then rerun the migrate Job and restart the pods)."
  type        = number
  default     = 1

  validation {
    condition     = var.app_password_version >= 1 && floor(var.app_password_version) == var.app_password_version
    error_message = "app_password_version must be a whole number >= 1."
  }
}

variable "multi_az" {
  description = "Standby in a second availability zone (automatic failover)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35."
  }
}

variable "maintenance_work_mem_mb" {
  description = "maintenance_work_mem in MiB: pgvector HNSW index builds are much faster when the graph fits."
  type        = number
  default     = 1024

  validation {
    condition     = var.maintenance_work_mem_mb >= 64 && var.maintenance_work_mem_mb <= 16384
    error_message = "maintenance_work_mem_mb must be between 64 and 16384."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (turn off deliberately before a destroy)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "api_username" {
  description = "Role the results API connects as: SELECT on results, INSERT on submissions, its own keys/sessions/counters (inferstream db grant-api)."
  type        = string
  default     = "inferstream_api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.api_username)) && var.api_username != "postgres"
    error_message = "api_username must be a lowercase identifier other than postgres."
  }
}

variable "api_password_version" {
  description = "Version of the generated API role password: raise it by one to write a new one (then rerun the migrate Job and restart the API)."
  type        = number
  default     = 1

  validation {
    condition     = var.api_password_version >= 1
    error_message = "api_password_version must be at least 1."
  }
}
