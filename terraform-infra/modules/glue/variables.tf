variable "name" {
  description = "Name prefix of every resource (`<name_prefix>-<environment>`)."
  type        = string
}

variable "database_names" {
  description = "Glue catalog database name per layer: bronze, silver, gold."
  type        = map(string)

  validation {
    condition     = toset(keys(var.database_names)) == toset(["bronze", "silver", "gold"])
    error_message = "database_names must name exactly the bronze, silver and gold databases."
  }
}

variable "log_group_name" {
  description = "Prefix of the jobs' CloudWatch log groups (Glue 5.0 --custom-logGroup-prefix): the jobs write to <prefix>/error and <prefix>/output."
  type        = string
}

variable "artifacts_dir" {
  description = "Folder built by `make package-glue`: the job scripts (*.py) and lakehouse_glue.zip. Every script becomes one Glue job."
  type        = string
}

variable "catalog_file" {
  description = "Path of athena-queries/ddl/catalog.json, generated from the declarations by `lakehouse athena-ddl --write`: the bronze, silver, history and gold tables (columns, final types, the bronze CSV SerDe) and the Glue jobs of each stage."
  type        = string
}

variable "scripts_bucket_name" {
  description = "Bucket that holds the uploaded scripts, the library zip and Glue temporary files."
  type        = string
}

variable "lake_uris" {
  description = "The lake locations passed to every job as arguments."
  type = object({
    bronze_path     = string
    silver_path     = string
    gold_path       = string
    quarantine_path = string
    reports_path    = string
  })
}

variable "kms_key_arn" {
  description = "KMS key for uploaded artifacts, job output, logs and bookmarks."
  type        = string
}

variable "role_arn" {
  description = "Role of the Glue jobs and crawlers."
  type        = string
}

variable "settings" {
  description = "Size and schedule of the Glue jobs."
  type = object({
    # Glue 5.1: Spark 3.5.6 and Iceberg 1.10 (the local runtime's line), see the README.
    glue_version      = optional(string, "5.1")
    worker_type       = optional(string, "G.1X")
    number_of_workers = optional(number, 2)
    # Per job (the script stem, e.g. transform_events_bronze_to_silver): a worker type and count
    # instead of the two above; the README sizes them per data size.
    jobs = optional(map(object({
      worker_type       = optional(string)
      number_of_workers = optional(number)
    })), {})
    # The largest slice of bronze (compressed bytes) a silver job merges at once
    # (--slice_bytes); null: the job takes a sixteenth of its driver's heap.
    silver_slice_bytes = optional(number)
    timeout_minutes    = optional(number, 60)
    max_retries        = optional(number, 0)
    log_retention_days = optional(number, 365)
    # /aws-glue/crawlers is one group per account: exactly one environment manages it.
    manage_crawler_log_group = optional(bool, true)
    # A Glue cron expression, e.g. "cron(0 * * * ? *)"; null runs the pipeline on demand only.
    schedule = optional(string)
    # per_job: one Glue job per step, chained by a workflow; single_job: the one job
    # run_pipeline runs every step in one Spark session (cheaper for frequent runs, see README).
    mode = optional(string, "per_job")
    # The Iceberg table optimizers (as `lakehouse maintain` locally): snapshots older than
    # snapshot_retention_days expire, but at least snapshots_to_retain stay; files no snapshot
    # references are deleted after orphan_file_retention_days.
    table_optimizers           = optional(bool, true)
    snapshot_retention_days    = optional(number, 7)
    snapshots_to_retain        = optional(number, 10)
    orphan_file_retention_days = optional(number, 7)
  })
  default = {}

  validation {
    condition     = contains(["per_job", "single_job"], var.settings.mode)
    error_message = "settings.mode must be per_job or single_job."
  }
}

variable "catalog_after" {
  description = "Ids the catalog databases are created after: the Lake Formation data lake settings, so that the databases and their tables get no IAMAllowedPrincipals default (empty without Lake Formation)."
  type        = list(string)
  default     = []
}

variable "lake_metrics" {
  description = "Namespace and Deployment dimension of the custom CloudWatch metrics the jobs publish (QuarantinedRows, GoldMartsPublished), passed as --metrics_namespace and --metrics_deployment."
  type = object({
    namespace  = string
    deployment = string
  })
}

variable "account_id" {
  description = "Account of the Data Catalog (the table optimizers' catalog id)."
  type        = string
}

variable "region" {
  description = "Region of the Data Catalog (ARNs of the optimizer role's policy)."
  type        = string
}

variable "partition" {
  description = "AWS partition of the ARNs (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"
}
