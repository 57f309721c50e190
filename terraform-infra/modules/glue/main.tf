locals {
  # The tables and jobs, generated from the declarations by `lakehouse athena-ddl --write`
  # (athena-queries/ddl/catalog.json, checked current by a test): nothing is derived again here.
  catalog = jsondecode(file(var.catalog_file))

  # Every script in the artifacts folder is a job, and every job a script.
  script_files = toset([for file in fileset(var.artifacts_dir, "*.py") : file if !startswith(file, "_")])
  library_file = "${var.artifacts_dir}/lakehouse_glue.zip"
  library_key  = "glue/lakehouse_glue.zip"

  # Two ways to run the DAG (var.settings.mode). per_job: one Glue job per script and the
  # workflow below. single_job: the one job `run_pipeline` (glue-scripts/run_pipeline.py) runs
  # every step in one Spark session, each step's script shipped to it as a module, on a
  # schedule of its own. The steps are every script but run_pipeline.
  single_job      = var.settings.mode == "single_job"
  single_job_name = "run_pipeline"
  # Jobs a data engineer starts by hand in either mode, outside the DAG (lakehouse_glue.dag's
  # ON_DEMAND_JOBS, through the catalog file): offboarding a tenant.
  on_demand_jobs = toset([for job in local.catalog.jobs.on_demand : job if contains(local.script_files, "${job}.py")])
  jobs           = toset([for file in local.script_files : trimsuffix(file, ".py") if file != "${local.single_job_name}.py" && !contains(local.on_demand_jobs, trimsuffix(file, ".py"))])
  # The lake's writer lock (lakehouse.storage.lock) and the pinned modules it needs beyond Glue's
  # own (boto3 with S3 conditional writes, psutil), both written by `make package-glue`.
  lock_file         = "${var.artifacts_dir}/lakehouse_lock.zip"
  lock_key          = "glue/lakehouse_lock.zip"
  lock_requirements = "${var.artifacts_dir}/lakehouse_lock.requirements"

  # The DAG of `lakehouse pipeline run`: every silver job; then every gold mart beside the quality
  # report (both read silver only). Locally the run ends by registering new tables in the local
  # catalog; here the tables are declared below, and Iceberg tracks its own files, so no crawler
  # runs after the jobs.
  silver_jobs = [for job in local.catalog.jobs.silver : job if contains(local.jobs, job)]
  gold_jobs   = [for job in local.catalog.jobs.gold : job if contains(local.jobs, job)]
  report_jobs = [for job in local.catalog.jobs.quality : job if contains(local.jobs, job)]
  stages = [
    for stage in [
      { name = "silver", jobs = local.silver_jobs },
      { name = "gold", jobs = concat(local.gold_jobs, local.report_jobs) },
    ] : stage if length(stage.jobs) > 0
  ]
  unplaced_jobs = setsubtract(local.jobs, concat(local.silver_jobs, local.gold_jobs, local.report_jobs))
  # The jobs this mode deploys, by script stem.
  deployed_jobs = setunion(local.single_job ? toset([local.single_job_name]) : local.jobs, local.on_demand_jobs)
  # The jobs that hold the lake's writer lock themselves and so ship it (lakehouse_lock.zip).
  locking_jobs = setintersection(local.deployed_jobs, setunion(toset([local.single_job_name]), local.on_demand_jobs))

  # Bronze tables as Athena reads DMS CSV (athena-queries/ddl): every column a string, the DMS
  # columns around the source columns.
  bronze_tables = {
    for name, table in local.catalog.bronze.tables : name => {
      description = table.description
      location    = "${var.lake_uris.bronze_path}/${table.folder}/"
      # The Data Catalog stores column names in lower case (DMS writes `Op`): declaring them
      # lower-cased keeps every plan free of a perpetual diff. OpenCSVSerde maps by position.
      # https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html
      columns = [for column in table.columns : lower(column)]
    }
  }

  # Silver, history and gold tables: Apache Iceberg (format v2, Parquet), as athena-queries/ddl,
  # with their final types. tenant_id is a column of every table (Iceberg partitions are hidden,
  # by column); tables whose entity has no tenant_id column (tenants) get it as their own id.
  table_roots = {
    silver = var.lake_uris.silver_path
    gold   = var.lake_uris.gold_path
  }
  iceberg_tables = {
    for key, table in local.catalog.iceberg.tables : key => merge(table, {
      root = "${local.table_roots[table.database]}/${table.name}"
    })
  }
  # Athena's Iceberg table properties, as the generated DDL sets them.
  iceberg_parameters = local.catalog.iceberg.parameters

  # Glue 5.1 (Spark 3.5, Iceberg 1.10): --datalake-formats puts Iceberg's runtime on the class
  # path; the --conf settings make the Glue Data Catalog the Iceberg catalog the jobs name with
  # --iceberg_catalog, and add Iceberg's SQL extensions (MERGE INTO, ALTER TABLE ... PARTITION
  # FIELD). https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html
  iceberg_catalog = "glue_catalog"
  iceberg_conf = join(" --conf ", [
    "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
    "spark.sql.catalog.${local.iceberg_catalog}=org.apache.iceberg.spark.SparkCatalog",
    "spark.sql.catalog.${local.iceberg_catalog}.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog",
    "spark.sql.catalog.${local.iceberg_catalog}.io-impl=org.apache.iceberg.aws.s3.S3FileIO",
    # Only the default location of a table created without one; every table has its own.
    "spark.sql.catalog.${local.iceberg_catalog}.warehouse=${var.lake_uris.silver_path}/",
  ])

  job_arguments = {
    "--job-language"        = "python"
    "--bronze_path"         = var.lake_uris.bronze_path
    "--silver_path"         = var.lake_uris.silver_path
    "--gold_path"           = var.lake_uris.gold_path
    "--quarantine_path"     = var.lake_uris.quarantine_path
    "--reports_path"        = var.lake_uris.reports_path
    "--full_refresh"        = "false"
    "--job-bookmark-option" = "job-bookmark-enable"
    "--extra-py-files"      = "s3://${var.scripts_bucket_name}/${local.library_key}"
    "--enable-metrics"      = "true"
    "--enable-job-insights" = "true"
    # Glue 5.0 logs in real time without the 4.0 continuous-logging arguments: to
    # <prefix>/error (system, Spark and GlueLogger logs) and <prefix>/output (stdout, stderr),
    # the groups created below with retention and the lake key.
    # https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html
    "--custom-logGroup-prefix"  = var.log_group_name
    "--enable-glue-datacatalog" = "true"
    "--TempDir"                 = "s3://${var.scripts_bucket_name}/tmp/"
    "--metrics_namespace"       = var.lake_metrics.namespace
    "--metrics_deployment"      = var.lake_metrics.deployment
    "--datalake-formats"        = "iceberg"
    "--conf"                    = local.iceberg_conf
    "--iceberg_catalog"         = local.iceberg_catalog
  }

  # The single job also ships every step's script (Glue puts --extra-py-files on the Python
  # path, so run_pipeline imports them as modules) and the writer lock, which it holds at the
  # lake root where silver lives (<silver bucket>/_lakehouse/writer.lock), as an operator's
  # `lakehouse pipeline run` against the same lake does.
  # https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html
  single_job_arguments = merge(local.job_arguments, {
    "--extra-py-files" = join(",", concat(
      ["s3://${var.scripts_bucket_name}/${local.library_key}", "s3://${var.scripts_bucket_name}/${local.lock_key}"],
      [for job in sort(tolist(local.jobs)) : "s3://${var.scripts_bucket_name}/glue/scripts/${job}.py"],
    ))
    "--additional-python-modules" = local.single_job ? trimspace(file(local.lock_requirements)) : ""
    "--lake_root"                 = regex("^s3://[^/]+", var.lake_uris.silver_path)
  })

  # offboard_tenant (glue-scripts/offboard_tenant.py): the library and the writer lock, held at
  # the same lake root, so that it never erases while run_pipeline or an operator's `lakehouse`
  # writes the lake. It reads no bronze through a bookmark. --tenant_id has no default: each run
  # names its tenant (`aws glue start-job-run --arguments '{"--tenant_id": "<uuid>"}'`).
  on_demand_job_arguments = merge(local.job_arguments, {
    "--extra-py-files"            = "s3://${var.scripts_bucket_name}/${local.library_key},s3://${var.scripts_bucket_name}/${local.lock_key}"
    "--additional-python-modules" = length(local.on_demand_jobs) > 0 ? trimspace(file(local.lock_requirements)) : ""
    "--lake_root"                 = regex("^s3://[^/]+", var.lake_uris.silver_path)
    "--job-bookmark-option"       = "job-bookmark-disable"
    "--expire_snapshots"          = "false"
  })
}

# ---------------------------------------------------------------------------------------------
# Artifacts (built by `make package-glue`).
# ---------------------------------------------------------------------------------------------

resource "aws_s3_object" "script" {
  for_each = local.script_files

  bucket       = var.scripts_bucket_name
  key          = "glue/scripts/${each.value}"
  source       = "${var.artifacts_dir}/${each.value}"
  source_hash  = filemd5("${var.artifacts_dir}/${each.value}")
  content_type = "text/x-python"
  kms_key_id   = var.kms_key_arn

  server_side_encryption = "aws:kms"
}

resource "aws_s3_object" "library" {
  bucket       = var.scripts_bucket_name
  key          = local.library_key
  source       = local.library_file
  source_hash  = fileexists(local.library_file) ? filemd5(local.library_file) : null
  content_type = "application/zip"
  kms_key_id   = var.kms_key_arn

  server_side_encryption = "aws:kms"

  lifecycle {
    precondition {
      condition     = fileexists(local.library_file)
      error_message = "${local.library_file} is missing: run `make package-glue` (or set glue.artifacts_dir to its output folder)."
    }
  }
}

resource "aws_s3_object" "lock" {
  count = length(local.locking_jobs) > 0 ? 1 : 0

  bucket       = var.scripts_bucket_name
  key          = local.lock_key
  source       = local.lock_file
  source_hash  = fileexists(local.lock_file) ? filemd5(local.lock_file) : null
  content_type = "application/zip"
  kms_key_id   = var.kms_key_arn

  server_side_encryption = "aws:kms"

  lifecycle {
    precondition {
      condition     = fileexists(local.lock_file) && fileexists(local.lock_requirements)
      error_message = "${local.lock_file} or ${local.lock_requirements} is missing: run `make package-glue` (or set glue.artifacts_dir to its output folder)."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Encryption of everything Glue writes, and the job logs.
# ---------------------------------------------------------------------------------------------

resource "aws_glue_security_configuration" "this" {
  #checkov:skip=CKV_AWS_99:CloudWatch encryption is off on purpose: with it Glue renames the log groups after the role and the configuration (https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html, LogGroupName), so the groups below would stay empty. They are encrypted with the lake key by CloudWatch Logs itself.
  name = "${var.name}-lake"

  encryption_configuration {
    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "DISABLED"
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }
  }
}

# The jobs' log groups (Glue 5.0: <prefix>/error and <prefix>/output), created before any job
# runs so that Glue writes into them: retained and encrypted with the lake key
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
resource "aws_cloudwatch_log_group" "this" {
  for_each = toset(["error", "output"])

  name              = "${var.log_group_name}/${each.key}"
  retention_in_days = var.settings.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# Crawlers log to the account's fixed /aws-glue/crawlers group (one stream per crawler). It is
# account-wide: exactly one environment of an account manages it.
resource "aws_cloudwatch_log_group" "crawlers" {
  count = var.settings.manage_crawler_log_group ? 1 : 0

  name              = "/aws-glue/crawlers"
  retention_in_days = var.settings.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# ---------------------------------------------------------------------------------------------
# Data Catalog
# ---------------------------------------------------------------------------------------------

resource "aws_glue_catalog_database" "this" {
  for_each = var.database_names

  name        = each.value
  description = "${var.name} lakehouse, ${each.key} layer"

  # No create_table_default_permission: new tables take the account's default, which Lake
  # Formation (when enabled) has emptied before the databases are created.
  depends_on = [var.catalog_after]
}

# Tables are declared from the declarations (as athena-queries/ddl is generated from them), so
# their types never depend on a crawler's guess.
resource "aws_glue_catalog_table" "bronze" {
  for_each = local.bronze_tables

  database_name = aws_glue_catalog_database.this["bronze"].name
  name          = each.key
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"
  parameters    = merge({ EXTERNAL = "TRUE", classification = "csv" }, local.catalog.bronze.table_parameters)

  storage_descriptor {
    location      = each.value.location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = local.catalog.bronze.serde_library
      parameters            = local.catalog.bronze.serde_properties
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name = columns.value
        type = "string"
      }
    }
  }
}

# Silver, history and gold: Iceberg tables created by the Data Catalog on apply (an empty format v2
# table with the declared columns), so that Lake Formation's row filters and the table
# optimizers below can name them before the first job run, and an Athena query before that run
# finds an empty table instead of TABLE_NOT_FOUND. From then on the jobs own the table: they give
# it the layout of declarations/layout.json, partitioned by bucket(N, tenant_id) and sorted by
# tenant_id (this provider cannot declare an Iceberg partition spec or sort order:
# hashicorp/terraform-provider-aws#36531), set the table properties, evolve the
# schema and commit snapshots, each commit moving `metadata_location`. Terraform therefore
# ignores the columns and parameters after creation instead of reverting them.
resource "aws_glue_catalog_table" "iceberg" {
  for_each = local.iceberg_tables

  database_name = aws_glue_catalog_database.this[each.value.database].name
  name          = each.value.name
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"
  parameters    = local.iceberg_parameters

  open_table_format_input {
    iceberg_input {
      metadata_operation = "CREATE"
      version            = "2"
    }
  }

  storage_descriptor {
    location = "${each.value.root}/"

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment == "" ? null : columns.value.comment
      }
    }
  }

  lifecycle {
    ignore_changes = [parameters, storage_descriptor, open_table_format_input]
  }
}

# ---------------------------------------------------------------------------------------------
# Iceberg table maintenance: the Data Catalog's table optimizers do on AWS what
# `lakehouse maintain` does locally (compaction, snapshot expiry, orphan-file deletion).
# https://docs.aws.amazon.com/glue/latest/dg/table-optimizers.html
# ---------------------------------------------------------------------------------------------

locals {
  optimizer_types = ["compaction", "retention", "orphan_file_deletion"]
  optimizers = {
    for pair in setproduct(keys(local.iceberg_tables), local.optimizer_types) :
    "${pair[0]}/${pair[1]}" => { table = pair[0], type = pair[1] }
  }
  lake_bucket_arns = distinct([
    for path in [var.lake_uris.silver_path, var.lake_uris.gold_path] :
    "arn:${var.partition}:s3:::${regex("^s3://([^/]+)", path)[0]}"
  ])
}

data "aws_iam_policy_document" "optimizer_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_iam_role" "optimizer" {
  name               = "${var.name}-table-optimizer"
  description        = "Glue Data Catalog table optimizers of the silver, history and gold Iceberg tables"
  assume_role_policy = data.aws_iam_policy_document.optimizer_assume.json
}

# What an optimizer needs: read and rewrite the tables' files, commit to their catalog entries,
# write its logs (https://docs.aws.amazon.com/glue/latest/dg/optimization-prerequisites.html).
data "aws_iam_policy_document" "optimizer" {
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = local.lake_bucket_arns
  }
  statement {
    sid       = "RewriteTableFiles"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [for table in local.iceberg_tables : "arn:${var.partition}:s3:::${trimprefix(table.root, "s3://")}/*"]
  }
  statement {
    sid     = "CommitToTables"
    actions = ["glue:GetTable", "glue:UpdateTable", "glue:GetDatabase"]
    resources = concat(
      ["arn:${var.partition}:glue:${var.region}:${var.account_id}:catalog"],
      [for db in ["silver", "gold"] : "arn:${var.partition}:glue:${var.region}:${var.account_id}:database/${var.database_names[db]}"],
      [for table in local.iceberg_tables : "arn:${var.partition}:glue:${var.region}:${var.account_id}:table/${var.database_names[table.database]}/${table.name}"],
    )
  }
  statement {
    sid     = "OptimizerLogs"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      for kind in ["compaction", "retention", "orphan-file-deletion"] :
      "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:/aws-glue/iceberg-${kind}/logs:*"
    ]
  }
}

resource "aws_iam_role_policy" "optimizer" {
  name   = "table-optimizer"
  role   = aws_iam_role.optimizer.id
  policy = data.aws_iam_policy_document.optimizer.json
}

# The lake key in a policy of its own: its ARN is known only once the key exists, and the policy
# above stays readable in a plan.
data "aws_iam_policy_document" "optimizer_kms" {
  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "optimizer_kms" {
  name   = "table-optimizer-kms"
  role   = aws_iam_role.optimizer.id
  policy = data.aws_iam_policy_document.optimizer_kms.json
}

resource "aws_glue_catalog_table_optimizer" "this" {
  for_each = var.settings.table_optimizers ? local.optimizers : {}

  catalog_id    = var.account_id
  database_name = aws_glue_catalog_table.iceberg[each.value.table].database_name
  table_name    = aws_glue_catalog_table.iceberg[each.value.table].name
  type          = each.value.type

  configuration {
    role_arn = aws_iam_role.optimizer.arn
    enabled  = true

    dynamic "retention_configuration" {
      for_each = each.value.type == "retention" ? [1] : []
      content {
        iceberg_configuration {
          snapshot_retention_period_in_days = var.settings.snapshot_retention_days
          number_of_snapshots_to_retain     = var.settings.snapshots_to_retain
          clean_expired_files               = true
        }
      }
    }

    dynamic "orphan_file_deletion_configuration" {
      for_each = each.value.type == "orphan_file_deletion" ? [1] : []
      content {
        iceberg_configuration {
          orphan_file_retention_period_in_days = var.settings.orphan_file_retention_days
          location                             = "${local.iceberg_tables[each.value.table].root}/"
        }
      }
    }
  }

  depends_on = [aws_iam_role_policy.optimizer, aws_iam_role_policy.optimizer_kms]
}

resource "aws_glue_classifier" "this" {
  name = "${var.name}-bronze-csv"

  csv_classifier {
    contains_header = "PRESENT"
    delimiter       = local.catalog.bronze.delimiter
    quote_symbol    = local.catalog.bronze.quote
  }
}

# Watches the declared bronze tables: with LOG policies it reports schema drift in the DMS files
# (a new source column) without rewriting the declared schema.
resource "aws_glue_crawler" "bronze" {
  name                   = "${var.name}-bronze"
  description            = "Checks the DMS bronze files against the declared bronze tables"
  database_name          = aws_glue_catalog_database.this["bronze"].name
  role                   = var.role_arn
  classifiers            = [aws_glue_classifier.this.name]
  security_configuration = aws_glue_security_configuration.this.name

  catalog_target {
    database_name = aws_glue_catalog_database.this["bronze"].name
    tables        = [for table in aws_glue_catalog_table.bronze : table.name]
  }

  schema_change_policy {
    update_behavior = "LOG"
    delete_behavior = "LOG"
  }

  configuration = jsonencode({
    Version = 1.0
  })
}

# ---------------------------------------------------------------------------------------------
# Jobs: one per script (per_job mode) or run_pipeline (single_job mode), and offboard_tenant.
# ---------------------------------------------------------------------------------------------

resource "aws_glue_job" "this" {
  for_each = local.deployed_jobs

  name                   = "${var.name}-${each.key}"
  description            = "lakehouse job ${each.key} (glue-scripts/${each.key}.py)"
  role_arn               = var.role_arn
  glue_version           = var.settings.glue_version
  worker_type            = coalesce(try(var.settings.jobs[each.key].worker_type, null), var.settings.worker_type)
  number_of_workers      = coalesce(try(var.settings.jobs[each.key].number_of_workers, null), var.settings.number_of_workers)
  timeout                = var.settings.timeout_minutes
  max_retries            = var.settings.max_retries
  security_configuration = aws_glue_security_configuration.this.name
  default_arguments = merge(
    each.key == local.single_job_name ? local.single_job_arguments : contains(local.on_demand_jobs, each.key) ? local.on_demand_job_arguments : local.job_arguments,
    contains(local.silver_jobs, each.key) && var.settings.silver_slice_bytes != null ? { "--slice_bytes" = tostring(var.settings.silver_slice_bytes) } : {},
  )

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${var.scripts_bucket_name}/${aws_s3_object.script["${each.key}.py"].key}"
  }

  # Bookmarks and Iceberg commits assume one run of a job at a time (a second run would only
  # lose its commit to the first and retry).
  execution_property {
    max_concurrent_runs = 1
  }

  lifecycle {
    precondition {
      condition     = length(setsubtract(keys(var.settings.jobs), setunion(local.jobs, local.on_demand_jobs))) == 0
      error_message = "glue.jobs names jobs that do not exist: ${join(", ", sort(setsubtract(keys(var.settings.jobs), setunion(local.jobs, local.on_demand_jobs))))}. Keys are job script stems, e.g. transform_events_bronze_to_silver."
    }
  }

  depends_on = [aws_s3_object.library, aws_s3_object.lock, aws_cloudwatch_log_group.this]
}

# ---------------------------------------------------------------------------------------------
# Workflow: the same DAG as `lakehouse pipeline run`.
# ---------------------------------------------------------------------------------------------

resource "aws_glue_workflow" "this" {
  count = local.single_job ? 0 : 1

  name        = "${var.name}-pipeline"
  description = "All silver jobs, then all gold jobs and the quality report"

  # One writer per lake, as `lakehouse pipeline run` takes the lake's writer lock: a second run
  # (a schedule overlapping a slow run, a manual start) fails to start instead of rewriting the
  # partitions the first one reads.
  max_concurrent_runs = 1

  lifecycle {
    precondition {
      condition     = length(local.unplaced_jobs) == 0
      error_message = "Glue scripts with no place in the pipeline DAG: ${join(", ", local.unplaced_jobs)}. A script must be transform_<entity>_bronze_to_silver (entities.json), create_gold_<mart> (gold.json) or publish_quality_report."
    }
  }
}

resource "aws_glue_trigger" "this" {
  for_each = local.single_job ? {} : { for index, stage in local.stages : stage.name => merge(stage, { index = index }) }

  name          = "${var.name}-${each.key}"
  description   = "Starts the ${each.key} stage of the pipeline"
  workflow_name = aws_glue_workflow.this[0].name
  type          = each.value.index > 0 ? "CONDITIONAL" : (var.settings.schedule == null ? "ON_DEMAND" : "SCHEDULED")
  schedule      = each.value.index == 0 ? var.settings.schedule : null

  start_on_creation = each.value.index > 0 || var.settings.schedule != null ? true : null

  dynamic "predicate" {
    for_each = each.value.index > 0 ? [local.stages[each.value.index - 1]] : []
    content {
      logical = "AND"
      dynamic "conditions" {
        for_each = predicate.value.jobs
        content {
          job_name         = aws_glue_job.this[conditions.value].name
          state            = "SUCCEEDED"
          logical_operator = "EQUALS"
        }
      }
    }
  }

  dynamic "actions" {
    for_each = each.value.jobs
    content {
      job_name = aws_glue_job.this[actions.value].name
    }
  }
}

# ---------------------------------------------------------------------------------------------
# single_job mode: the one job on its schedule (no workflow: there is nothing to chain).
# ---------------------------------------------------------------------------------------------

resource "aws_glue_trigger" "single_job" {
  count = local.single_job ? 1 : 0

  name              = "${var.name}-pipeline"
  description       = "Starts ${local.single_job_name}: the whole pipeline in one Glue job"
  type              = var.settings.schedule == null ? "ON_DEMAND" : "SCHEDULED"
  schedule          = var.settings.schedule
  start_on_creation = var.settings.schedule != null ? true : null

  actions {
    job_name = aws_glue_job.this[local.single_job_name].name
  }
}
