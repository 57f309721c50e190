output "database_names" {
  description = "Glue catalog database name per layer (bronze, silver, gold)."
  value       = { for layer, db in aws_glue_catalog_database.this : layer => db.name }
}

output "table_names" {
  description = "Declared catalog tables per layer (bronze, silver, gold)."
  value = {
    bronze = [for table in aws_glue_catalog_table.bronze : table.name]
    silver = [for key, table in aws_glue_catalog_table.iceberg : table.name if startswith(key, "silver.")]
    gold   = [for key, table in aws_glue_catalog_table.iceberg : table.name if startswith(key, "gold.")]
  }
}

output "job_names" {
  description = "Glue job name per script stem."
  value       = { for stem, job in aws_glue_job.this : stem => job.name }
}

output "workflow_name" {
  description = "Name of the pipeline workflow (`aws glue start-workflow-run --name ...`); null in single_job mode."
  value       = local.single_job ? null : aws_glue_workflow.this[0].name
}

output "pipeline_stages" {
  description = "The pipeline's stages in order, each the script stems it runs (in single_job mode, inside the one job)."
  value       = { for stage in local.stages : stage.name => stage.jobs }
}

output "mode" {
  description = "How the pipeline runs: per_job (a workflow of one job per step) or single_job (the job run_pipeline)."
  value       = var.settings.mode
}

output "crawler_name" {
  description = "The bronze crawler (reports schema drift of the DMS files)."
  value       = aws_glue_crawler.bronze.name
}

output "log_group_names" {
  description = "The jobs' CloudWatch log groups (Glue 5.0): error (system, Spark and GlueLogger logs) and output (stdout and stderr)."
  value       = { for kind, group in aws_cloudwatch_log_group.this : kind => group.name }
}

output "table_optimizer_role_arn" {
  description = "Role of the Iceberg table optimizers (compaction, snapshot retention, orphan files)."
  value       = aws_iam_role.optimizer.arn
}

output "table_optimizer_role_name" {
  description = "Name of the Iceberg table optimizers' role (known at plan time, for Lake Formation grants)."
  value       = aws_iam_role.optimizer.name
}
