locals {
  # One entry per lake bucket. Versioning is on everywhere except the DMS target: DMS refuses an
  # S3 target bucket with versioning enabled (it rewrites and deletes its own files).
  buckets = {
    bronze = {
      purpose    = "DMS target: raw CDC files exactly as DMS writes them (bronze contract)"
      versioning = false
    }
    silver = {
      purpose    = "typed current-state Parquet, quarantine and quality reports"
      versioning = true
    }
    gold = {
      purpose    = "business-metric marts (Parquet)"
      versioning = true
    }
    scripts = {
      purpose    = "Glue job scripts, the lakehouse_glue library zip and Glue temporary files"
      versioning = true
    }
    athena_results = {
      purpose    = "Athena query results of the workgroup"
      versioning = true
    }
  }

  # Bucket names are `<name>-<purpose>-<account>-<region>`, globally unique and at most 63
  # characters (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
  # A name that would be longer keeps the account and region and as much of `<name>-<purpose>`
  # as fits, then 8 hex digits of the SHA-256 of the full name: deterministic (the same inputs
  # always give the same bucket) and still distinct per purpose and environment.
  name_suffix = "${var.account_id}-${var.region}"
  full_bucket_names = merge(
    { for key in keys(local.buckets) : key => "${var.name}-${replace(key, "_", "-")}" },
    { access_logs = "${var.name}-access-logs" },
  )
  short_bucket_names = {
    for key, head in local.full_bucket_names : key => (
      length("${head}-${local.name_suffix}") <= 63
      ? "${head}-${local.name_suffix}"
      : "${replace(substr(head, 0, 63 - 10 - length(local.name_suffix)), "/-+$/", "")}-${substr(sha256("${head}-${local.name_suffix}"), 0, 8)}-${local.name_suffix}"
    )
  }
  bucket_names            = { for key in keys(local.buckets) : key => local.short_bucket_names[key] }
  access_logs_bucket_name = local.short_bucket_names["access_logs"]
  # ARNs from the names, so that the bucket policies are fully known at plan time.
  bucket_arns     = { for key, name in local.bucket_names : key => "arn:${var.partition}:s3:::${name}" }
  access_logs_arn = "arn:${var.partition}:s3:::${local.access_logs_bucket_name}"
}

# ---------------------------------------------------------------------------------------------
# The lake key: one customer-managed key for the buckets, Glue, DMS, logs and SNS.
# ---------------------------------------------------------------------------------------------

resource "aws_kms_key" "this" {
  description             = "${var.name} lakehouse data key"
  enable_key_rotation     = true
  deletion_window_in_days = var.settings.kms_deletion_window_days

  # A key policy's Resource "*" means "this key". The account root delegates to IAM policies, so
  # every role's access is decided by its own least-privilege policy (modules/iam).
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersTheKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${var.partition}:iam::${var.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      # CloudWatch Logs encrypts this account's log groups (scoped by the encryption context).
      {
        Sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:*" }
        }
      },
      # Publishers to the encrypted alert topic (CloudWatch alarms, EventBridge rules).
      {
        Sid       = "AlertPublishersUseTheTopicKey"
        Effect    = "Allow"
        Principal = { Service = var.kms_service_principals }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-lake"
  target_key_id = aws_kms_key.this.key_id
}

# ---------------------------------------------------------------------------------------------
# Server access logs of the lake buckets.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are not replicated cross-region; they expire after a year.
  #checkov:skip=CKV_AWS_145:S3 server access log delivery only supports SSE-S3 on the target bucket.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the log bucket.
  bucket        = local.access_logs_bucket_name
  force_destroy = var.settings.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.settings.access_logs_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.settings.noncurrent_version_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = var.settings.abort_incomplete_upload_days
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.access_logs_arn, "${local.access_logs_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "S3ServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${local.access_logs_arn}/*"
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

# ---------------------------------------------------------------------------------------------
# The lake buckets.
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice per deployment; bronze can be replayed from the source by a DMS full load.
  #checkov:skip=CKV2_AWS_62:The pipeline is orchestrated by the Glue workflow, not by S3 event notifications.
  #checkov:skip=CKV_AWS_21:Versioning is on for every bucket but bronze, whose aws_s3_bucket_versioning is Disabled because DMS requires it (checkov cannot see the per-key condition).
  for_each = local.buckets

  bucket        = local.bucket_names[each.key]
  force_destroy = var.settings.force_destroy
  tags          = { Purpose = each.value.purpose }

  lifecycle {
    precondition {
      condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", local.bucket_names[each.key]))
      error_message = "Bucket name ${local.bucket_names[each.key]} is not a valid S3 bucket name (3-63 lower-case letters, digits and dashes)."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = each.value.versioning ? "Enabled" : "Disabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.buckets

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.key}/"

  # S3 refuses PutBucketLogging (InvalidTargetBucketForLogging) until the target's policy lets
  # the logging service write: found by applying this module to moto.
  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "lake-retention"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.settings.abort_incomplete_upload_days
    }

    dynamic "noncurrent_version_expiration" {
      for_each = each.value.versioning ? [1] : []
      content {
        noncurrent_days = var.settings.noncurrent_version_expiration_days
      }
    }

    # Bronze is read again only on a full refresh: move it to infrequent access, never delete it
    # (it is the replayable history of the source).
    dynamic "transition" {
      for_each = each.key == "bronze" ? [1] : []
      content {
        days          = var.settings.bronze_infrequent_access_days
        storage_class = "STANDARD_IA"
      }
    }

    dynamic "expiration" {
      for_each = each.key == "athena_results" ? [1] : []
      content {
        days = var.settings.athena_results_expiration_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arns[each.key], "${local.bucket_arns[each.key]}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOutdatedTls"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arns[each.key], "${local.bucket_arns[each.key]}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.this]
}
