"""Reading the lake's Iceberg tables in tests, through the lake's own catalog (current snapshot)."""

from __future__ import annotations

from lakehouse_glue import iceberg as ice
from pyiceberg.transforms import BucketTransform
from pyiceberg.types import StringType
from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog


def silver_table(spark: SparkSession, settings: Settings, entity: str) -> ice.Table:
    return ice.silver_table(register_lake_catalog(spark, settings), settings.silver_uri, entity)


def history_table(spark: SparkSession, settings: Settings, entity: str) -> ice.Table:
    return ice.history_table(register_lake_catalog(spark, settings), settings.silver_uri, entity)


def gold_table(spark: SparkSession, settings: Settings, mart: str) -> ice.Table:
    return ice.gold_table(register_lake_catalog(spark, settings), settings.gold_uri, mart)


def read(spark: SparkSession, table: ice.Table) -> DataFrame:
    return spark.table(table.ident)


def files_by_tenant(spark: SparkSession, table: ice.Table) -> dict[str, set[str]]:
    """Tenant -> the data files of the table's current snapshot that hold its rows.

    Read from the rows themselves (Iceberg's ``_file`` metadata column): a file of a
    ``bucket(N, tenant_id)`` partition holds several tenants.
    """
    out: dict[str, set[str]] = {}
    query = f"select distinct `{ice.TENANT_COLUMN}`, `_file` from {table.ident}"
    for row in spark.sql(query).collect():
        out.setdefault(str(row[0]), set()).add(str(row[1]))
    return out


def bucket_of(tenant_id: str) -> int:
    """The ``bucket(N, tenant_id)`` partition value of a tenant (Iceberg's bucket function)."""
    transform = BucketTransform(num_buckets=ice.LAYOUT.tenant_buckets).transform(StringType())
    bucket: int | None = transform(tenant_id)
    assert bucket is not None
    return bucket
