"""I/O adapters of the gold jobs: read a silver table, replace a mart.

Gold always recomputes a whole mart from the whole of silver: the marts are small aggregates and
several (month-over-month growth, cohorts, RFM scores) depend on every partition of a tenant, so
an incremental merge would cost more than it saves at the scales this project targets. Both
sides are Iceberg tables (see :mod:`lakehouse_glue.iceberg`): silver is read at its current
snapshot, and a mart is replaced in one commit, so a reader of gold sees the mart before or
after a run, never a mix.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.marts import conform, mart
from lakehouse_glue.model import TENANT_COLUMN, load_declaration


def gold_input_schema(entity_name: str) -> str:
    """What gold reads of a silver table, as Spark DDL: the declared columns and tenant_id."""
    entity = load_declaration().entity(entity_name)
    columns = [f"{c.name} {c.spark_type}" for c in entity.columns]
    if TENANT_COLUMN not in entity.column_names:
        columns.append(f"{TENANT_COLUMN} string")
    return ", ".join(columns)


def read_silver(spark: SparkSession, catalog: str, silver_path: str, entity_name: str) -> DataFrame:
    """The current snapshot of silver ``entity_name``: its declared columns and ``tenant_id``.

    A table that does not exist yet is a table with no rows (an entity with no source rows gets
    no bronze folder, hence no silver table): it reads as an empty DataFrame of the same schema.
    """
    entity = load_declaration().entity(entity_name)
    table = ice.silver_table(catalog, silver_path, entity_name)
    if not ice.exists(spark, table):
        return spark.createDataFrame([], gold_input_schema(entity_name))
    columns = list(dict.fromkeys([*entity.column_names, TENANT_COLUMN]))
    return spark.table(table.ident).select(*columns)


def write_mart(df: DataFrame, mart_name: str, catalog: str, gold_path: str) -> None:
    """Replace the whole mart ``gold.<mart>`` with ``df`` in one commit.

    A tenant that vanished from silver vanishes from gold too. The rows are written one file
    per tenant bucket, sorted by tenant (the table layout, :mod:`lakehouse_glue.iceberg`).
    """
    declared = mart(mart_name)
    table = ice.gold_table(catalog, gold_path, declared.name)
    ice.replace(df.sparkSession, table, conform(df, declared.name))
