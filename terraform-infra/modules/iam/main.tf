locals {
  arn_prefix = "arn:${var.partition}"
  buckets    = var.bucket_arns

  glue_catalog_arns = concat(
    ["${local.arn_prefix}:glue:${var.region}:${var.account_id}:catalog"],
    [for db in var.glue_database_names : "${local.arn_prefix}:glue:${var.region}:${var.account_id}:database/${db}"],
    [for db in var.glue_database_names : "${local.arn_prefix}:glue:${var.region}:${var.account_id}:table/${db}/*"],
  )

  results_prefix     = "${trim(var.athena_results_prefix, "/")}/"
  analyst_principals = length(var.analyst_principal_arns) > 0 ? var.analyst_principal_arns : ["${local.arn_prefix}:iam::${var.account_id}:root"]
}

# ---------------------------------------------------------------------------------------------
# DMS
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "dms_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.amazonaws.com"]
    }
  }
}

# DMS reads endpoint secrets with a role trusted by the *regional* DMS principal.
data "aws_iam_policy_document" "dms_secrets_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dms_s3_target" {
  name               = "${var.name}-dms-s3-target"
  description        = "DMS writes the bronze CSV files into the bronze bucket."
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
}

data "aws_iam_policy_document" "dms_s3_target" {
  statement {
    sid       = "WriteBronzeObjects"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"]
    resources = ["${local.buckets["bronze"]}/*"]
  }
  statement {
    sid       = "ListBronze"
    actions   = ["s3:ListBucket"]
    resources = [local.buckets["bronze"]]
  }
  statement {
    sid       = "EncryptWithLakeKey"
    actions   = ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "dms_s3_target" {
  name   = "bronze-writer"
  role   = aws_iam_role.dms_s3_target.id
  policy = data.aws_iam_policy_document.dms_s3_target.json
}

resource "aws_iam_role" "dms_secrets" {
  name               = "${var.name}-dms-source-secret"
  description        = "DMS reads the source database credentials from Secrets Manager."
  assume_role_policy = data.aws_iam_policy_document.dms_secrets_assume.json
}

data "aws_iam_policy_document" "dms_secrets" {
  statement {
    sid       = "ReadSourceSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.source_secret_arn]
  }
  statement {
    sid       = "DecryptSourceSecret"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [coalesce(var.source_secret_kms_key_arn, var.kms_key_arn)]
  }
}

resource "aws_iam_role_policy" "dms_secrets" {
  name   = "source-secret-reader"
  role   = aws_iam_role.dms_secrets.id
  policy = data.aws_iam_policy_document.dms_secrets.json
}

# DMS looks these two roles up by their fixed names; they exist once per account.
resource "aws_iam_role" "dms_vpc" {
  count = var.create_dms_service_roles ? 1 : 0

  name               = "dms-vpc-role"
  description        = "DMS manages the ENIs of replication instances (name fixed by DMS)."
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
}

resource "aws_iam_role_policy_attachment" "dms_vpc" {
  count = var.create_dms_service_roles ? 1 : 0

  role       = aws_iam_role.dms_vpc[0].name
  policy_arn = "${local.arn_prefix}:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
}

resource "aws_iam_role" "dms_cloudwatch_logs" {
  count = var.create_dms_service_roles ? 1 : 0

  name               = "dms-cloudwatch-logs-role"
  description        = "DMS writes task logs to CloudWatch Logs (name fixed by DMS)."
  assume_role_policy = data.aws_iam_policy_document.dms_assume.json
}

resource "aws_iam_role_policy_attachment" "dms_cloudwatch_logs" {
  count = var.create_dms_service_roles ? 1 : 0

  role       = aws_iam_role.dms_cloudwatch_logs[0].name
  policy_arn = "${local.arn_prefix}:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole"
}

# ---------------------------------------------------------------------------------------------
# Glue jobs and crawlers
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "glue_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "glue" {
  name               = "${var.name}-glue"
  description        = "Glue jobs and crawlers: read bronze, write silver and gold, use the catalog."
  assume_role_policy = data.aws_iam_policy_document.glue_assume.json
}

data "aws_iam_policy_document" "glue" {
  statement {
    sid       = "ListLakeBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [for key in ["bronze", "silver", "gold", "scripts"] : local.buckets[key]]
  }
  statement {
    sid       = "ReadBronzeAndScripts"
    actions   = ["s3:GetObject"]
    resources = ["${local.buckets["bronze"]}/*", "${local.buckets["scripts"]}/*"]
  }
  statement {
    sid       = "WriteSilverGoldAndTemp"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.buckets["silver"]}/*", "${local.buckets["gold"]}/*", "${local.buckets["scripts"]}/tmp/*"]
  }
  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid = "LakeCatalog"
    actions = [
      "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
      "glue:CreateTable", "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions",
      "glue:BatchGetPartition", "glue:CreatePartition", "glue:BatchCreatePartition",
      "glue:UpdatePartition", "glue:BatchUpdatePartition", "glue:DeletePartition",
      "glue:BatchDeletePartition",
    ]
    resources = local.glue_catalog_arns
  }
  # The groups exist (modules/glue): the jobs write <prefix>/error and <prefix>/output, the
  # crawlers the account's /aws-glue/crawlers.
  statement {
    sid     = "JobAndCrawlerLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:${var.glue_log_group_prefix}/*:log-stream:*",
      "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:/aws-glue/crawlers:log-stream:*",
    ]
  }
  statement {
    sid       = "JobMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource ARN; the condition scopes it instead
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue", var.metrics_namespace]
    }
  }
}

resource "aws_iam_role_policy" "glue" {
  name   = "lakehouse-jobs"
  role   = aws_iam_role.glue.id
  policy = data.aws_iam_policy_document.glue.json
}

# ---------------------------------------------------------------------------------------------
# Analysts: Athena on silver and gold, read-only.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "analyst_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = local.analyst_principals
    }
  }
}

resource "aws_iam_role" "analyst" {
  name               = "${var.name}-analyst"
  description        = "Query silver and gold with Athena in the lakehouse workgroup."
  assume_role_policy = data.aws_iam_policy_document.analyst_assume.json
}

data "aws_iam_policy_document" "analyst" {
  statement {
    sid = "RunQueriesInTheWorkgroup"
    actions = [
      "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
      "athena:GetQueryResults", "athena:GetQueryResultsStream", "athena:ListQueryExecutions",
      "athena:GetWorkGroup", "athena:BatchGetQueryExecution", "athena:ListNamedQueries",
      "athena:GetNamedQuery", "athena:BatchGetNamedQuery",
    ]
    resources = ["${local.arn_prefix}:athena:${var.region}:${var.account_id}:workgroup/${var.athena_workgroup_name}"]
  }
  statement {
    sid = "ReadCatalog"
    actions = [
      "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
      "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
    ]
    resources = local.glue_catalog_arns
  }
  # Without Lake Formation, IAM alone decides: the analysts read every tenant of silver and gold,
  # and bronze for the exploration queries (athena-queries/exploration). With Lake Formation, the
  # lake is read only through its grants (administrators, tenant filters), never by S3 path.
  dynamic "statement" {
    for_each = var.lake_formation_enabled ? [] : [1]
    content {
      sid       = "ListLakeBuckets"
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = [local.buckets["bronze"], local.buckets["silver"], local.buckets["gold"]]
    }
  }
  dynamic "statement" {
    for_each = var.lake_formation_enabled ? [] : [1]
    content {
      sid       = "ReadLakeData"
      actions   = ["s3:GetObject"]
      resources = ["${local.buckets["bronze"]}/*", "${local.buckets["silver"]}/*", "${local.buckets["gold"]}/*"]
    }
  }
  # Query results: the analysts' own prefix only (each tenant workgroup has its own).
  statement {
    sid       = "ListOwnResults"
    actions   = ["s3:ListBucket"]
    resources = [local.buckets["athena_results"]]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.results_prefix}*"]
    }
  }
  statement {
    sid       = "ResultsBucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.buckets["athena_results"]]
  }
  statement {
    sid       = "OwnResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.buckets["athena_results"]}/${local.results_prefix}*"]
  }
}

resource "aws_iam_role_policy" "analyst" {
  name   = "athena-analyst"
  role   = aws_iam_role.analyst.name
  policy = data.aws_iam_policy_document.analyst.json
}

# The key in a policy of its own, so the one above is known at plan time (and tested).
data "aws_iam_policy_document" "analyst_key" {
  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "analyst_key" {
  name   = "lake-key"
  role   = aws_iam_role.analyst.name
  policy = data.aws_iam_policy_document.analyst_key.json
}
