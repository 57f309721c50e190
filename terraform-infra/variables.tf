variable "name_prefix" {
  description = "Prefix of every resource name; with the environment it makes `<name_prefix>-<environment>`."
  type        = string
  default     = "lakehouse"

  validation {
    # Bucket names (max 63) carry the prefix, environment, purpose, account id and region.
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-16 characters of lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment; part of every name and a default tag."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "aws_region" {
  description = "AWS region of the whole deployment."
  type        = string
  default     = "eu-west-1"
}

variable "tags" {
  description = "Extra tags on every resource (added to the provider's default tags)."
  type        = map(string)
  default     = {}
}

variable "aws_endpoints" {
  description = "Per-service endpoint overrides (service => URL), e.g. every service pointed at a moto server to plan offline. Empty on AWS. When set, the provider also skips credential, account and metadata checks and uses path-style S3."
  type        = map(string)
  default     = {}
}

variable "network" {
  description = "Existing VPC and private subnets (two or more availability zones) for DMS and RDS, and the CIDR blocks where the source PostgreSQL lives."
  type = object({
    vpc_id             = string
    subnet_ids         = list(string)
    source_cidr_blocks = list(string)
  })

  validation {
    condition     = length(var.network.subnet_ids) >= 2
    error_message = "network.subnet_ids needs at least two subnets in different availability zones (DMS and RDS subnet groups require it)."
  }
}

variable "declarations_dir" {
  description = "Folder of entities.json, gold.json and bronze_contract.json (null: glue-scripts/lakehouse_glue/declarations of this repository)."
  type        = string
  default     = null
}

variable "storage" {
  description = "Retention and deletion behaviour of the lake buckets (see modules/storage)."
  type = object({
    force_destroy                      = optional(bool, false)
    bronze_infrequent_access_days      = optional(number, 30)
    noncurrent_version_expiration_days = optional(number, 90)
    athena_results_expiration_days     = optional(number, 30)
    access_logs_expiration_days        = optional(number, 365)
    abort_incomplete_upload_days       = optional(number, 7)
    kms_deletion_window_days           = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.storage.kms_deletion_window_days >= 7 && var.storage.kms_deletion_window_days <= 30
    error_message = "storage.kms_deletion_window_days must be between 7 and 30 (KMS limits)."
  }
}

variable "source_db" {
  description = "The source PostgreSQL 15: an RDS instance created here (default) or an existing server (`create = false` and `existing`). See modules/source_db."
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
    password_version             = optional(number, 1)
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
    # A slot that falls further behind is invalidated (DMS must then full-load again) instead of
    # filling the disk and stopping the source.
    condition     = var.source_db.max_slot_wal_keep_size_mb >= 1024 && var.source_db.max_slot_wal_keep_size_mb <= var.source_db.allocated_storage_gb * 1024 / 2
    error_message = "source_db.max_slot_wal_keep_size_mb must be at least 1024 and at most half of allocated_storage_gb (in MB): WAL kept for a lagging slot must never fill the disk."
  }

  validation {
    condition     = startswith(var.source_db.engine_version, "15")
    error_message = "source_db.engine_version must be a PostgreSQL 15 version: the source schema and the local cluster are PostgreSQL 15."
  }
}

variable "dms" {
  description = "Replication instance and task settings (see modules/dms)."
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
    create_service_roles        = optional(bool, true)
  })
  default = {}
}

variable "glue" {
  description = "Glue job sizing, schedule and the artifacts folder built by `make package-glue` (see modules/glue)."
  type = object({
    artifacts_dir     = optional(string)
    worker_type       = optional(string, "G.1X")
    number_of_workers = optional(number, 2)
    # Per job (script stem): worker type and count overriding the two above, e.g. the events
    # silver job on more workers than the small tables' (README: worker type and count per size).
    jobs = optional(map(object({
      worker_type       = optional(string)
      number_of_workers = optional(number)
    })), {})
    # --slice_bytes of the silver jobs (compressed bronze bytes merged at once); null: a
    # sixteenth of the driver's heap.
    silver_slice_bytes = optional(number)
    timeout_minutes    = optional(number, 60)
    max_retries        = optional(number, 0)
    log_retention_days = optional(number, 365)
    schedule           = optional(string)
    # per_job: one Glue job per step and a workflow; single_job: the whole DAG in the one job
    # run_pipeline (one Spark session: cheaper for frequent runs, see the README's cost table).
    mode = optional(string, "per_job")
    # false in all but one environment of an account: /aws-glue/crawlers is account-wide.
    manage_crawler_log_group = optional(bool, true)
    # Iceberg table optimizers (modules/glue): on, 7 days and at least 10 snapshots kept,
    # orphan files deleted after 7 days.
    table_optimizers           = optional(bool, true)
    snapshot_retention_days    = optional(number, 7)
    snapshots_to_retain        = optional(number, 10)
    orphan_file_retention_days = optional(number, 7)
  })
  default = {}

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.glue.worker_type)
    error_message = "glue.worker_type must be G.1X, G.2X, G.4X or G.8X (Glue 5.1 Spark workers)."
  }

  validation {
    condition     = contains(["per_job", "single_job"], var.glue.mode)
    error_message = "glue.mode must be per_job (one Glue job per step and a workflow) or single_job (the whole pipeline in one Glue job)."
  }

  validation {
    condition     = var.glue.number_of_workers >= 2
    error_message = "glue.number_of_workers must be at least 2 (one driver and one executor)."
  }

  validation {
    condition = alltrue([
      for job in values(var.glue.jobs) :
      (job.worker_type == null || contains(["G.1X", "G.2X", "G.4X", "G.8X"], coalesce(job.worker_type, "G.1X")))
      && (job.number_of_workers == null || coalesce(job.number_of_workers, 2) >= 2)
    ])
    error_message = "glue.jobs: each worker_type must be G.1X, G.2X, G.4X or G.8X and each number_of_workers at least 2."
  }

  validation {
    condition     = var.glue.silver_slice_bytes == null || coalesce(var.glue.silver_slice_bytes, 1) >= 1048576
    error_message = "glue.silver_slice_bytes must be at least 1048576 (1 MiB), or null for the job's own default."
  }
}

variable "athena" {
  description = "Athena workgroup limits and the folder of the analysts' SQL."
  type = object({
    bytes_scanned_cutoff_per_query = optional(number, 10737418240)
    queries_dir                    = optional(string)
  })
  default = {}
}

variable "monitoring" {
  description = "Alert recipients and thresholds (see modules/monitoring)."
  type = object({
    alarm_emails                  = optional(list(string), [])
    cdc_latency_threshold_seconds = optional(number, 600)
    cdc_latency_periods           = optional(number, 3)
    free_storage_percent          = optional(number, 20)
    gold_freshness_hours          = optional(number, 26)
  })
  default = {}
}

variable "analyst_principal_arns" {
  description = "IAM principals that may assume the analyst role (empty: any IAM identity of the account that is allowed to)."
  type        = list(string)
  default     = []
}

variable "lake_formation" {
  description = "Lake Formation governance of the lake: when enabled, Lake Formation permissions (not IAM alone) decide who reads silver and gold, the buckets are registered, the pipeline and the administrators get table-wide grants and every tenant of `tenants` its own row filters. `manage_settings`: this deployment owns the account-wide data lake settings (false in all but one environment of an account)."
  type = object({
    enabled         = optional(bool, false)
    manage_settings = optional(bool, true)
    admin_arns      = optional(list(string), [])
  })
  default = {}
}

variable "tenants" {
  description = "The tenants whose own analysts query the lake, by a short key used in names: the tenant's id (tenants.id in the source), the IAM principals that may assume its role, and optionally its own bytes-scanned cutoff. Each gets a role, an Athena workgroup with its own results prefix, and SELECT through its own row filter on every silver and gold table. Adding a tenant is adding an entry (needs lake_formation.enabled)."
  type = map(object({
    tenant_id                      = string
    principal_arns                 = list(string)
    bytes_scanned_cutoff_per_query = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for key in keys(var.tenants) : can(regex("^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$", key))])
    error_message = "tenants keys must be 1-20 lower-case letters, digits and dashes (they are part of role and workgroup names)."
  }

  validation {
    condition     = alltrue([for tenant in values(var.tenants) : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", tenant.tenant_id))])
    error_message = "tenants[*].tenant_id must be lower-case UUIDs, as tenants.id in the source."
  }

  validation {
    condition     = length(distinct([for tenant in values(var.tenants) : tenant.tenant_id])) == length(var.tenants)
    error_message = "tenants must not repeat a tenant_id: two keys would share one tenant's rows."
  }

  validation {
    condition     = alltrue([for tenant in values(var.tenants) : length(tenant.principal_arns) > 0])
    error_message = "tenants[*].principal_arns must name at least one principal: a tenant role trusted by the whole account would be anyone's."
  }

  validation {
    condition     = length(var.tenants) == 0 || var.lake_formation.enabled
    error_message = "tenants needs lake_formation.enabled = true: without Lake Formation nothing restricts a tenant principal to its rows."
  }
}

variable "quicksight" {
  description = "Optional QuickSight dashboards over gold (needs a QuickSight subscription in the account whose service role may use the analysts' workgroup, its results bucket and key, and read gold). `tenants`: one QuickSight group per tenant, by a short key, with its tenant_id (tenants.id in the source) and the QuickSight user names in it; row-level security shows each group its own tenant's rows only. `admin_arns`: QuickSight users or groups that own the data source, datasets and dashboard."
  type = object({
    enabled    = optional(bool, false)
    namespace  = optional(string, "default")
    admin_arns = optional(list(string), [])
    tenants = optional(map(object({
      tenant_id = string
      members   = optional(list(string), [])
    })), {})
  })
  default = {}
}
