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

variable "settings" {
  description = "Alert recipients and thresholds."
  type = object({
    alarm_emails                  = optional(list(string), [])
    cdc_latency_threshold_seconds = optional(number, 600)
    cdc_latency_periods           = optional(number, 3)
  })
  default = {}
}
