variable "name" {
  description = "Prefix of every QuickSight id and name (`<name_prefix>-<environment>`)."
  type        = string
}

variable "account_id" {
  description = "AWS account id of the QuickSight subscription."
  type        = string
}

variable "namespace" {
  description = "QuickSight namespace of the tenant groups."
  type        = string
  default     = "default"
}

variable "workgroup_name" {
  description = "Athena workgroup the data source runs its queries in (the analysts' workgroup: enforced results location, encryption and bytes-scanned cutoff)."
  type        = string
}

variable "gold_database_name" {
  description = "This deployment's gold catalog database (the datasets' schema)."
  type        = string
}

variable "gold_file" {
  description = "Path of gold.json, the declaration of the gold marts: one dataset per mart, with its declared columns."
  type        = string
}

variable "tenants" {
  description = "The tenants that get dashboards, by a short key used in names: the tenant's id (tenants.id in the source) and the QuickSight user names put in its group. Each tenant's group sees only rows whose tenant_id is the tenant's, on every dataset (row-level security)."
  type = map(object({
    tenant_id = string
    members   = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for key in keys(var.tenants) : can(regex("^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$", key))])
    error_message = "tenants keys must be 1-20 lower-case letters, digits and dashes (they are part of group names)."
  }

  validation {
    condition     = alltrue([for tenant in values(var.tenants) : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", tenant.tenant_id))])
    error_message = "tenants[*].tenant_id must be lower-case UUIDs, as tenants.id in the source."
  }

  validation {
    condition     = length(distinct([for tenant in values(var.tenants) : tenant.tenant_id])) == length(var.tenants)
    error_message = "tenants must not repeat a tenant_id: two groups would share one tenant's rows."
  }
}

variable "admin_arns" {
  description = "QuickSight users or groups (ARNs) that own the data source, datasets and dashboard (the platform team). Tenant groups only view the dashboard."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}
