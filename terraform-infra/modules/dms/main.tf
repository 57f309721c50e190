locals {
  contract = jsondecode(file(var.bronze_contract_file))
  entities = jsondecode(file(var.entities_file))

  # The S3 target settings exactly as the bronze contract states them: its `terraform` map names
  # the aws_dms_s3_endpoint argument of each setting. A setting with a local and an AWS value
  # (`{"aws": 60, "local": 1}`, the CDC flush interval) contributes its AWS value.
  contract_settings = {
    for key, argument in local.contract.terraform :
    argument => try(local.contract[key].aws, local.contract[key])
  }

  # The DMS API takes the CSV delimiters as escape sequences ("\n" as backslash-n, the provider's
  # own default); the contract holds the characters themselves.
  delimiter_escapes = { "\n" = "\\n", "\r" = "\\r", "\t" = "\\t" }
  s3_settings = merge(local.contract_settings, {
    for argument in ["csv_delimiter", "csv_row_delimiter"] :
    argument => lookup(local.delimiter_escapes, local.contract_settings[argument], local.contract_settings[argument])
  })

  # Every argument set on aws_dms_s3_endpoint.bronze from the contract; a precondition fails the
  # plan when the contract gains a setting that is not wired here.
  applied_arguments = [
    "add_column_name", "bucket_folder", "cdc_inserts_and_updates", "cdc_inserts_only",
    "cdc_max_batch_interval", "cdc_min_file_size", "compression_type", "csv_delimiter",
    "csv_null_value", "csv_row_delimiter", "data_format", "date_partition_enabled",
    "include_op_for_full_load", "max_file_size", "preserve_transactions", "rfc_4180",
    "timestamp_column_name", "use_task_start_time_for_full_load_timestamp",
  ]

  schema = local.entities.schema

  table_mappings = {
    rules = concat(
      [
        for index, entity in local.entities.entities : {
          "rule-type"      = "selection"
          "rule-id"        = tostring(index + 1)
          "rule-name"      = "include-${entity.name}"
          "object-locator" = { "schema-name" = local.schema, "table-name" = entity.name }
          "rule-action"    = "include"
        }
      ],
      # The change sequence column of the contract: DMS's own commit-ordered change sequence.
      [
        for index, entity in local.entities.entities : {
          "rule-type"      = "transformation"
          "rule-id"        = tostring(1000 + index + 1)
          "rule-name"      = "add-${local.contract.change_seq_column}-${entity.name}"
          "rule-target"    = "column"
          "object-locator" = { "schema-name" = local.schema, "table-name" = entity.name }
          "rule-action"    = "add-column"
          "value"          = local.contract.change_seq_column
          "expression"     = local.contract.change_seq_expression
          "data-type"      = { "type" = "string", "length" = local.contract.change_seq_width }
        }
      ],
    )
  }

  task_settings = {
    TargetMetadata = {
      # jsonb and unbounded text are LOBs to DMS. Limited LOB mode would truncate long values
      # silently; full LOB mode never does, and values up to the inline size still travel inline.
      SupportLobs        = true
      FullLobMode        = true
      LobChunkSize       = 64
      LimitedSizeLobMode = false
      InlineLobMaxSize   = var.settings.inline_lob_max_size_kb
    }
    FullLoadSettings = {
      # Bronze is the replayable history: never delete earlier files when the task restarts.
      TargetTablePrepMode = "DO_NOTHING"
      MaxFullLoadSubTasks = 8
    }
    Logging = {
      EnableLogging = true
    }
    # A row DMS cannot convert stops the task (and raises the failure alarm) instead of being
    # skipped: bronze never silently loses a change.
    ErrorBehavior = {
      DataErrorPolicy            = "STOP_TASK"
      DataTruncationErrorPolicy  = "STOP_TASK"
      TableErrorPolicy           = "STOP_TASK"
      ApplyErrorDeletePolicy     = "LOG_ERROR"
      ApplyErrorInsertPolicy     = "LOG_ERROR"
      ApplyErrorUpdatePolicy     = "LOG_ERROR"
      RecoverableErrorCount      = -1
      RecoverableErrorInterval   = 5
      RecoverableErrorThrottling = true
    }
  }
}

resource "aws_dms_replication_subnet_group" "this" {
  replication_subnet_group_id          = "${var.name}-dms"
  replication_subnet_group_description = "Private subnets of the ${var.name} replication instance"
  subnet_ids                           = var.subnet_ids
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-dms-"
  description = "DMS replication instance: PostgreSQL source out, HTTPS to S3 and Secrets Manager"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "source" {
  for_each = toset(var.source_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL source"
  ip_protocol       = "tcp"
  from_port         = var.source_database.port
  to_port           = var.source_database.port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to S3 and Secrets Manager (gateway or interface endpoints, or NAT)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_dms_replication_instance" "this" {
  replication_instance_id     = "${var.name}-dms"
  replication_instance_class  = var.settings.instance_class
  allocated_storage           = var.settings.allocated_storage_gb
  engine_version              = var.settings.engine_version
  multi_az                    = var.settings.multi_az
  publicly_accessible         = false
  auto_minor_version_upgrade  = true
  kms_key_arn                 = var.kms_key_arn
  replication_subnet_group_id = aws_dms_replication_subnet_group.this.id
  vpc_security_group_ids      = [aws_security_group.this.id]
}

resource "aws_dms_endpoint" "source" {
  endpoint_id     = "${var.name}-source"
  endpoint_type   = "source"
  engine_name     = "postgres"
  database_name   = var.source_database.database_name
  ssl_mode        = var.settings.ssl_mode
  certificate_arn = var.settings.certificate_arn
  kms_key_arn     = var.kms_key_arn

  secrets_manager_arn             = var.source_database.secret_arn
  secrets_manager_access_role_arn = var.secrets_role_arn

  postgres_settings {
    # Heartbeats keep the replication slot's restart LSN moving while the source is idle, so an
    # idle slot does not pin WAL on the source disk.
    heartbeat_enable    = true
    heartbeat_frequency = var.settings.heartbeat_frequency_minutes
    capture_ddls        = false
  }
}

resource "aws_dms_s3_endpoint" "bronze" {
  endpoint_id                       = "${var.name}-bronze"
  endpoint_type                     = "target"
  bucket_name                       = var.bronze_bucket_name
  expected_bucket_owner             = var.account_id
  service_access_role_arn           = var.s3_target_role_arn
  encryption_mode                   = "SSE_KMS"
  server_side_encryption_kms_key_id = var.kms_key_arn
  kms_key_arn                       = var.kms_key_arn

  # The bronze contract (glue-scripts/lakehouse_glue/declarations/bronze_contract.json).
  bucket_folder                               = local.s3_settings.bucket_folder
  data_format                                 = local.s3_settings.data_format
  compression_type                            = local.s3_settings.compression_type
  add_column_name                             = local.s3_settings.add_column_name
  include_op_for_full_load                    = local.s3_settings.include_op_for_full_load
  cdc_inserts_only                            = local.s3_settings.cdc_inserts_only
  cdc_inserts_and_updates                     = local.s3_settings.cdc_inserts_and_updates
  timestamp_column_name                       = local.s3_settings.timestamp_column_name
  use_task_start_time_for_full_load_timestamp = local.s3_settings.use_task_start_time_for_full_load_timestamp
  rfc_4180                                    = local.s3_settings.rfc_4180
  csv_delimiter                               = local.s3_settings.csv_delimiter
  csv_row_delimiter                           = local.s3_settings.csv_row_delimiter
  # NULL is written as this marker (CsvNullValue: "a user-defined string as null when writing to
  # the target ... to differentiate between the empty string value and the null value",
  # https://docs.aws.amazon.com/dms/latest/APIReference/API_S3Settings.html). It must not be
  # empty: the provider sends it only when set (d.GetOk in
  # hashicorp/terraform-provider-aws internal/service/dms/s3_endpoint.go), and DMS's default
  # then writes NULL and '' alike. The precondition below refuses an empty marker.
  csv_null_value         = local.s3_settings.csv_null_value
  cdc_max_batch_interval = local.s3_settings.cdc_max_batch_interval
  cdc_min_file_size      = local.s3_settings.cdc_min_file_size
  date_partition_enabled = local.s3_settings.date_partition_enabled
  preserve_transactions  = local.s3_settings.preserve_transactions
  # Full-load files of at most this many KB of CSV (64 MiB in the contract, not the 1 GB default:
  # "the maximum size (in KB) of any .csv file to be created while migrating to an S3 target
  # during full load", https://docs.aws.amazon.com/dms/latest/APIReference/API_S3Settings.html).
  # A gzip file cannot be split, so Glue reads each one in a single task: smaller files let a
  # large table's first silver run read on every core (docs/bronze-contract.md#full-load-file-size).
  max_file_size = local.s3_settings.max_file_size

  lifecycle {
    precondition {
      condition     = local.s3_settings.csv_null_value != ""
      error_message = "bronze_contract.json: csv_null_value is empty; the provider would not send it and DMS would write NULL and '' alike. Set a non-empty marker (docs/bronze-contract.md)."
    }
    precondition {
      condition     = length(setsubtract(keys(local.s3_settings), local.applied_arguments)) == 0
      error_message = "bronze_contract.json maps settings to arguments not wired in modules/dms: ${join(", ", setsubtract(keys(local.s3_settings), local.applied_arguments))}. Add them to aws_dms_s3_endpoint.bronze."
    }
  }
}

resource "aws_dms_replication_task" "this" {
  replication_task_id       = "${var.name}-bronze"
  migration_type            = "full-load-and-cdc"
  replication_instance_arn  = aws_dms_replication_instance.this.replication_instance_arn
  source_endpoint_arn       = aws_dms_endpoint.source.endpoint_arn
  target_endpoint_arn       = aws_dms_s3_endpoint.bronze.endpoint_arn
  table_mappings            = jsonencode(local.table_mappings)
  replication_task_settings = jsonencode(local.task_settings)
  start_replication_task    = var.settings.start_task
}
