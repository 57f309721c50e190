locals {
  create = var.database.create
}

# ---------------------------------------------------------------------------------------------
# Credentials: generated once per rotation, written write-only; DMS reads them from the secret.
# ---------------------------------------------------------------------------------------------

ephemeral "aws_secretsmanager_random_password" "this" {
  count = local.create ? 1 : 0

  password_length     = 40
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Rotation needs a Lambda rotator; rotate by bumping database.password_version, which rewrites instance and secret in one apply.
  count = local.create ? 1 : 0

  name_prefix = "${var.name}-source-db-"
  description = "Source PostgreSQL credentials in the form DMS reads (username, password, host, port, dbname)."
  kms_key_id  = var.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "this" {
  count = local.create ? 1 : 0

  secret_id = aws_secretsmanager_secret.this[0].id
  secret_string_wo = jsonencode({
    engine   = "postgres"
    username = var.database.username
    password = ephemeral.aws_secretsmanager_random_password.this[0].random_password
    host     = aws_db_instance.this[0].address
    port     = var.database.port
    dbname   = var.database.database_name
  })
  secret_string_wo_version = var.database.password_version
}

# ---------------------------------------------------------------------------------------------
# RDS PostgreSQL 15 with logical replication (the DMS CDC source).
# ---------------------------------------------------------------------------------------------

resource "aws_db_subnet_group" "this" {
  count = local.create ? 1 : 0

  name_prefix = "${var.name}-source-"
  description = "Private subnets of the source database"
  subnet_ids  = var.subnet_ids
}

resource "aws_security_group" "this" {
  count = local.create ? 1 : 0

  name_prefix = "${var.name}-source-db-"
  description = "Source PostgreSQL: reachable only from the DMS replication instance"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each = local.create ? var.client_security_groups : {}

  security_group_id            = aws_security_group.this[0].id
  description                  = "PostgreSQL from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.database.port
  to_port                      = var.database.port
  referenced_security_group_id = each.value
}

resource "aws_db_parameter_group" "this" {
  count = local.create ? 1 : 0

  name_prefix = "${var.name}-source-pg15-"
  family      = "postgres15"
  description = "Logical replication for DMS CDC, TLS only, slow-query logging"

  # DMS reads the WAL through a logical replication slot.
  parameter {
    name         = "rds.logical_replication"
    value        = "1"
    apply_method = "pending-reboot"
  }
  # The DMS endpoint connects with TLS; refuse anything else.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  # A replication slot DMS stops reading (task stopped, deleted, failing) pins WAL until the disk
  # is full and the source stops. Past this size the slot is invalidated instead: the source keeps
  # running and the DMS task fails (alarms), to be restarted with a new full load.
  # https://www.postgresql.org/docs/15/runtime-config-replication.html#GUC-MAX-SLOT-WAL-KEEP-SIZE
  parameter {
    name  = "max_slot_wal_keep_size"
    value = tostring(var.database.max_slot_wal_keep_size_mb)
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = local.create ? 1 : 0

  name_prefix        = "${var.name}-rds-mon-"
  description        = "RDS enhanced monitoring of the source database"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume[0].json
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is database.multi_az (on for production in terraform.tfvars.example); dev saves the standby's cost.
  count = local.create ? 1 : 0

  identifier_prefix = "${var.name}-source-"
  engine            = "postgres"
  engine_version    = var.database.engine_version
  instance_class    = var.database.instance_class
  db_name           = var.database.database_name
  username          = var.database.username
  port              = var.database.port

  password_wo         = ephemeral.aws_secretsmanager_random_password.this[0].random_password
  password_wo_version = var.database.password_version

  allocated_storage     = var.database.allocated_storage_gb
  max_allocated_storage = var.database.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this[0].name
  vpc_security_group_ids = [aws_security_group.this[0].id]
  parameter_group_name   = aws_db_parameter_group.this[0].name
  publicly_accessible    = false
  multi_az               = var.database.multi_az

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  backup_retention_period             = var.database.backup_retention_days
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.database.deletion_protection
  skip_final_snapshot                 = var.database.skip_final_snapshot
  final_snapshot_identifier           = "${var.name}-source-final"
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]

  performance_insights_enabled    = var.database.performance_insights_enabled
  performance_insights_kms_key_id = var.database.performance_insights_enabled ? var.kms_key_arn : null
  monitoring_interval             = var.database.monitoring_interval_seconds
  monitoring_role_arn             = aws_iam_role.monitoring[0].arn
}
