output "dms_s3_target_role_arn" {
  description = "Role DMS assumes to write bronze."
  value       = aws_iam_role.dms_s3_target.arn
}

output "dms_secrets_role_arn" {
  description = "Role DMS assumes to read the source database secret."
  value       = aws_iam_role.dms_secrets.arn
}

output "dms_service_role_names" {
  description = "Account-wide DMS service roles created here (empty when they already existed)."
  value       = concat(aws_iam_role.dms_vpc[*].name, aws_iam_role.dms_cloudwatch_logs[*].name)
}

output "glue_role_arn" {
  description = "Role of the Glue jobs and crawlers."
  value       = aws_iam_role.glue.arn
}

output "glue_role_name" {
  description = "Name of the Glue role."
  value       = aws_iam_role.glue.name
}

output "analyst_role_arn" {
  description = "Role analysts assume to query with Athena."
  value       = aws_iam_role.analyst.arn
}
