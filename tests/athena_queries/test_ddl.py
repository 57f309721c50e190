"""The committed DDL is what the generator makes, parses as Athena, and covers every table."""

from __future__ import annotations

import re

import sqlglot
from lakehouse_glue.model import load_bronze_contract, load_declaration, load_layout
from sqlglot import exp

from lakehouse.athena import ddl


def test_committed_ddl_equals_the_generated_ddl() -> None:
    stale = ddl.stale()
    assert not stale, (
        f"generated files in athena-queries/ differ from the declarations: {stale}; run "
        "`lakehouse athena-ddl --write` and commit"
    )


def _tables() -> dict[str, exp.Create]:
    out: dict[str, exp.Create] = {}
    for path in sorted(ddl.DDL_DIR.glob("*.sql")):
        for tree in sqlglot.parse(path.read_text(encoding="utf-8"), read="athena"):
            assert isinstance(tree, exp.Create), f"{path.name}: {tree}"
            if tree.kind == "TABLE":
                table = tree.this.this
                out[f"{table.db}.{table.name}"] = tree
    return out


def _columns(create: exp.Create) -> list[str]:
    return [c.name for c in create.this.expressions if isinstance(c, exp.ColumnDef)]


def test_every_layer_table_is_declared_with_the_declared_columns() -> None:
    tables = _tables()
    contract = load_bronze_contract()
    for entity in load_declaration().entities:
        bronze = tables[f"bronze.{entity.name}"]
        assert _columns(bronze) == [
            contract.op_column,
            contract.timestamp_column_name,
            *entity.column_names,
            contract.change_seq_column,
        ]
        own = [*entity.column_names]
        if "tenant_id" not in own:
            own.append("tenant_id")  # silver.tenants: a tenant's own id, its partition
        silver = tables[f"silver.{entity.name}"]
        assert _columns(silver) == [
            *own,
            "source_committed_at",
            "source_change_seq",
            "processed_at",
        ]
        history = tables[f"silver.{entity.name}_history"]
        assert _columns(history) == [
            *own,
            "operation",
            "source_change_seq",
            "valid_from",
            "valid_to",
            "valid_to_change_seq",
            "is_current",
        ]
    for mart in ddl.gold_marts():
        if mart.columns:
            assert _columns(tables[f"gold.{mart.name}"]) == [c.name for c in mart.columns]


def test_silver_and_gold_are_iceberg_tables_partitioned_by_tenant() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(ddl.DDL_DIR.glob("*.sql")))
    assert "s3://" not in text
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    assert placeholders == set(ddl.PLACEHOLDERS)
    assert "projection" not in text
    for name in ("02-silver-tables.sql", "03-gold-tables.sql"):
        tables = (ddl.DDL_DIR / name).read_text(encoding="utf-8")
        # Athena refuses `create external table` for Iceberg tables.
        assert "create external table" not in tables
        creates = tables.count("create table if not exists")
        assert creates > 0
        # Every table bucketed by tenant (layout.json): bounded files at any tenant count.
        buckets = load_layout().tenant_buckets
        assert tables.count(f"partitioned by (bucket({buckets}, tenant_id))\n") == creates
        assert tables.count("'table_type' = 'ICEBERG'") == creates
        # tenant_id is a column of every table (Iceberg partitions are hidden, by column).
        assert tables.count("  `tenant_id` ") == creates
    silver = (ddl.DDL_DIR / "02-silver-tables.sql").read_text(encoding="utf-8")
    assert silver.count("create table if not exists") == 2 * len(load_declaration().entities)


def test_render_fills_locations() -> None:
    text = (ddl.DDL_DIR / "02-silver-tables.sql").read_text(encoding="utf-8")
    rendered = ddl.render(
        text,
        {
            "bronze_location": "s3://b/bronze/",
            "silver_location": "s3://s/silver",
            "gold_location": "s3://g/gold",
        },
    )
    assert "location 's3://s/silver/orders/'" in rendered
    assert "${" not in rendered


def test_silver_and_history_ddl_equal_the_jobs_schemas() -> None:
    """The Athena DDL (and so Terraform's tables) declares what the silver jobs write."""
    from lakehouse_glue.changes import silver_ddl
    from lakehouse_glue.history import history_columns

    for entity in load_declaration().entities:
        jobs = [tuple(p.split(" ", 1)) for p in silver_ddl(entity).split(", ")]
        assert [(n.strip("`"), t) for n, t in jobs] == [
            (name, type_) for name, type_, _ in ddl.silver_columns(entity)
        ], entity.name
        # (history_schema needs a running Spark to parse; the names are enough next to silver's)
        assert history_columns(entity) == [name for name, _, _ in ddl.history_columns(entity)], (
            entity.name
        )
