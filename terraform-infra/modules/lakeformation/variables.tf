variable "name" {
  description = "Name prefix of every resource (`<name_prefix>-<environment>`)."
  type        = string
}

variable "account_id" {
  description = "Account id of the Data Catalog that holds the lake databases."
  type        = string
}

variable "partition" {
  description = "AWS partition for ARNs."
  type        = string
  default     = "aws"
}

variable "manage_settings" {
  description = "Manage the account's data lake settings (administrators, no IAMAllowedPrincipals defaults). They are account-wide: with several environments in one account, exactly one sets this."
  type        = bool
  default     = true
}

variable "admin_arns" {
  description = "IAM principals that administer the data lake and read every tenant's rows (SELECT on every silver and gold table)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.admin_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "admin_arns must be IAM role or user ARNs (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "terraform_principal_arn" {
  description = "IAM principal that runs Terraform (the issuer of the caller's session); it stays a data lake administrator so that it can keep managing the grants."
  type        = string
}

variable "registered_bucket_arns" {
  description = "Buckets registered with Lake Formation (silver, gold), by key: their reads through the catalog use credentials Lake Formation vends."
  type        = map(string)
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the registered buckets."
  type        = string
}

variable "database_names" {
  description = "Every lake database (bronze, silver, gold): the pipeline may create and alter their tables."
  type        = list(string)
}

variable "curated_database_names" {
  description = "The tenant-partitioned databases (silver, gold) the administrators read."
  type        = list(string)
}

variable "pipeline_role_arn" {
  description = "Role of the Glue jobs and crawlers: the only non-administrator with table-wide access."
  type        = string
}

variable "maintenance_role_arn" {
  description = "Role of the Iceberg table optimizers (compaction, snapshot retention, orphan files): rewrites the files of the tenant-partitioned tables and commits to them, reads no tenant's rows for anyone (null: no optimizers)."
  type        = string
  default     = null
}
