locals {
  # One filter per tenant and table: Lake Formation filters are table-scoped.
  filters = {
    for pair in setproduct(var.tenant_ids, var.tables) :
    "${pair[0]}/${pair[1].database_name}.${pair[1].table_name}" => merge(pair[1], { tenant_id = pair[0] })
  }
}

resource "aws_lakeformation_data_cells_filter" "this" {
  for_each = local.filters

  table_data {
    database_name    = each.value.database_name
    table_name       = each.value.table_name
    table_catalog_id = var.account_id
    # Filter names are at most 255 characters: the tenant uuid without dashes keeps them short.
    name = "tenant_${replace(each.value.tenant_id, "-", "")}"

    row_filter {
      filter_expression = "tenant_id = '${each.value.tenant_id}'"
    }

    column_wildcard {}
  }
}
