variable "name" {
  description = "Name prefix of every resource (`<name_prefix>-<environment>`)."
  type        = string
}

variable "account_id" {
  description = "AWS account id; makes the bucket names globally unique."
  type        = string
}

variable "region" {
  description = "AWS region of the buckets; part of their names."
  type        = string
}

variable "partition" {
  description = "AWS partition (`aws`, `aws-cn`, ...) for ARNs."
  type        = string
  default     = "aws"
}

variable "settings" {
  description = "Retention and deletion behaviour of the lake buckets."
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
}

variable "kms_service_principals" {
  description = "AWS service principals that publish to the KMS-encrypted alert topic and so must use the lake key (e.g. events.amazonaws.com, cloudwatch.amazonaws.com). CloudWatch Logs of this region is always allowed for this account's log groups."
  type        = list(string)
  default     = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]

  validation {
    condition     = length(var.kms_service_principals) > 0
    error_message = "kms_service_principals must name at least the publishers of the alert topic."
  }
}
