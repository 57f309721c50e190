output "data_source_arn" {
  description = "ARN of the Athena data source."
  value       = aws_quicksight_data_source.this.arn
}

output "data_set_arns" {
  description = "ARN of the dataset of each gold mart."
  value       = { for mart, data_set in aws_quicksight_data_set.gold : mart => data_set.arn }
}

output "rls_data_set_arn" {
  description = "ARN of the row-level security (permissions) dataset."
  value       = aws_quicksight_data_set.rls.arn
}

output "group_names" {
  description = "QuickSight group of each tenant."
  value       = { for key, group in aws_quicksight_group.tenant : key => group.group_name }
}

output "dashboard_id" {
  description = "Id of the tenant analytics dashboard."
  value       = aws_quicksight_dashboard.this.dashboard_id
}
