variable "name" {
  description = "Name prefix of every role (`<name_prefix>-<environment>`)."
  type        = string
}

variable "account_id" {
  description = "AWS account id the roles live in."
  type        = string
}

variable "region" {
  description = "AWS region of the deployment (regional service principals and ARNs)."
  type        = string
}

variable "partition" {
  description = "AWS partition for ARNs."
  type        = string
  default     = "aws"
}

variable "kms_key_arn" {
  description = "ARN of the lake key that encrypts the buckets, logs and Glue state."
  type        = string
}

variable "bucket_arns" {
  description = "Lake bucket ARN per key: bronze, silver, gold, scripts, athena_results."
  type        = map(string)

  validation {
    condition     = alltrue([for key in ["bronze", "silver", "gold", "scripts", "athena_results"] : contains(keys(var.bucket_arns), key)])
    error_message = "bucket_arns must hold bronze, silver, gold, scripts and athena_results."
  }
}

variable "source_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the source database credentials, read by DMS."
  type        = string
}

variable "source_secret_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the source secret (null: the AWS-managed Secrets Manager key)."
  type        = string
  default     = null
}

variable "glue_database_names" {
  description = "Names of the Glue catalog databases (bronze, silver, gold) the jobs and analysts use."
  type        = list(string)
}

variable "glue_log_group_prefix" {
  description = "CloudWatch Logs group name prefix the Glue jobs write to (without trailing slash)."
  type        = string
}

variable "athena_workgroup_name" {
  description = "Name of the Athena workgroup analysts may use."
  type        = string
}

variable "athena_results_prefix" {
  description = "Prefix of the analysts' workgroup in the athena_results bucket (e.g. results/analysts/): the analyst role reads and writes only there."
  type        = string
}

variable "lake_formation_enabled" {
  description = "Lake Formation governs silver and gold: the analyst role then gets no direct S3 read of them (reads go through Lake Formation grants)."
  type        = bool
  default     = false
}

variable "analyst_principal_arns" {
  description = "IAM principals allowed to assume the analyst role (empty: the account root, i.e. any IAM identity the account permits)."
  type        = list(string)
  default     = []
}

variable "create_dms_service_roles" {
  description = "Create the account-wide `dms-vpc-role` and `dms-cloudwatch-logs-role` DMS requires (false when the account already has them)."
  type        = bool
  default     = true
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the custom metrics the Glue jobs publish (besides Glue's own)."
  type        = string
}
