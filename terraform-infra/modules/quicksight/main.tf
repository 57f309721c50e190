# QuickSight over gold: an Athena data source on the analysts' workgroup, one dataset per gold
# mart (from gold.json), row-level security mapping one QuickSight group per tenant to its
# tenant_id on every dataset, and a dashboard with the pages of the app's analytics section.
#
# Row-level security: https://docs.aws.amazon.com/quicksight/latest/user/restrict-access-to-a-data-set-using-row-level-security.html
# (a permissions dataset with GroupName and the field to match; VERSION_1 rules; GRANT_ACCESS:
# a group sees the rows whose tenant_id is listed for it, a user in no group sees nothing).

locals {
  gold  = jsondecode(file(var.gold_file))
  marts = { for mart in local.gold.marts : mart.name => mart }

  # Declared column types -> QuickSight input column types (InputColumn.Type).
  column_types = {
    for mart in local.gold.marts : mart.name => {
      for column in mart.columns : column.name => (
        startswith(column.type, "decimal") || column.type == "double" || column.type == "float" ? "DECIMAL" :
        contains(["bigint", "int", "integer", "smallint", "tinyint"], column.type) ? "INTEGER" :
        contains(["date", "timestamp"], column.type) ? "DATETIME" :
        column.type == "boolean" ? "BOOLEAN" : "STRING"
      )
    }
  }

  group_names = { for key, tenant in var.tenants : key => "${var.name}-tenant-${key}" }

  # The permissions dataset: one row per tenant group. With no tenant it has no rows, and
  # row-level security then shows nobody any row.
  rls_rows = [for key, tenant in var.tenants : "('${local.group_names[key]}', '${tenant.tenant_id}')"]
  rls_sql = length(local.rls_rows) > 0 ? join("\n", [
    "select groupname as \"GroupName\", tenant_id",
    "from (values ${join(", ", local.rls_rows)}) as t (groupname, tenant_id)",
    ]) : join("\n", [
    "select cast(null as varchar) as \"GroupName\", cast(null as varchar) as tenant_id",
    "where false",
  ])

  # The pages of the app's analytics section (lakehouse/analytics/pages.py), one sheet each, as
  # one visual over the page's gold mart. The test checks both lists name the same pages.
  pages = [
    { slug = "overview", title = "Overview", mart = "tenant_summary", kind = "table", category = null, values = ["tenant_name", "customers", "active_customers", "orders", "paid_orders", "gross_revenue", "net_revenue"] },
    { slug = "revenue", title = "Revenue", mart = "revenue_daily", kind = "line", category = "revenue_date", values = ["gross_revenue", "net_revenue"] },
    { slug = "acquisition", title = "Customer acquisition", mart = "customer_acquisition", kind = "bar", category = "signup_month", values = ["new_customers"] },
    { slug = "retention", title = "Cohort retention", mart = "cohort_retention", kind = "table", category = null, values = ["cohort_month", "months_since_signup", "retention_rate"] },
    { slug = "funnel", title = "Conversion funnel", mart = "event_funnel", kind = "bar", category = "event_date", values = ["product_viewers", "cart_adders", "checkout_starters", "purchasers"] },
    { slug = "products", title = "Product performance", mart = "product_performance", kind = "bar", category = "sku", values = ["net_revenue"] },
    { slug = "subscriptions", title = "Subscriptions", mart = "subscription_metrics", kind = "line", category = "subscription_month", values = ["mrr"] },
  ]

  owner_actions = {
    data_source = [
      "quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource",
      "quicksight:UpdateDataSource", "quicksight:DeleteDataSource", "quicksight:UpdateDataSourcePermissions",
    ]
    data_set = [
      "quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet",
      "quicksight:DescribeIngestion", "quicksight:ListIngestions", "quicksight:UpdateDataSet",
      "quicksight:DeleteDataSet", "quicksight:CreateIngestion", "quicksight:CancelIngestion",
      "quicksight:UpdateDataSetPermissions",
    ]
    dashboard = [
      "quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:UpdateDashboardPermissions",
      "quicksight:QueryDashboard", "quicksight:UpdateDashboard", "quicksight:DeleteDashboard",
      "quicksight:DescribeDashboardPermissions", "quicksight:UpdateDashboardPublishedVersion",
    ]
  }
  viewer_actions = ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"]

  memberships = merge([
    for key, tenant in var.tenants : { for user in tenant.members : "${key}/${user}" => { tenant = key, user = user } }
  ]...)
}

resource "aws_quicksight_data_source" "this" {
  data_source_id = "${var.name}-athena"
  name           = "${var.name} lake (Athena)"
  aws_account_id = var.account_id
  type           = "ATHENA"

  parameters {
    athena {
      work_group = var.workgroup_name
    }
  }

  dynamic "permission" {
    for_each = toset(var.admin_arns)
    content {
      principal = permission.value
      actions   = local.owner_actions.data_source
    }
  }

  tags = var.tags
}

resource "aws_quicksight_group" "tenant" {
  for_each = var.tenants

  group_name     = local.group_names[each.key]
  aws_account_id = var.account_id
  namespace      = var.namespace
  description    = "Dashboard viewers of tenant ${each.key}: row-level security shows them tenant_id ${each.value.tenant_id} only."
}

resource "aws_quicksight_group_membership" "tenant" {
  for_each = local.memberships

  group_name     = aws_quicksight_group.tenant[each.value.tenant].group_name
  member_name    = each.value.user
  aws_account_id = var.account_id
  namespace      = var.namespace
}

resource "aws_quicksight_data_set" "rls" {
  data_set_id    = "${var.name}-tenant-rls"
  name           = "${var.name} tenant row-level security"
  aws_account_id = var.account_id
  import_mode    = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "rules"
    custom_sql {
      data_source_arn = aws_quicksight_data_source.this.arn
      name            = "tenant_groups"
      sql_query       = local.rls_sql
      columns {
        name = "GroupName"
        type = "STRING"
      }
      columns {
        name = "tenant_id"
        type = "STRING"
      }
    }
  }

  dynamic "permissions" {
    for_each = toset(var.admin_arns)
    content {
      principal = permissions.value
      actions   = local.owner_actions.data_set
    }
  }

  tags = var.tags
}

resource "aws_quicksight_data_set" "gold" {
  for_each = local.marts

  data_set_id    = "${var.name}-gold-${replace(each.key, "_", "-")}"
  name           = "${var.name} gold ${each.key}"
  aws_account_id = var.account_id
  # Every query goes to Athena, so row-level security and the lake's freshness hold (SPICE would
  # copy all tenants' rows into QuickSight).
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "gold"
    relational_table {
      data_source_arn = aws_quicksight_data_source.this.arn
      catalog         = "AwsDataCatalog"
      schema          = var.gold_database_name
      name            = each.key

      dynamic "input_columns" {
        for_each = each.value.columns
        content {
          name = input_columns.value.name
          type = local.column_types[each.key][input_columns.value.name]
        }
      }
    }
  }

  row_level_permission_data_set {
    arn               = aws_quicksight_data_set.rls.arn
    permission_policy = "GRANT_ACCESS"
    format_version    = "VERSION_1"
    namespace         = var.namespace
    status            = "ENABLED"
  }

  dynamic "permissions" {
    for_each = toset(var.admin_arns)
    content {
      principal = permissions.value
      actions   = local.owner_actions.data_set
    }
  }

  tags = var.tags
}

resource "aws_quicksight_dashboard" "this" {
  dashboard_id        = "${var.name}-tenant-analytics"
  name                = "${var.name} tenant analytics"
  aws_account_id      = var.account_id
  version_description = "Pages of the app's analytics section over gold"

  definition {
    dynamic "data_set_identifiers_declarations" {
      for_each = toset(distinct([for page in local.pages : page.mart]))
      content {
        identifier   = data_set_identifiers_declarations.value
        data_set_arn = aws_quicksight_data_set.gold[data_set_identifiers_declarations.value].arn
      }
    }

    dynamic "sheets" {
      for_each = local.pages
      content {
        sheet_id = sheets.value.slug
        name     = sheets.value.title
        title    = sheets.value.title

        visuals {
          dynamic "line_chart_visual" {
            for_each = sheets.value.kind == "line" ? [sheets.value] : []
            content {
              visual_id = "${line_chart_visual.value.slug}-chart"
              title {
                format_text {
                  plain_text = line_chart_visual.value.title
                }
              }
              chart_configuration {
                field_wells {
                  line_chart_aggregated_field_wells {
                    category {
                      date_dimension_field {
                        field_id         = "${line_chart_visual.value.slug}-${line_chart_visual.value.category}"
                        date_granularity = "DAY"
                        column {
                          data_set_identifier = line_chart_visual.value.mart
                          column_name         = line_chart_visual.value.category
                        }
                      }
                    }
                    dynamic "values" {
                      for_each = line_chart_visual.value.values
                      content {
                        numerical_measure_field {
                          field_id = "${line_chart_visual.value.slug}-${values.value}"
                          aggregation_function {
                            simple_numerical_aggregation = "SUM"
                          }
                          column {
                            data_set_identifier = line_chart_visual.value.mart
                            column_name         = values.value
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }

          dynamic "bar_chart_visual" {
            for_each = sheets.value.kind == "bar" ? [sheets.value] : []
            content {
              visual_id = "${bar_chart_visual.value.slug}-chart"
              title {
                format_text {
                  plain_text = bar_chart_visual.value.title
                }
              }
              chart_configuration {
                field_wells {
                  bar_chart_aggregated_field_wells {
                    category {
                      categorical_dimension_field {
                        field_id = "${bar_chart_visual.value.slug}-${bar_chart_visual.value.category}"
                        column {
                          data_set_identifier = bar_chart_visual.value.mart
                          column_name         = bar_chart_visual.value.category
                        }
                      }
                    }
                    dynamic "values" {
                      for_each = bar_chart_visual.value.values
                      content {
                        numerical_measure_field {
                          field_id = "${bar_chart_visual.value.slug}-${values.value}"
                          aggregation_function {
                            simple_numerical_aggregation = "SUM"
                          }
                          column {
                            data_set_identifier = bar_chart_visual.value.mart
                            column_name         = values.value
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }

          dynamic "table_visual" {
            for_each = sheets.value.kind == "table" ? [sheets.value] : []
            content {
              visual_id = "${table_visual.value.slug}-table"
              title {
                format_text {
                  plain_text = table_visual.value.title
                }
              }
              chart_configuration {
                field_wells {
                  table_unaggregated_field_wells {
                    dynamic "values" {
                      for_each = table_visual.value.values
                      content {
                        field_id = "${table_visual.value.slug}-${values.value}"
                        column {
                          data_set_identifier = table_visual.value.mart
                          column_name         = values.value
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  dynamic "permissions" {
    for_each = toset(var.admin_arns)
    content {
      principal = permissions.value
      actions   = local.owner_actions.dashboard
    }
  }

  dynamic "permissions" {
    for_each = aws_quicksight_group.tenant
    content {
      principal = permissions.value.arn
      actions   = local.viewer_actions
    }
  }

  tags = var.tags
}
