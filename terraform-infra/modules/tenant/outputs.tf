output "role_arn" {
  description = "The tenant's role (its analysts assume it)."
  value       = local.role_arn
}

output "workgroup_name" {
  description = "The tenant's Athena workgroup."
  value       = aws_athena_workgroup.this.name
}

output "results_uri" {
  description = "Where the tenant's query results go."
  value       = aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location
}

output "filter_names" {
  description = "Row filter name per `<database>.<table>`."
  value       = { for key, filter in aws_lakeformation_data_cells_filter.this : key => filter.table_data[0].name }
}
