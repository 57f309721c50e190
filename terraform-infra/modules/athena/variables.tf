variable "workgroup_name" {
  description = "Name of the Athena workgroup."
  type        = string
}

variable "results_uri" {
  description = "S3 URI (s3://bucket/prefix) where the workgroup writes query results."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts query results."
  type        = string
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Queries scanning more bytes than this are cancelled (Athena's minimum is 10 MB)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB), Athena's minimum."
  }
}

variable "queries_dir" {
  description = "Folder of the analysts' SQL (athena-queries/); every *.sql file below it becomes a named query."
  type        = string
}

variable "database_names" {
  description = "This deployment's catalog database per layer (bronze, silver, gold): the SQL's bronze., silver. and gold. qualifiers are renamed to them, and gold is the named queries' default database."
  type = object({
    bronze = string
    silver = string
    gold   = string
  })
}

variable "ddl_locations" {
  description = "Values of the placeholders of the generated DDL in athena-queries/ddl: the bronze, silver and gold roots."
  type = object({
    bronze_location = string
    silver_location = string
    gold_location   = string
  })
}
