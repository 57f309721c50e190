variable "name" {
  description = "Name prefix of every resource (`<name_prefix>-<environment>`)."
  type        = string
}

variable "account_id" {
  description = "AWS account id that owns the bronze bucket (guards the S3 target against a foreign bucket)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the replication instance."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (two or more availability zones) of the replication instance."
  type        = list(string)
}

variable "source_cidr_blocks" {
  description = "CIDR blocks the replication instance may reach on the source PostgreSQL port."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key for the replication instance storage, endpoint settings and bronze objects."
  type        = string
}

variable "bronze_bucket_name" {
  description = "Name of the bronze bucket DMS writes to."
  type        = string
}

variable "s3_target_role_arn" {
  description = "Role DMS assumes to write the bronze bucket."
  type        = string
}

variable "secrets_role_arn" {
  description = "Role DMS assumes to read the source credentials secret."
  type        = string
}

variable "source_database" {
  description = "The source PostgreSQL: database name, port and the secret DMS reads its credentials (username, password, host, port) from."
  type = object({
    database_name = string
    port          = number
    secret_arn    = string
  })
}

variable "bronze_contract_file" {
  description = "Path of bronze_contract.json: the S3 target settings are taken from it, unchanged."
  type        = string
}

variable "entities_file" {
  description = "Path of entities.json: the task replicates exactly the entities declared there."
  type        = string
}

variable "settings" {
  description = "Size and behaviour of the replication instance and task."
  type = object({
    instance_class              = optional(string, "dms.t3.medium")
    allocated_storage_gb        = optional(number, 50)
    multi_az                    = optional(bool, false)
    engine_version              = optional(string)
    ssl_mode                    = optional(string, "require")
    certificate_arn             = optional(string)
    heartbeat_frequency_minutes = optional(number, 5)
    start_task                  = optional(bool, false)
    inline_lob_max_size_kb      = optional(number, 64)
  })
  default = {}

  validation {
    condition     = contains(["require", "verify-ca", "verify-full"], var.settings.ssl_mode)
    error_message = "settings.ssl_mode must be require, verify-ca or verify-full: the source endpoint always uses TLS."
  }

  validation {
    condition     = var.settings.ssl_mode == "require" || var.settings.certificate_arn != null
    error_message = "settings.ssl_mode verify-ca and verify-full need settings.certificate_arn: the RDS CA bundle imported with aws_dms_certificate."
  }
}
