locals {
  arn_prefix = "arn:${var.partition}"

  # Table-wide permissions of the pipeline on every table of every lake database (no DROP: the
  # tables are Terraform's). Nobody else but the table optimizers (on silver and gold) and the
  # administrators holds a table-wide grant.
  pipeline_table_permissions = ["SELECT", "INSERT", "DELETE", "DESCRIBE", "ALTER"]
  admin_readers = {
    for pair in setproduct(var.admin_arns, var.curated_database_names) :
    "${pair[1]}/${pair[0]}" => { principal = pair[0], database_name = pair[1] }
  }
}

# ---------------------------------------------------------------------------------------------
# Data lake settings: Lake Formation permissions, not IAM alone, govern new databases and tables.
# ---------------------------------------------------------------------------------------------

# No create_database_default_permissions / create_table_default_permissions blocks: the provider
# then leaves both lists out of PutDataLakeSettings, which AWS documents as equivalent to passing
# empty lists: IAMAllowedPrincipals is no longer the default of new databases and tables, and
# access to them is Lake Formation's alone.
# https://docs.aws.amazon.com/lake-formation/latest/dg/change-settings.html
# The settings are account-wide (one per catalog): with several environments in one account,
# exactly one of them manages them (`manage_settings`).
resource "aws_lakeformation_data_lake_settings" "this" {
  count = var.manage_settings ? 1 : 0

  catalog_id = var.account_id
  # Terraform's own identity stays an administrator, or it could no longer change the grants it
  # made.
  admins = distinct(concat(var.admin_arns, [var.terraform_principal_arn]))

  # Only engines that enforce the filters themselves (Athena, Glue, EMR) get vended credentials.
  allow_external_data_filtering = false
}

# ---------------------------------------------------------------------------------------------
# Registered locations: Lake Formation vends the credentials for silver and gold.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "locations_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:SetContext"]
    principals {
      type        = "Service"
      identifiers = ["lakeformation.amazonaws.com"]
    }
  }
}

# A user-defined role (not the service-linked role): the locations are encrypted with the lake's
# customer-managed key, which the role must be able to use.
# https://docs.aws.amazon.com/lake-formation/latest/dg/registration-role.html
# https://docs.aws.amazon.com/lake-formation/latest/dg/register-encrypted.html
resource "aws_iam_role" "locations" {
  name               = "${var.name}-lakeformation-locations"
  description        = "Lake Formation reads the registered silver and gold locations for integrated engines."
  assume_role_policy = data.aws_iam_policy_document.locations_assume.json
}

data "aws_iam_policy_document" "locations" {
  statement {
    sid       = "ReadWriteRegisteredObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [for arn in values(var.registered_bucket_arns) : "${arn}/*"]
  }
  statement {
    sid       = "ListRegisteredBuckets"
    actions   = ["s3:ListBucket"]
    resources = values(var.registered_bucket_arns)
  }
  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "locations" {
  name   = "registered-locations"
  role   = aws_iam_role.locations.id
  policy = data.aws_iam_policy_document.locations.json
}

# Not hybrid: Lake Formation permissions alone decide who reads through the catalog.
# https://docs.aws.amazon.com/lake-formation/latest/dg/register-location.html
resource "aws_lakeformation_resource" "this" {
  for_each = var.registered_bucket_arns

  arn                   = each.value
  role_arn              = aws_iam_role.locations.arn
  hybrid_access_enabled = false

  depends_on = [aws_iam_role_policy.locations]
}

# ---------------------------------------------------------------------------------------------
# The pipeline (Glue jobs and crawlers): every lake database and table, and the locations.
# ---------------------------------------------------------------------------------------------

resource "aws_lakeformation_permissions" "pipeline_location" {
  for_each = var.registered_bucket_arns

  principal   = var.pipeline_role_arn
  permissions = ["DATA_LOCATION_ACCESS"]

  data_location {
    arn = aws_lakeformation_resource.this[each.key].arn
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

resource "aws_lakeformation_permissions" "pipeline_database" {
  for_each = toset(var.database_names)

  principal   = var.pipeline_role_arn
  permissions = ["CREATE_TABLE", "ALTER", "DESCRIBE"]

  database {
    name = each.value
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

resource "aws_lakeformation_permissions" "pipeline_tables" {
  for_each = toset(var.database_names)

  principal   = var.pipeline_role_arn
  permissions = local.pipeline_table_permissions

  table {
    database_name = each.value
    wildcard      = true
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

# ---------------------------------------------------------------------------------------------
# The Iceberg table optimizers (modules/glue): with the locations registered, IAM alone no longer
# lets them read and rewrite the tables' files or commit, so they get the same data-location and
# table permissions as the pipeline on the tenant-partitioned databases only.
# https://docs.aws.amazon.com/glue/latest/dg/optimization-prerequisites.html
# ---------------------------------------------------------------------------------------------

resource "aws_lakeformation_permissions" "maintenance_location" {
  for_each = var.maintenance_role_arn == null ? {} : var.registered_bucket_arns

  principal   = var.maintenance_role_arn
  permissions = ["DATA_LOCATION_ACCESS"]

  data_location {
    arn = aws_lakeformation_resource.this[each.key].arn
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

resource "aws_lakeformation_permissions" "maintenance_tables" {
  for_each = var.maintenance_role_arn == null ? toset([]) : toset(var.curated_database_names)

  principal   = var.maintenance_role_arn
  permissions = local.pipeline_table_permissions

  table {
    database_name = each.value
    wildcard      = true
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

# ---------------------------------------------------------------------------------------------
# The administrators read every tenant (the cross-tenant business queries).
# ---------------------------------------------------------------------------------------------

resource "aws_lakeformation_permissions" "admin_database" {
  for_each = local.admin_readers

  principal   = each.value.principal
  permissions = ["DESCRIBE"]

  database {
    name = each.value.database_name
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}

resource "aws_lakeformation_permissions" "admin_tables" {
  for_each = local.admin_readers

  principal   = each.value.principal
  permissions = ["SELECT", "DESCRIBE"]

  table {
    database_name = each.value.database_name
    wildcard      = true
  }

  depends_on = [aws_lakeformation_data_lake_settings.this]
}
