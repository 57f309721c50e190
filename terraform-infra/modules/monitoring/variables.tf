variable "name" {
  description = "Name prefix of every resource (`<name_prefix>-<environment>`)."
  type        = string
}

variable "region" {
  description = "AWS region (dashboard widgets)."
  type        = string
}

variable "account_id" {
  description = "AWS account id (scopes who may publish to the alert topic)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the alert topic."
  type        = string
}

variable "dms" {
  description = "The DMS replication instance and task to watch."
  type = object({
    replication_instance_id      = string
    replication_task_id          = string
    replication_task_arn         = string
    replication_task_resource_id = string
  })
}

variable "glue_job_names" {
  description = "Names of the Glue jobs whose failures are alerted on."
  type        = list(string)
}

variable "athena_workgroup_name" {
  description = "Athena workgroup shown on the dashboard."
  type        = string
}

variable "source_db" {
  description = "The RDS source to watch (null: an existing server this deployment does not manage): its identifier, allocated storage and max_slot_wal_keep_size."
  type = object({
    instance_id               = string
    allocated_storage_gb      = number
    max_slot_wal_keep_size_mb = number
  })
  default = null
}

variable "lake_metrics" {
  description = "The custom metrics the Glue jobs publish (glue-scripts/lakehouse_glue/declarations/metrics.json): the namespace, the dimension naming the deployment and its value, and the names of the metric of quarantined rows (silver jobs) and of published gold marts (gold jobs)."
  type = object({
    namespace        = string
    deployment       = string
    dimension        = string
    quarantined_rows = string
    gold_published   = string
  })
}

variable "settings" {
  description = "Alert recipients and thresholds."
  type = object({
    alarm_emails                  = optional(list(string), [])
    cdc_latency_threshold_seconds = optional(number, 600)
    cdc_latency_periods           = optional(number, 3)
    free_storage_percent          = optional(number, 20)
    gold_freshness_hours          = optional(number, 26)
  })
  default = {}

  validation {
    condition     = var.settings.gold_freshness_hours >= 1 && var.settings.gold_freshness_hours <= 168
    error_message = "settings.gold_freshness_hours must be between 1 and 168 (CloudWatch evaluates at most 7 days)."
  }
}
