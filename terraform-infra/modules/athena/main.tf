locals {
  query_files = fileset(var.queries_dir, "**/*.sql")

  # Each file as this deployment runs it: the generated DDL's location placeholders filled in,
  # and the layer databases (`bronze`, `silver`, `gold` in the SQL, as the local engine names
  # them) renamed to this deployment's databases. Only qualified names and the DDL's database
  # statements are rewritten: `bronze.orders`, `create database if not exists bronze`.
  rendered = {
    for file in local.query_files : file => (
      startswith(file, "ddl/") ? templatefile("${var.queries_dir}/${file}", var.ddl_locations) : file("${var.queries_dir}/${file}")
    )
  }
  renamed = {
    for file, text in local.rendered : file => replace(replace(replace(replace(replace(replace(text,
      "/\\bbronze\\./", "${var.database_names.bronze}."),
      "/\\bsilver\\./", "${var.database_names.silver}."),
      "/\\bgold\\./", "${var.database_names.gold}."),
      "/(?i)(database\\s+(?:if\\s+not\\s+exists\\s+)?)bronze\\b/", "$${1}${var.database_names.bronze}"),
      "/(?i)(database\\s+(?:if\\s+not\\s+exists\\s+)?)silver\\b/", "$${1}${var.database_names.silver}"),
    "/(?i)(database\\s+(?:if\\s+not\\s+exists\\s+)?)gold\\b/", "$${1}${var.database_names.gold}")
  }

  # Athena runs one statement per execution, so every statement is a named query of its own.
  # A statement ends with `;` at the end of a line outside comments and string literals (the
  # style of athena-queries/); the `;` becomes a record separator to split on, and a piece
  # holding only comments is not a statement. tests/terraform_infra checks the split against
  # sqlglot's parser.
  terminated = {
    for file, text in local.renamed : file => replace(text, "/(?m)^((?:[^-'\n]|-[^-'\n]|'[^'\n]*')*);[ \t]*$/", "$${1}\u001e")
  }
  statements = merge([
    for file, text in local.terminated : {
      for index, statement in [
        for piece in split("\u001e", text) : trimspace(piece)
        if trimspace(join("\n", [for line in split("\n", piece) : line if !startswith(trimspace(line), "--")])) != ""
      ] : "${file}#${index + 1}" => { file = file, index = index + 1, sql = statement }
    }
  ]...)
  statement_counts = { for file in local.query_files : file => length([for key, s in local.statements : key if s.file == file]) }
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
  for_each = local.statements

  # `business.revenue_trends`, or `exploration.01-bronze-exploration.02` for the second of several.
  name        = "${replace(trimsuffix(each.value.file, ".sql"), "/", ".")}${local.statement_counts[each.value.file] > 1 ? format(".%02d", each.value.index) : ""}"
  description = "athena-queries/${each.value.file}, statement ${each.value.index} of ${local.statement_counts[each.value.file]}"
  workgroup   = aws_athena_workgroup.this.id
  database    = var.database_names.gold
  query       = each.value.sql
}
