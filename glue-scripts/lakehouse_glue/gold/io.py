"""I/O adapters of the gold jobs: read a silver table, replace a mart or some tenants of it.

Both sides are Iceberg tables (see :mod:`lakehouse_glue.iceberg`). Silver is read at the
snapshot the run's plan names (:mod:`lakehouse_glue.gold.incremental`), so what a mart records
having read is what it read. A mart is written in one commit, whole or a set of tenants at a
time, so a reader of gold sees the mart before or after a run, never a mix; the commit's
summary records the snapshots it was built from.
"""

from __future__ import annotations

from collections.abc import Collection

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.marts import conform, mart
from lakehouse_glue.model import TENANT_COLUMN, load_declaration

#: The source column of :func:`replace_tenants`' ``MERGE`` telling a tenant's marker row
#: (delete the tenant's rows) from a new row (insert it).
_MARKER = "_lakehouse_replaces_tenant"


def gold_input_schema(entity_name: str) -> str:
    """What gold reads of a silver table, as Spark DDL: the declared columns and tenant_id."""
    entity = load_declaration().entity(entity_name)
    columns = [f"{c.name} {c.spark_type}" for c in entity.columns]
    if TENANT_COLUMN not in entity.column_names:
        columns.append(f"{TENANT_COLUMN} string")
    return ", ".join(columns)


def read_silver(
    spark: SparkSession,
    catalog: str,
    silver_path: str,
    entity_name: str,
    *,
    snapshot_id: int | None = -1,
    tenants: Collection[str] | None = None,
) -> DataFrame:
    """Silver ``entity_name``: its declared columns and ``tenant_id``.

    Args:
        snapshot_id: the snapshot to read; -1 (the default) the current one, None a table
            with no data.
        tenants: only these tenants' rows (None: every tenant). Iceberg plans only the files
            that can hold them: their buckets, then the files' bounds of ``tenant_id``.

    A table that does not exist yet, or has no snapshot, is a table with no rows (an entity
    with no source rows gets no bronze folder, hence no silver table): it reads as an empty
    DataFrame of the same schema.
    """
    entity = load_declaration().entity(entity_name)
    table = ice.silver_table(catalog, silver_path, entity_name)
    if snapshot_id is None or not ice.exists(spark, table):
        return spark.createDataFrame([], gold_input_schema(entity_name))
    columns = ", ".join(f"`{c}`" for c in dict.fromkeys([*entity.column_names, TENANT_COLUMN]))
    version = "" if snapshot_id == -1 else f" version as of {int(snapshot_id)}"
    df = spark.sql(f"select {columns} from {table.ident}{version}")
    if tenants is not None:
        df = df.where(F.col(TENANT_COLUMN).isin(sorted(tenants)))
    return df


def write_mart(
    df: DataFrame,
    mart_name: str,
    catalog: str,
    gold_path: str,
    summary: dict[str, str] | None = None,
) -> None:
    """Replace the whole mart ``gold.<mart>`` with ``df`` in one commit.

    A tenant that vanished from silver vanishes from gold too. The rows are written one file
    per tenant bucket, sorted by tenant (the table layout, :mod:`lakehouse_glue.iceberg`). A
    mart whose table has another schema (the declaration changed) or layout is replaced whole:
    the table takes the declared schema, and keeps its history either way.
    ``summary`` goes into the commit's snapshot summary.
    """
    declared = mart(mart_name)
    spark = df.sparkSession
    table = ice.gold_table(catalog, gold_path, declared.name)
    conformed = conform(df, declared.name)
    if _overwritable(spark, table, conformed):
        # The table has the mart's schema and layout: its rows are overwritten in one
        # "overwrite" commit, written in the table's own distribution and order. Replacing
        # the table instead shuffles twice (ice.replace shapes the rows itself, and Iceberg
        # asks for its distribution again) and needs a second, metadata-only commit to give
        # the replaced table its write order back.
        ice.set_stale_properties(spark, table)  # no snapshot; nothing when current

        def write() -> None:
            if ice.is_small(conformed):
                # One task writes every bucket's file, without the shuffle by bucket that the
                # table's own distribution (hash) would ask for (the write option overrides
                # the table property for this write only).
                shaped = ice.small_write(table, conformed)
                writer = shaped.writeTo(table.ident).option("distribution-mode", "none")
                writer.overwrite(F.lit(True))
                return
            conformed.writeTo(table.ident).overwrite(F.lit(True))

    else:

        def write() -> None:
            ice.replace(spark, table, conformed)

    ice.with_snapshot_properties(spark, summary or {}, write)


def _overwritable(spark: SparkSession, table: ice.Table, df: DataFrame) -> bool:
    """Whether ``df`` can overwrite ``table``'s rows in place: the table exists with exactly
    ``df``'s columns and types, the bucket layout and the write order."""
    if not ice.exists(spark, table):
        return False
    have = [(f.name, f.dataType) for f in ice.columns(spark, table).fields]
    if have != [(f.name, f.dataType) for f in df.schema.fields]:
        return False
    loaded = ice._loaded(spark, table)
    return ice.has_tenant_buckets(loaded) and ice.sort_columns(loaded) == list(table.write_order)


def replace_tenants(
    df: DataFrame,
    tenants: Collection[str],
    mart_name: str,
    catalog: str,
    gold_path: str,
    summary: dict[str, str] | None = None,
) -> None:
    """Replace the rows of ``tenants`` in mart ``gold.<mart>`` with ``df``, in ONE commit.

    ``df`` holds the mart's rows of those tenants (none for a tenant that has no rows any
    more). One ``MERGE`` deletes every row of the tenants and inserts ``df``: its source is a
    marker row per tenant, which matches (and deletes) the tenant's rows, and ``df``'s rows,
    which match nothing and are inserted. Gold merges copy-on-write
    (:data:`lakehouse_glue.iceberg.GOLD_TABLE_PROPERTIES`): the data files holding those
    tenants are rewritten, every other file stays as it is. The mart must exist.
    """
    declared = mart(mart_name)
    spark = df.sparkSession
    table = ice.gold_table(catalog, gold_path, declared.name)
    ice.set_stale_properties(spark, table)  # a mart created before gold merged copy-on-write
    rows = conform(df, declared.name).withColumn(_MARKER, F.lit(False))
    markers = spark.createDataFrame(
        [(t,) for t in sorted(tenants)], f"`{TENANT_COLUMN}` string"
    ).select(
        *[
            F.col(TENANT_COLUMN)
            if c.name == TENANT_COLUMN
            else F.lit(None).cast(c.type).alias(c.name)
            for c in declared.columns
        ],
        F.lit(True).alias(_MARKER),
    )
    names = ", ".join(f"`{c}`" for c in declared.column_names)
    values = ", ".join(f"s.`{c}`" for c in declared.column_names)
    statement = (
        f"merge into {{target}} t using {{source}} s "
        f"on s.`{_MARKER}` and t.`{TENANT_COLUMN}` = s.`{TENANT_COLUMN}` "
        f"when matched then delete "
        f"when not matched and not s.`{_MARKER}` then insert ({names}) values ({values})"
    )
    source = markers.unionByName(rows)
    ice.with_snapshot_properties(
        spark, summary or {}, lambda: ice.merge(spark, table, source, statement)
    )
