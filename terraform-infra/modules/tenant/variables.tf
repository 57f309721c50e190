variable "name" {
  description = "Name of the tenant's role and Athena workgroup (`<name_prefix>-<environment>-tenant-<key>`)."
  type        = string

  validation {
    condition     = length(var.name) <= 64
    error_message = "name must be at most 64 characters (IAM role names)."
  }
}

variable "tenant_key" {
  description = "Short name of the tenant in the tenants map (part of names)."
  type        = string
}

variable "tenant_id" {
  description = "The tenant's id (tenants.id in the source, a lower-case UUID): its row filter is `tenant_id = '<uuid>'`."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.tenant_id))
    error_message = "tenant_id must be a lower-case UUID, as tenants.id in the source."
  }
}

variable "principal_arns" {
  description = "IAM principals (the tenant's analysts, e.g. an SSO permission-set role) that may assume the tenant's role."
  type        = list(string)

  validation {
    condition     = length(var.principal_arns) > 0
    error_message = "principal_arns must name at least one principal: a tenant role trusted by the whole account would be anyone's."
  }
}

variable "account_id" {
  description = "AWS account id (catalog id and ARNs)."
  type        = string
}

variable "region" {
  description = "AWS region (ARNs)."
  type        = string
}

variable "partition" {
  description = "AWS partition for ARNs."
  type        = string
  default     = "aws"
}

variable "database_names" {
  description = "The tenant-partitioned databases (silver, gold)."
  type        = list(string)
}

variable "tables" {
  description = "Tenant-partitioned tables (every silver and gold table; each has a tenant_id column): one row filter each."
  type = list(object({
    database_name = string
    table_name    = string
  }))
}

variable "results_bucket_name" {
  description = "Bucket of the Athena query results."
  type        = string
}

variable "results_bucket_arn" {
  description = "ARN of the bucket of the Athena query results."
  type        = string
}

variable "results_prefix" {
  description = "The tenant's own prefix in the results bucket (e.g. results/tenants/<key>/); nobody else's results are readable."
  type        = string
}

variable "kms_key_arn" {
  description = "Lake KMS key: encrypts the query results."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Queries scanning more bytes than this are cancelled (Athena's minimum is 10 MB)."
  type        = number

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB), Athena's minimum."
  }
}

variable "grants_after" {
  description = "Ids the filters and grants wait for (the data lake settings that make Terraform's principal an administrator)."
  type        = list(string)
  default     = []
}
