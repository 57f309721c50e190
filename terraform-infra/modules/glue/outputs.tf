output "database_names" {
  description = "Glue catalog database name per layer (bronze, silver, gold)."
  value       = { for layer, db in aws_glue_catalog_database.this : layer => db.name }
}

output "silver_table_names" {
  description = "Silver tables declared from entities.json."
  value       = [for table in aws_glue_catalog_table.silver : table.name]
}

output "job_names" {
  description = "Glue job name per script stem."
  value       = { for stem, job in aws_glue_job.this : stem => job.name }
}

output "workflow_name" {
  description = "Name of the pipeline workflow (`aws glue start-workflow-run --name ...`)."
  value       = aws_glue_workflow.this.name
}

output "pipeline_stages" {
  description = "The workflow's stages in order, each the script stems it runs."
  value       = { for stage in local.stages : stage.name => stage.jobs }
}

output "crawler_names" {
  description = "Crawler name per layer."
  value = {
    bronze = aws_glue_crawler.bronze.name
    silver = aws_glue_crawler.silver.name
    gold   = aws_glue_crawler.gold.name
  }
}

output "log_group_name" {
  description = "CloudWatch Logs group of the jobs."
  value       = aws_cloudwatch_log_group.this.name
}
