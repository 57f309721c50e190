locals {
  query_files = fileset(var.queries_dir, "**/*.sql")
}

resource "aws_athena_workgroup" "this" {
  name          = var.workgroup_name
  description   = "Lakehouse analysts: enforced settings, encrypted results, bounded scans"
  force_destroy = false

  configuration {
    # Users cannot override the result location, encryption or the scan limit per query.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = var.results_uri

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}

resource "aws_athena_named_query" "this" {
  for_each = local.query_files

  name        = trimsuffix(replace(each.value, "/", "."), ".sql")
  description = "athena-queries/${each.value}"
  workgroup   = aws_athena_workgroup.this.id
  database    = var.database_name
  # The generated DDL has location placeholders, filled with this deployment's locations. Other
  # SQL is stored as it is.
  query = startswith(each.value, "ddl/") ? templatefile("${var.queries_dir}/${each.value}", var.ddl_locations) : file("${var.queries_dir}/${each.value}")
}
