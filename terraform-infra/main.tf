provider "aws" {
  region = var.aws_region

  # Planning against moto (tests, `make tf-check`): no real account, metadata service or STS.
  skip_credentials_validation = local.endpoints_overridden
  skip_requesting_account_id  = local.endpoints_overridden
  skip_metadata_api_check     = local.endpoints_overridden
  s3_use_path_style           = local.endpoints_overridden

  dynamic "endpoints" {
    for_each = local.endpoints_overridden ? [var.aws_endpoints] : []
    content {
      athena         = lookup(endpoints.value, "athena", null)
      cloudwatch     = lookup(endpoints.value, "cloudwatch", null)
      cloudwatchlogs = lookup(endpoints.value, "cloudwatchlogs", null)
      dms            = lookup(endpoints.value, "dms", null)
      ec2            = lookup(endpoints.value, "ec2", null)
      eventbridge    = lookup(endpoints.value, "eventbridge", null)
      glue           = lookup(endpoints.value, "glue", null)
      iam            = lookup(endpoints.value, "iam", null)
      kms            = lookup(endpoints.value, "kms", null)
      lakeformation  = lookup(endpoints.value, "lakeformation", null)
      quicksight     = lookup(endpoints.value, "quicksight", null)
      rds            = lookup(endpoints.value, "rds", null)
      s3             = lookup(endpoints.value, "s3", null)
      secretsmanager = lookup(endpoints.value, "secretsmanager", null)
      sns            = lookup(endpoints.value, "sns", null)
      sts            = lookup(endpoints.value, "sts", null)
    }
  }

  default_tags {
    tags = merge(var.tags, {
      Project     = "lakehouse"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The role (not the session) behind Terraform's credentials: it stays a data lake administrator.
data "aws_iam_session_context" "current" {
  arn = data.aws_caller_identity.current.arn
}

locals {
  endpoints_overridden = length(var.aws_endpoints) > 0

  name       = "${var.name_prefix}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # The one declaration of the entities, marts and bronze settings that the Python side reads.
  declarations_dir     = coalesce(var.declarations_dir, "${path.module}/../glue-scripts/lakehouse_glue/declarations")
  entities_file        = "${local.declarations_dir}/entities.json"
  gold_file            = "${local.declarations_dir}/gold.json"
  bronze_contract_file = "${local.declarations_dir}/bronze_contract.json"
  metrics_declaration  = jsondecode(file("${local.declarations_dir}/metrics.json"))

  glue_artifacts_dir = coalesce(var.glue.artifacts_dir, "${path.module}/../dist/glue")
  queries_dir        = coalesce(var.athena.queries_dir, "${path.module}/../athena-queries")

  # One catalog database per layer and environment (`lakehouse_dev_silver`), so environments
  # live side by side in one account. The SQL of athena-queries/ says bronze., silver. and gold.
  # (the local engine's names); the named queries are stored with this deployment's names.
  glue_database_names = { for layer in ["bronze", "silver", "gold"] : layer => "${replace(local.name, "-", "_")}_${layer}" }
  glue_log_group_name = "/aws-glue/jobs/${local.name}"
  athena_workgroup    = "${local.name}-analysts"

  # The custom metrics the Glue jobs publish (job arguments --metrics_namespace and
  # --metrics_deployment), declared in metrics.json, which lakehouse_glue.metrics reads too;
  # the monitoring module alarms on the same names and dimension.
  lake_metrics = {
    namespace        = local.metrics_declaration.namespace
    deployment       = local.name
    dimension        = local.metrics_declaration.dimension
    quarantined_rows = local.metrics_declaration.metrics.quarantined_rows.name
    gold_published   = local.metrics_declaration.metrics.gold_marts_published.name
  }

  # Query results: one prefix per workgroup, readable only by that workgroup's role.
  analyst_results_prefix = "results/analysts/"
  tenant_results_prefix  = "results/tenants"

  lake_formation = var.lake_formation.enabled
  curated_tables = flatten([
    for layer in ["silver", "gold"] : [
      for table in module.glue.table_names[layer] : { database_name = module.glue.database_names[layer], table_name = table }
    ]
  ])
}

module "storage" {
  source = "./modules/storage"

  name                   = local.name
  account_id             = local.account_id
  region                 = var.aws_region
  partition              = local.partition
  settings               = var.storage
  kms_service_principals = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
}

module "source_db" {
  source = "./modules/source_db"

  name                   = local.name
  vpc_id                 = var.network.vpc_id
  subnet_ids             = var.network.subnet_ids
  kms_key_arn            = module.storage.kms_key_arn
  client_security_groups = { dms = module.dms.security_group_id }
  database               = var.source_db
}

module "iam" {
  source = "./modules/iam"

  name                      = local.name
  account_id                = local.account_id
  region                    = var.aws_region
  partition                 = local.partition
  kms_key_arn               = module.storage.kms_key_arn
  bucket_arns               = module.storage.bucket_arns
  source_secret_arn         = module.source_db.secret_arn
  source_secret_kms_key_arn = module.source_db.secret_kms_key_arn
  glue_database_names       = values(local.glue_database_names)
  glue_log_group_prefix     = local.glue_log_group_name
  athena_workgroup_name     = local.athena_workgroup
  athena_results_prefix     = local.analyst_results_prefix
  analyst_principal_arns    = var.analyst_principal_arns
  lake_formation_enabled    = local.lake_formation
  metrics_namespace         = local.lake_metrics.namespace
  create_dms_service_roles  = var.dms.create_service_roles
}

module "dms" {
  source = "./modules/dms"

  name                 = local.name
  account_id           = local.account_id
  vpc_id               = var.network.vpc_id
  subnet_ids           = var.network.subnet_ids
  source_cidr_blocks   = var.network.source_cidr_blocks
  kms_key_arn          = module.storage.kms_key_arn
  bronze_bucket_name   = module.storage.bucket_ids["bronze"]
  s3_target_role_arn   = module.iam.dms_s3_target_role_arn
  secrets_role_arn     = module.iam.dms_secrets_role_arn
  bronze_contract_file = local.bronze_contract_file
  entities_file        = local.entities_file
  settings             = var.dms

  source_database = {
    database_name = module.source_db.database_name
    port          = module.source_db.port
    secret_arn    = module.source_db.secret_arn
  }

  # DMS looks up dms-vpc-role when it creates the subnet group.
  depends_on = [module.iam]
}

module "glue" {
  source = "./modules/glue"

  name                = local.name
  database_names      = local.glue_database_names
  log_group_name      = local.glue_log_group_name
  artifacts_dir       = local.glue_artifacts_dir
  catalog_file        = "${local.queries_dir}/ddl/catalog.json"
  scripts_bucket_name = module.storage.bucket_ids["scripts"]
  kms_key_arn         = module.storage.kms_key_arn
  role_arn            = module.iam.glue_role_arn
  settings            = var.glue
  lake_metrics        = local.lake_metrics
  # With Lake Formation, the databases are created once the data lake settings hold, so they get
  # no IAMAllowedPrincipals default.
  catalog_after = local.lake_formation ? [module.lakeformation[0].settings_id] : []
  account_id    = local.account_id
  region        = var.aws_region
  partition     = local.partition

  lake_uris = {
    bronze_path     = module.storage.lake_uris.bronze_path
    silver_path     = module.storage.lake_uris.silver_path
    gold_path       = module.storage.lake_uris.gold_path
    quarantine_path = module.storage.lake_uris.quarantine_path
    reports_path    = module.storage.lake_uris.reports_path
  }
}

module "athena" {
  source = "./modules/athena"

  workgroup_name                 = local.athena_workgroup
  results_uri                    = "s3://${module.storage.bucket_ids["athena_results"]}/${local.analyst_results_prefix}"
  kms_key_arn                    = module.storage.kms_key_arn
  bytes_scanned_cutoff_per_query = var.athena.bytes_scanned_cutoff_per_query
  queries_dir                    = local.queries_dir
  database_names                 = module.glue.database_names
  ddl_locations = {
    bronze_location = module.storage.lake_uris.bronze_path
    silver_location = module.storage.lake_uris.silver_path
    gold_location   = module.storage.lake_uris.gold_path
  }
}

module "monitoring" {
  source = "./modules/monitoring"

  name                  = local.name
  region                = var.aws_region
  account_id            = local.account_id
  kms_key_arn           = module.storage.kms_key_arn
  glue_job_names        = values(module.glue.job_names)
  athena_workgroup_name = module.athena.workgroup_name
  settings              = var.monitoring
  lake_metrics          = local.lake_metrics

  source_db = var.source_db.create ? {
    instance_id               = module.source_db.instance_id
    allocated_storage_gb      = var.source_db.allocated_storage_gb
    max_slot_wal_keep_size_mb = var.source_db.max_slot_wal_keep_size_mb
  } : null

  dms = {
    replication_instance_id      = module.dms.replication_instance_id
    replication_task_id          = module.dms.replication_task_id
    replication_task_arn         = module.dms.replication_task_arn
    replication_task_resource_id = module.dms.replication_task_resource_id
  }
}

module "lakeformation" {
  source = "./modules/lakeformation"
  count  = local.lake_formation ? 1 : 0

  name                    = local.name
  account_id              = local.account_id
  partition               = local.partition
  manage_settings         = var.lake_formation.manage_settings
  admin_arns              = var.lake_formation.admin_arns
  terraform_principal_arn = data.aws_iam_session_context.current.issuer_arn
  kms_key_arn             = module.storage.kms_key_arn
  # From the name (known at plan time, and still after the role): the grants' principal.
  pipeline_role_arn      = "arn:${local.partition}:iam::${local.account_id}:role/${module.iam.glue_role_name}"
  maintenance_role_arn   = var.glue.table_optimizers ? "arn:${local.partition}:iam::${local.account_id}:role/${module.glue.table_optimizer_role_name}" : null
  database_names         = values(module.glue.database_names)
  curated_database_names = [module.glue.database_names["silver"], module.glue.database_names["gold"]]
  # ARNs from the bucket names: known at plan time, and still after the buckets.
  registered_bucket_arns = {
    for layer in ["silver", "gold"] : layer => "arn:${local.partition}:s3:::${module.storage.bucket_ids[layer]}"
  }
}

module "tenant" {
  source   = "./modules/tenant"
  for_each = local.lake_formation ? var.tenants : {}

  name                           = "${local.name}-tenant-${each.key}"
  tenant_key                     = each.key
  tenant_id                      = each.value.tenant_id
  principal_arns                 = each.value.principal_arns
  bytes_scanned_cutoff_per_query = coalesce(each.value.bytes_scanned_cutoff_per_query, var.athena.bytes_scanned_cutoff_per_query)
  account_id                     = local.account_id
  region                         = var.aws_region
  partition                      = local.partition
  database_names                 = [module.glue.database_names["silver"], module.glue.database_names["gold"]]
  tables                         = local.curated_tables
  results_bucket_name            = module.storage.bucket_ids["athena_results"]
  results_bucket_arn             = module.storage.bucket_arns["athena_results"]
  results_prefix                 = "${local.tenant_results_prefix}/${each.key}/"
  kms_key_arn                    = module.storage.kms_key_arn
  grants_after                   = local.lake_formation ? [module.lakeformation[0].settings_id] : []
}

module "quicksight" {
  source = "./modules/quicksight"
  count  = var.quicksight.enabled ? 1 : 0

  name               = local.name
  account_id         = local.account_id
  namespace          = var.quicksight.namespace
  workgroup_name     = module.athena.workgroup_name
  gold_database_name = module.glue.database_names["gold"]
  gold_file          = local.gold_file
  tenants            = var.quicksight.tenants
  admin_arns         = var.quicksight.admin_arns
}
