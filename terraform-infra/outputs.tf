output "buckets" {
  description = "Bucket name per lake bucket (bronze, silver, gold, scripts, athena_results)."
  value       = module.storage.bucket_ids
}

output "lake_uris" {
  description = "The lake locations the Glue jobs receive (--bronze_path, --silver_path, ...)."
  value       = module.storage.lake_uris
}

output "kms_key_arn" {
  description = "ARN of the lake's KMS key."
  value       = module.storage.kms_key_arn
}

output "source_db" {
  description = "The source PostgreSQL (host, port, database, credentials secret)."
  value = {
    host          = module.source_db.host
    port          = module.source_db.port
    database_name = module.source_db.database_name
    secret_arn    = module.source_db.secret_arn
  }
}

output "dms_replication_task_arn" {
  description = "ARN of the DMS task: `aws dms start-replication-task --start-replication-task-type start-replication --replication-task-arn ...`."
  value       = module.dms.replication_task_arn
}

output "glue_job_names" {
  description = "Glue job name per script (`aws glue start-job-run --job-name ...`)."
  value       = module.glue.job_names
}

output "glue_workflow_name" {
  description = "The pipeline workflow (`aws glue start-workflow-run --name ...`); null in single_job mode, where glue_job_names[\"run_pipeline\"] runs the pipeline."
  value       = module.glue.workflow_name
}

output "glue_pipeline_stages" {
  description = "The workflow's stages in order with the scripts each runs."
  value       = module.glue.pipeline_stages
}

output "glue_crawler_name" {
  description = "The bronze crawler (`aws glue start-crawler --name ...` reports schema drift)."
  value       = module.glue.crawler_name
}

output "glue_table_names" {
  description = "Declared catalog tables per layer."
  value       = module.glue.table_names
}

output "glue_database_names" {
  description = "Catalog database per layer."
  value       = module.glue.database_names
}

output "athena_workgroup" {
  description = "Athena workgroup of the analysts."
  value       = module.athena.workgroup_name
}

output "analyst_role_arn" {
  description = "Role analysts assume to query with Athena."
  value       = module.iam.analyst_role_arn
}

output "alerts_topic_arn" {
  description = "SNS topic of every alert (subscribe on-call here)."
  value       = module.monitoring.topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline."
  value       = module.monitoring.dashboard_name
}

output "tenants" {
  description = "Per tenant key: its role (its analysts assume it), Athena workgroup, results location and row filter per `<database>.<table>` (empty unless lake_formation.enabled)."
  value = {
    for key, tenant in module.tenant : key => {
      role_arn       = tenant.role_arn
      workgroup_name = tenant.workgroup_name
      results_uri    = tenant.results_uri
      filter_names   = tenant.filter_names
    }
  }
}

output "lake_formation_admins" {
  description = "Data lake administrators (null unless lake_formation.enabled)."
  value       = one(module.lakeformation[*].admins)
}

output "quicksight" {
  description = "The QuickSight data source, datasets, row-level security dataset, tenant groups and dashboard (null when quicksight.enabled is false)."
  value = var.quicksight.enabled ? {
    data_source_arn  = module.quicksight[0].data_source_arn
    data_set_arns    = module.quicksight[0].data_set_arns
    rls_data_set_arn = module.quicksight[0].rls_data_set_arn
    group_names      = module.quicksight[0].group_names
    dashboard_id     = module.quicksight[0].dashboard_id
  } : null
}
