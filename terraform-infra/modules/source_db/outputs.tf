output "host" {
  description = "Host name of the source PostgreSQL."
  value       = local.create ? aws_db_instance.this[0].address : var.database.existing.host
}

output "port" {
  description = "Port of the source PostgreSQL."
  value       = local.create ? var.database.port : var.database.existing.port
}

output "database_name" {
  description = "Database that holds the 8 entity tables and the publication."
  value       = local.create ? var.database.database_name : var.database.existing.database_name
}

output "secret_arn" {
  description = "Secrets Manager secret with the credentials DMS uses (username, password, host, port)."
  value       = local.create ? aws_secretsmanager_secret.this[0].arn : var.database.existing.secret_arn
}

output "secret_kms_key_arn" {
  description = "KMS key of the credentials secret (null: the AWS-managed Secrets Manager key)."
  value       = local.create ? var.kms_key_arn : var.database.existing.secret_kms_key_arn
}

output "instance_arn" {
  description = "ARN of the RDS instance (null when an existing server is used)."
  value       = local.create ? aws_db_instance.this[0].arn : null
}

output "security_group_id" {
  description = "Security group of the RDS instance (null when an existing server is used)."
  value       = local.create ? aws_security_group.this[0].id : null
}

output "instance_id" {
  description = "Identifier of the RDS instance, the DBInstanceIdentifier of its CloudWatch metrics (null when an existing server is used)."
  value       = local.create ? aws_db_instance.this[0].identifier : null
}
