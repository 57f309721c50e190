locals {
  arn_prefix = "arn:${var.partition}"

  # One filter per table: Lake Formation filters are table-scoped.
  tables = { for table in var.tables : "${table.database_name}.${table.table_name}" => table }
  # Filter names are at most 255 characters: the tenant uuid without dashes keeps them short.
  filter_name = "tenant_${replace(var.tenant_id, "-", "")}"

  results_prefix = "${trim(var.results_prefix, "/")}/"
  # The role's ARN from its name, so that every grant's principal is known at plan time (and
  # checked by tests/terraform_infra); the name still orders the grants after the role.
  role_arn      = "${local.arn_prefix}:iam::${var.account_id}:role/${aws_iam_role.this.name}"
  workgroup_arn = "${local.arn_prefix}:athena:${var.region}:${var.account_id}:workgroup/${var.name}"
  catalog_arns = concat(
    ["${local.arn_prefix}:glue:${var.region}:${var.account_id}:catalog"],
    [for db in var.database_names : "${local.arn_prefix}:glue:${var.region}:${var.account_id}:database/${db}"],
    [for db in var.database_names : "${local.arn_prefix}:glue:${var.region}:${var.account_id}:table/${db}/*"],
  )
}

# ---------------------------------------------------------------------------------------------
# Lake Formation: the tenant's rows of every silver and gold table, and nothing table-wide.
# ---------------------------------------------------------------------------------------------

resource "aws_lakeformation_data_cells_filter" "this" {
  for_each = local.tables

  table_data {
    database_name    = each.value.database_name
    table_name       = each.value.table_name
    table_catalog_id = var.account_id
    name             = local.filter_name

    row_filter {
      filter_expression = "tenant_id = '${var.tenant_id}'"
    }

    column_wildcard {}
  }

  depends_on = [var.grants_after]
}

# SELECT on the filter is the tenant's only data permission: Athena then reads the table through
# the filter's rows. https://docs.aws.amazon.com/lake-formation/latest/dg/granting-data-perms-for-filters.html
resource "aws_lakeformation_permissions" "filter" {
  for_each = local.tables

  principal   = local.role_arn
  permissions = ["SELECT"]

  data_cells_filter {
    database_name    = each.value.database_name
    table_name       = each.value.table_name
    table_catalog_id = var.account_id
    name             = aws_lakeformation_data_cells_filter.this[each.key].table_data[0].name
  }
}

# DESCRIBE on the databases lets Athena list them; it carries no data.
resource "aws_lakeformation_permissions" "database" {
  for_each = toset(var.database_names)

  principal   = local.role_arn
  permissions = ["DESCRIBE"]

  database {
    name = each.value
  }

  depends_on = [var.grants_after]
}

# ---------------------------------------------------------------------------------------------
# The tenant's principal: its own workgroup, the catalog, Lake Formation's credentials, its own
# results prefix. No S3 permission on silver or gold: those bytes come only through the filter.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.principal_arns
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Tenant ${var.tenant_key}: Athena over its own rows of silver and gold (Lake Formation filters)."
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  statement {
    sid = "RunQueriesInTheTenantWorkgroup"
    actions = [
      "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
      "athena:GetQueryResults", "athena:GetQueryResultsStream", "athena:ListQueryExecutions",
      "athena:GetWorkGroup", "athena:BatchGetQueryExecution",
    ]
    resources = [local.workgroup_arn]
  }
  statement {
    sid = "ReadCatalog"
    actions = [
      "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
      "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
    ]
    resources = local.catalog_arns
  }
  # Athena needs lakeformation:GetDataAccess to query registered data; the action has no
  # resource type, so "*" (what Lake Formation then vends is decided by the grants above).
  # https://docs.aws.amazon.com/athena/latest/ug/lf-athena-user-permissions.html
  statement {
    sid       = "LakeFormationCredentials"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }
  statement {
    sid       = "ListOwnResults"
    actions   = ["s3:ListBucket"]
    resources = [var.results_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.results_prefix}*"]
    }
  }
  statement {
    sid       = "OwnResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.results_bucket_arn}/${local.results_prefix}*"]
  }
  statement {
    sid       = "ResultsBucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.results_bucket_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "tenant-analyst"
  role   = aws_iam_role.this.name
  policy = data.aws_iam_policy_document.this.json
}

# The key in a policy of its own: its ARN is known only after apply, and keeping it apart leaves
# the policy above fully known at plan time (tests/terraform_infra reads it).
data "aws_iam_policy_document" "results_key" {
  statement {
    sid       = "EncryptResults"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "results_key" {
  name   = "results-key"
  role   = aws_iam_role.this.name
  policy = data.aws_iam_policy_document.results_key.json
}

# ---------------------------------------------------------------------------------------------
# The tenant's Athena workgroup: its own results prefix, enforced, encrypted, bounded.
# ---------------------------------------------------------------------------------------------

resource "aws_athena_workgroup" "this" {
  name          = var.name
  description   = "Tenant ${var.tenant_key}: enforced settings, own encrypted results, bounded scans"
  force_destroy = false

  configuration {
    # Users cannot override the result location, encryption or the scan limit per query.
    # https://docs.aws.amazon.com/athena/latest/ug/workgroups-settings-override.html
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${var.results_bucket_name}/${local.results_prefix}"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}
