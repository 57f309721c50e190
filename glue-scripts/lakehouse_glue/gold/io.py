"""I/O adapters of the gold jobs: read a silver table, write a mart.

Gold always recomputes a whole mart from the whole of silver: the marts are small aggregates and
several (month-over-month growth, cohorts, RFM scores) depend on every partition of a tenant, so
an incremental merge would cost more than it saves at the scales this project targets.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from lakehouse_glue import fs
from lakehouse_glue.changes import silver_ddl
from lakehouse_glue.gold.marts import TENANT_COLUMN, conform, mart
from lakehouse_glue.model import load_declaration


def gold_input_schema(entity_name: str) -> str:
    """What gold reads of a silver table, as Spark DDL: the declared columns and tenant_id."""
    entity = load_declaration().entity(entity_name)
    columns = [f"{c.name} {c.spark_type}" for c in entity.columns]
    if TENANT_COLUMN not in entity.column_names:
        columns.append(f"{TENANT_COLUMN} string")
    return ", ".join(columns)


def table_uri(root: str, name: str) -> str:
    """``<root>/<name>`` for a local folder or an ``s3://`` prefix."""
    return f"{root.rstrip('/')}/{name}"


def read_silver(spark: SparkSession, silver_path: str, entity_name: str) -> DataFrame:
    """The silver table of ``entity_name`` with its declared columns and ``tenant_id``.

    Reads with the explicit silver schema (never inferred: ``tenant_id`` must stay a string). A
    table without a folder is a table with no rows (an entity with no source rows gets no bronze
    folder, hence no silver one): it reads as an empty DataFrame of the same schema.
    """
    entity = load_declaration().entity(entity_name)
    uri = table_uri(silver_path, entity_name)
    if not fs.exists(spark, uri):
        return spark.createDataFrame([], gold_input_schema(entity_name))
    columns = list(dict.fromkeys([*entity.column_names, TENANT_COLUMN]))
    return spark.read.schema(silver_ddl(entity)).parquet(uri).select(*columns)


def write_mart(df: DataFrame, mart_name: str, gold_path: str) -> None:
    """Overwrite the whole mart at ``<gold_path>/<mart>/tenant_id=<uuid>/``.

    ``partitionOverwriteMode=static`` on the writer (whatever the session says) so that a tenant
    that vanished from silver also vanishes from gold. A mart is a small aggregate, so one
    writer task (``coalesce(1)``: no extra shuffle) writes one file per tenant.
    """
    declared = mart(mart_name)
    (
        conform(df, declared.name)
        .coalesce(1)
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "static")
        .partitionBy(TENANT_COLUMN)
        .parquet(table_uri(gold_path, declared.name))
    )
