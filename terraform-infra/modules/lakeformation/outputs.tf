output "filter_names" {
  description = "Row filter name per `<tenant_id>/<database>.<table>` (grant them to that tenant's principals)."
  value       = { for key, filter in aws_lakeformation_data_cells_filter.this : key => filter.table_data[0].name }
}
