output "replication_instance_id" {
  description = "Identifier of the replication instance (CloudWatch dimension ReplicationInstanceIdentifier)."
  value       = aws_dms_replication_instance.this.replication_instance_id
}

output "replication_task_id" {
  description = "Identifier of the full-load-and-CDC task."
  value       = aws_dms_replication_task.this.replication_task_id
}

output "replication_task_arn" {
  description = "ARN of the full-load-and-CDC task (for `aws dms start-replication-task`)."
  value       = aws_dms_replication_task.this.replication_task_arn
}

output "replication_task_resource_id" {
  description = "Resource id of the task: the last ARN field, which CloudWatch uses as ReplicationTaskIdentifier."
  value       = element(split(":", aws_dms_replication_task.this.replication_task_arn), 6)
}

output "security_group_id" {
  description = "Security group of the replication instance (allow it on the source database)."
  value       = aws_security_group.this.id
}

output "table_mappings" {
  description = "The task's table mappings (JSON): one selection rule per entity plus the change-sequence column."
  value       = jsonencode(local.table_mappings)
}

output "s3_target_settings" {
  description = "The bronze contract as applied to the DMS S3 target endpoint."
  value       = local.s3_settings
}
