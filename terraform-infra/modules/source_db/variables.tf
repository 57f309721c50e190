variable "name" {
  description = "Name prefix of every resource (`<name_prefix>-<environment>`)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the database (and of the DMS replication instance)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two or more availability zones) for the database subnet group."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the storage, the credentials secret and Performance Insights."
  type        = string
}

variable "client_security_groups" {
  description = "Security groups allowed to connect on the PostgreSQL port, by a static name (e.g. `dms`)."
  type        = map(string)
  default     = {}
}

variable "database" {
  description = "The source PostgreSQL 15: create an RDS instance (`create = true`) or describe an existing server (`existing`)."
  type = object({
    create                       = optional(bool, true)
    engine_version               = optional(string, "15")
    instance_class               = optional(string, "db.t4g.medium")
    allocated_storage_gb         = optional(number, 20)
    max_allocated_storage_gb     = optional(number, 100)
    multi_az                     = optional(bool, false)
    database_name                = optional(string, "saas")
    username                     = optional(string, "lakehouse")
    port                         = optional(number, 5432)
    backup_retention_days        = optional(number, 7)
    deletion_protection          = optional(bool, true)
    skip_final_snapshot          = optional(bool, false)
    performance_insights_enabled = optional(bool, true)
    monitoring_interval_seconds  = optional(number, 60)
    max_slot_wal_keep_size_mb    = optional(number, 5120)
    # Bump to rotate the master password: a new one is generated and written, write-only, to both
    # the instance and the secret, so it never lands in the Terraform state.
    password_version = optional(number, 1)
    existing = optional(object({
      host               = string
      port               = optional(number, 5432)
      database_name      = string
      secret_arn         = string
      secret_kms_key_arn = optional(string)
    }))
  })
  default = {}

  validation {
    condition     = var.database.create != (var.database.existing != null)
    error_message = "Set database.create = true, or database.create = false together with database.existing (host, database_name, secret_arn)."
  }
}
