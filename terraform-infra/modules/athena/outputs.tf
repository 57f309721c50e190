output "workgroup_name" {
  description = "Name of the Athena workgroup."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "ARN of the Athena workgroup."
  value       = aws_athena_workgroup.this.arn
}

output "named_queries" {
  description = "Named query id per statement (`<file relative to athena-queries/>#<n>`)."
  value       = { for file, query in aws_athena_named_query.this : file => query.id }
}
