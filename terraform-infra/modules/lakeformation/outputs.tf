output "settings_id" {
  description = "Id of the data lake settings (null when another environment manages them); create the lake databases after it."
  value       = one(aws_lakeformation_data_lake_settings.this[*].id)
}

output "admins" {
  description = "Data lake administrators (the given ones and Terraform's principal)."
  value       = distinct(concat(var.admin_arns, [var.terraform_principal_arn]))
}

output "registered_locations" {
  description = "Registered bucket ARN per key."
  value       = { for key, resource in aws_lakeformation_resource.this : key => resource.arn }
}

output "locations_role_arn" {
  description = "Role Lake Formation assumes to read the registered locations."
  value       = aws_iam_role.locations.arn
}
