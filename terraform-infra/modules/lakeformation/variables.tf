variable "account_id" {
  description = "Account id of the Data Catalog that holds the tables."
  type        = string
}

variable "tables" {
  description = "Tenant-partitioned tables (silver and gold) that get one row filter per tenant; each has a tenant_id column."
  type = list(object({
    database_name = string
    table_name    = string
  }))
}

variable "tenant_ids" {
  description = "Tenants (uuid) that get their own row filters: `tenant_id = '<uuid>'` on every table."
  type        = list(string)

  validation {
    condition     = alltrue([for id in var.tenant_ids : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id))])
    error_message = "tenant_ids must be lower-case UUIDs, as tenants.id in the source."
  }
}
