"""Silver and gold as Apache Iceberg tables: names, table settings, atomic writes, snapshots.

The guarantee every writer here keeps: **one write is one Iceberg commit**. A commit swaps the
table's metadata pointer to a new snapshot in one step, so a reader sees the previous or the
next snapshot, never part of one, and a writer killed before its commit leaves the table at its
last snapshot (the files it had written are orphans, removed by ``lakehouse maintain``).

The jobs never name a catalog: its Spark name arrives as the job argument ``--iceberg_catalog``
and its implementation and warehouse as Spark configuration (``spark.sql.catalog.<name>*``).
On AWS that is the Glue Data Catalog (Glue 5.1 with ``--datalake-formats iceberg``, see
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-format-iceberg.html); on
one machine it is a Hadoop (file-system) catalog whose warehouse is the lake root, so
``silver.customers`` lives at ``<lake>/silver/customers/`` with ``metadata/`` and ``data/``.

Tables are format v2, Parquet. ``MERGE`` (silver's and history's changes) writes
merge-on-read: a changed or deleted row is marked in a position delete file and its new version
appended, instead of every data file holding a changed row being written again whole (with a few
tenants per bucket, 5,000 changes touch every file of a table, so copy-on-write rewrote whole
tables per run). Every reader applies the deletes: Spark and Athena engine v3 natively
(https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-delete.html), the local
engine and reconcile by an anti-join on (file, position) (``lakehouse.athena.iceberg_plan``),
and ``lakehouse maintain`` compacts the files that have deletes. ``UPDATE`` and ``DELETE`` stay
copy-on-write: offboarding a tenant (a ``DELETE``) must leave none of its rows in a live data
file. Every table has the layout of ``declarations/layout.json``: partitioned by
``bucket(N, tenant_id)`` and written sorted by ``tenant_id`` (then the entity's key). A table's
file count is then bounded by N whether the lake has 8 tenants or 10,000, a change rewrites only
the buckets of the tenants it touches, and a reader asking for one tenant (``tenant_id = X``)
plans one bucket and prunes further by the files' min/max of ``tenant_id``. A bucket holds
several tenants: every reader scopes a tenant by value, never by folder.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import (
    DataType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StructField,
    StructType,
)

from lakehouse_glue import fs
from lakehouse_glue.model import load_layout

SILVER = "silver"
GOLD = "gold"
#: ``silver.<entity><HISTORY_SUFFIX>`` holds every version of an entity's rows (SCD type 2).
HISTORY_SUFFIX = "_history"

LAYOUT = load_layout()
#: The column every table names its rows' tenant with (the partition source and first sort key).
TENANT_COLUMN = LAYOUT.tenant_column
#: Iceberg's name for the transform of the partition field, as its Java API prints it.
_BUCKET_TRANSFORM = f"bucket[{LAYOUT.tenant_buckets}]"
#: The partition field's name: what ``partitioned by (bucket(N, tenant_id))`` calls it, given
#: to an evolved table too (``add partition field`` would name it ``tenant_id_bucket_<N>``).
PARTITION_FIELD = f"{TENANT_COLUMN}_bucket"

#: Table properties of every table the jobs create.
TABLE_PROPERTIES: dict[str, str] = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    # zstd's fastest level (Iceberg's default is 3; Athena reads any level): Parquet compresses
    # each page in a new zstd stream, and 64 small bucket files make many small pages. Writing
    # a 64-bucket table took about 12% less CPU at level 1, files 3-4% larger (README, "Many
    # tenants").
    "write.parquet.compression-level": "1",
    # MERGE writes position deletes; DELETE (offboarding) and UPDATE rewrite the files they
    # touch (see the module docstring).
    "write.delete.mode": "copy-on-write",
    "write.update.mode": "copy-on-write",
    "write.merge.mode": "merge-on-read",
    # Rows are grouped by bucket before the write: one file per bucket and write, sorted by
    # the table's write order (tenant_id first) within it.
    "write.distribution-mode": "hash",
    # Exact min/max of the tenant column (the default truncates strings to 16 characters), so
    # a file whose tenants all sort before or after the one asked for is pruned.
    f"write.metadata.metrics.column.{TENANT_COLUMN}": "full",
    # What a Spark read counts a small file as when packing files into tasks (default 4 MiB,
    # https://iceberg.apache.org/docs/latest/configuration/#read-properties). A small scan's
    # split is 16 MiB, so at 4 MiB a table of 64 small bucket files (10,000 tenants) was read
    # by 16 tasks per scan, 8 times those of 8 tenants; at 1 MiB it takes 4, the cores' share.
    # Files over 1 MiB count their size, so large tables are split as before.
    "read.split.open-file-cost": str(1024 * 1024),
}

#: Gold tables differ in one setting: a run replaces a few tenants' rows with a ``MERGE``
#: (:func:`lakehouse_glue.gold.io.replace_tenants`), written copy-on-write. The files holding
#: those tenants are rewritten whole, so gold never carries delete files: its readers (every
#: dashboard) read plain files, and a mart's file count stays that of its buckets.
GOLD_TABLE_PROPERTIES: dict[str, str] = {**TABLE_PROPERTIES, "write.merge.mode": "copy-on-write"}

_CATALOG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PlainParquetTableError(RuntimeError):
    """A table folder holds the plain Parquet layout of an earlier version, not Iceberg."""


def check_catalog_name(name: str) -> str:
    """A Spark catalog name as the jobs accept it (a plain identifier), else ``ValueError``."""
    if not _CATALOG_NAME.fullmatch(name):
        raise ValueError(
            f"job argument --iceberg_catalog must be a Spark catalog name (letters, digits, "
            f"underscores), got {name!r}"
        )
    return name


@dataclass(frozen=True)
class Table:
    """One Iceberg table of the lake: its catalog, namespace, name and data location."""

    catalog: str
    namespace: str
    name: str
    location: str  # <silver_path>/<entity> or <gold_path>/<mart>
    key: str | None = None  # the entity's primary key: the second sort column

    @property
    def write_order(self) -> tuple[str, ...]:
        """The columns rows are sorted by within a file: the tenant, then the key."""
        if self.key is None or self.key == TENANT_COLUMN:
            return (TENANT_COLUMN,)
        return (TENANT_COLUMN, self.key)

    @property
    def ident(self) -> str:
        """The quoted three-part name Spark SQL takes."""
        return f"`{self.catalog}`.`{self.namespace}`.`{self.name}`"

    def metadata_table(self, kind: str) -> str:
        """``snapshots``, ``history``, ``refs``, ``files``... of this table."""
        return f"{self.ident}.`{kind}`"


def silver_table(catalog: str, silver_path: str, entity: str, key: str | None = None) -> Table:
    return Table(catalog, SILVER, entity, f"{silver_path.rstrip('/')}/{entity}", key)


def history_table(catalog: str, silver_path: str, entity: str, key: str | None = None) -> Table:
    name = f"{entity}{HISTORY_SUFFIX}"
    return Table(catalog, SILVER, name, f"{silver_path.rstrip('/')}/{name}", key)


def gold_table(catalog: str, gold_path: str, mart: str) -> Table:
    return Table(catalog, GOLD, mart, f"{gold_path.rstrip('/')}/{mart}")


def _catalog_conf(spark: SparkSession, catalog: str, key: str) -> str | None:
    value = spark.conf.get(f"spark.sql.catalog.{catalog}.{key}", None)
    return None if value is None else str(value)


def is_path_catalog(spark: SparkSession, catalog: str) -> bool:
    """Whether ``catalog`` is a Hadoop catalog: table locations follow from the warehouse."""
    return (_catalog_conf(spark, catalog, "type") or "").lower() == "hadoop"


def _location_clause(spark: SparkSession, table: Table) -> str:
    """``location '...'`` for a metastore catalog (Glue); nothing for a Hadoop catalog.

    A Hadoop catalog keeps a table at ``<warehouse>/<namespace>/<name>`` and refuses any other
    location, so the job's path argument must agree with the catalog, checked here.
    """
    if is_path_catalog(spark, table.catalog):
        warehouse = _catalog_conf(spark, table.catalog, "warehouse") or ""
        implied = f"{fs.qualify(warehouse).rstrip('/')}/{table.namespace}/{table.name}"
        if _same_path(implied, fs.qualify(table.location)):
            return ""
        raise ValueError(
            f"the Iceberg catalog {table.catalog!r} keeps {table.namespace}.{table.name} at "
            f"{implied}, but the job's path argument puts it at {table.location}; make the "
            f"catalog's warehouse the lake root or the path argument <warehouse>/{table.namespace}"
        )
    return f"location '{_sql_string(table.location)}'"


def _same_path(a: str, b: str) -> bool:
    def norm(p: str) -> str:
        return re.sub(r"^file:/+", "file:/", p).rstrip("/")

    return norm(a) == norm(b)


def _sql_string(value: str) -> str:
    if "'" in value or "\\" in value:
        raise ValueError(f"a table location may not contain quotes or backslashes: {value!r}")
    return value


def table_properties(table: Table) -> dict[str, str]:
    """The properties the jobs give ``table``: gold's differ (:data:`GOLD_TABLE_PROPERTIES`)."""
    return GOLD_TABLE_PROPERTIES if table.namespace == GOLD else TABLE_PROPERTIES


def _properties_clause(props: dict[str, str]) -> str:
    return ", ".join(f"'{k}' = '{v}'" for k, v in props.items())


def _partition_clause() -> str:
    return f"bucket({LAYOUT.tenant_buckets}, `{TENANT_COLUMN}`)"


def _order_clause(table: Table) -> str:
    return ", ".join(f"`{c}`" for c in table.write_order)


#: The column :func:`with_bucket` adds: the bucket of each row's tenant (never written).
BUCKET_COLUMN = "_bucket"


def with_bucket(table: Table, df: DataFrame) -> DataFrame:
    """``df`` with :data:`BUCKET_COLUMN` (Iceberg's own bucket function of the tenant), spread
    over Spark partitions by it: the shape :func:`replace` writes.

    A transform that needs its rows grouped by key (a window over the tenant and key) can take
    the bucket as its first grouping column and then works where the rows are: the write that
    follows finds them grouped by bucket and sorted by bucket, tenant and key already, and
    neither shuffles nor sorts them again.
    """
    return df.withColumn(BUCKET_COLUMN, bucket_of(table)).repartition(BUCKET_COLUMN)


#: The column :func:`uuid_sort_prefix` is given as (never written): an 8-byte sort key that
#: orders rows like (bucket, tenant, key), for tables whose tenant and key are UUIDs.
SORT_PREFIX_COLUMN = "_sort_prefix"


def uuid_sort_prefix(table: Table) -> Column:
    """8 bytes that order rows as (:data:`BUCKET_COLUMN`, tenant, key) do, for UUID text.

    Spark sorts on a 64-bit prefix of the first sort column and compares whole rows only when
    two prefixes are equal. Sorted by bucket first, rows of one bucket all share their prefix,
    and every comparison fetches both rows from memory: at scale 10 the events' history window
    spent 14% of its task time there. This key is the bucket plus one (a NULL tenant, whose
    bucket is NULL, gets 0 and sorts first, as NULLs do), the tenant's first 8 hex digits and
    the key's first 6, so nearly every comparison is decided by the prefix. Given as the first
    sort column, before the bucket, tenant and key, it leaves their order as it was: lower-case
    hex digits sort as the values they spell, so the prefix never decreases along that order.
    Two tenants of one bucket sharing their first 8 hex digits (about 1 in 10^4 lakes of
    10,000 random UUIDs) share the tenant part, and their rows are ordered by the key's digits
    first: the same rows, only those two tenants' rows interleaved in their file.

    Only for a tenant and key that are lower-case UUIDs (the typed value of a ``uuid`` column)
    or NULL; :data:`LAYOUT`'s buckets fit the byte (at most 255).
    """
    if not 0 < LAYOUT.tenant_buckets < 256:
        raise ValueError(
            f"tenant_buckets = {LAYOUT.tenant_buckets} in the layout declaration: the full "
            "refresh's sort prefix holds the bucket in one byte; declare 1 to 255 buckets"
        )
    bucket = F.lpad(F.hex(F.coalesce(F.col(BUCKET_COLUMN) + F.lit(1), F.lit(0))), 2, "0")
    key = table.key or TENANT_COLUMN

    def digits(column: str, n: int) -> Column:
        return F.coalesce(F.substring(F.col(f"`{column}`"), 1, n), F.lit("0" * n))

    return F.unhex(F.concat(bucket, digits(TENANT_COLUMN, 8), digits(key, 6)))


def bucket_of(table: Table) -> Column:
    """The bucket of a row's tenant, by Iceberg's own bucket function (``table``'s catalog)."""
    return F.expr(f"`{table.catalog}`.system.bucket({LAYOUT.tenant_buckets}, `{TENANT_COLUMN}`)")


def _clustered(spark: SparkSession, table: Table, df: DataFrame) -> DataFrame:
    """``df`` grouped by bucket and sorted by the write order, as the table's writes are.

    ``create or replace table ... as`` starts the table with no sort order (Iceberg's Spark
    DDL cannot declare one), so Spark would only group the rows by bucket; shaping them here,
    with Iceberg's own bucket function, gives a full rebuild the files a ``MERGE`` writes. A
    frame that has :data:`BUCKET_COLUMN` comes from :func:`with_bucket` and is grouped by it
    already: it is only sorted, and Spark skips that sort when the rows are in
    that order already (after a window over the bucket, tenant and key). The sort also keeps
    each task's rows together by bucket, which Iceberg's writer needs, whatever ran in between.
    A small frame (:func:`is_small`) is not shuffled: one task sorts and writes it.
    """
    if BUCKET_COLUMN not in df.columns:
        if is_small(df):
            return small_write(table, df)
        df = with_bucket(table, df)
    # A frame with the sort prefix (:func:`uuid_sort_prefix`) is sorted by it first.
    prefix = [SORT_PREFIX_COLUMN] if SORT_PREFIX_COLUMN in df.columns else []
    return df.sortWithinPartitions(*prefix, BUCKET_COLUMN, *table.write_order).drop(
        *prefix, BUCKET_COLUMN
    )


#: A write whose input Spark's optimizer estimates at most this many bytes is written by one
#: task, without a shuffle (:func:`is_small`). 16 MiB is a read split
#: (``spark.sql.files.maxPartitionBytes`` of :mod:`lakehouse.glue.sizing`): one task's share.
SMALL_WRITE_BYTES = 16 * 2**20


def is_small(df: DataFrame) -> bool:
    """Whether the optimizer's size estimate of ``df`` is at most :data:`SMALL_WRITE_BYTES`.

    The estimate comes from the plan's statistics (the files a scan reads, the snapshot's
    size of an Iceberg table), so no Spark job runs. Such a frame is written by ONE task that
    writes every bucket's file in turn (:func:`_clustered`): its rows are few, and a shuffle by
    bucket would cost a stage and a task per few buckets for nothing. At 10,000 tenants a small
    table or mart still has 64 bucket files; written by one task they cost a file each, not a
    shuffle, tasks and a file each.
    """
    stats = df._jdf.queryExecution().optimizedPlan().stats()
    return int(str(stats.sizeInBytes())) <= SMALL_WRITE_BYTES  # a Scala BigInt


def small_write(table: Table, df: DataFrame) -> DataFrame:
    """``df`` in one Spark partition, sorted by bucket, then the write order: the shape a
    write with distribution mode ``none`` needs to make one file per bucket (Iceberg's
    clustered writer closes a bucket's file when the next bucket starts)."""
    return (
        df.withColumn(BUCKET_COLUMN, bucket_of(table))
        .coalesce(1)
        .sortWithinPartitions(BUCKET_COLUMN, *table.write_order)
        .drop(BUCKET_COLUMN)
    )


def exists(spark: SparkSession, table: Table) -> bool:
    """Whether the catalog has the table."""
    return bool(spark.catalog.tableExists(f"{table.catalog}.{table.namespace}.{table.name}"))


def check_not_plain_parquet(spark: SparkSession, table: Table) -> None:
    """Refuse a table folder in the plain Parquet layout (``tenant_id=`` folders, no metadata).

    Raises:
        PlainParquetTableError: naming the folder and the command that rebuilds it.
    """
    if not is_path_catalog(spark, table.catalog):
        return
    folders = fs.list_dirs(spark, table.location)
    if "metadata" not in folders and any(d.startswith("tenant_id=") for d in folders):
        raise PlainParquetTableError(
            f"{table.location} holds a plain Parquet table written by an earlier version of the "
            f"lakehouse; silver and gold are Iceberg tables now. Rebuild the lake with "
            f"`lakehouse pipeline run --full-refresh`."
        )


def clear_plain_parquet(spark: SparkSession, table: Table) -> None:
    """Before a full rebuild: remove an earlier plain Parquet folder (never an Iceberg table)."""
    try:
        check_not_plain_parquet(spark, table)
    except PlainParquetTableError:
        fs.delete(spark, table.location)


@contextmanager
def temp_view(df: DataFrame) -> Iterator[str]:
    """``df`` as a uniquely named temporary view (jobs run side by side in one session)."""
    name = f"_src_{uuid.uuid4().hex}"
    df.createOrReplaceTempView(name)
    try:
        yield f"`{name}`"
    finally:
        df.sparkSession.catalog.dropTempView(name)


def _column_ddl(field: StructField) -> str:
    """``name type [comment '...']`` of a Spark field, its comment kept (the Iceberg doc)."""
    comment = field.metadata.get("comment")
    clause = f" comment '{_sql_string(str(comment))}'" if comment else ""
    return f"`{field.name}` {field.dataType.simpleString()}{clause}"


def create_if_missing(spark: SparkSession, table: Table, schema: StructType) -> None:
    """Create an empty table with ``schema`` unless the catalog has it already."""
    check_not_plain_parquet(spark, table)
    columns = ", ".join(_column_ddl(f) for f in schema.fields)
    spark.sql(
        f"create table if not exists {table.ident} ({columns}) using iceberg "
        f"partitioned by ({_partition_clause()}) {_location_clause(spark, table)} "
        f"tblproperties ({_properties_clause(table_properties(table))})"
    )
    _set_write_order(spark, table, _loaded(spark, table))


def replace(spark: SparkSession, table: Table, df: DataFrame, *, in_order: bool = False) -> None:
    """Replace the whole table with ``df`` in ONE commit (``create or replace table ... as``).

    The table keeps its snapshot history (time travel reaches the versions before), its schema
    becomes ``df``'s. A plain Parquet folder of an earlier version is removed first.

    The statement writes with ``write.distribution-mode`` ``none``: the rows arrive shaped by
    :func:`_clustered` (one shuffle by bucket, sorted within), and with ``hash`` Iceberg would
    ask Spark to rebalance them by bucket once more (a second shuffle of every row, which also
    undoes the sort within files). The table's own mode is ``hash`` again as soon as it has a
    write order (:func:`_set_write_order`: ``write distributed by partition``), before any
    other write; :func:`converge` does the same, should a run die in between.

    ``in_order``: ``df``'s rows are in that shape already (each Spark partition holds a
    bucket's rows in the table's write order, or several buckets one after another), as a
    filter of a table read from files written so is: they are written as they come, without
    a sort.
    """
    clear_plain_parquet(spark, table)
    props = {**table_properties(table), "write.distribution-mode": "none"}
    with temp_view(df if in_order else _clustered(spark, table, df)) as view:
        spark.sql(
            f"create or replace table {table.ident} using iceberg "
            f"partitioned by ({_partition_clause()}) {_location_clause(spark, table)} "
            f"tblproperties ({_properties_clause(props)}) "
            f"as select * from {view}"
        )
    _set_write_order(spark, table, _loaded(spark, table))


def merge(spark: SparkSession, table: Table, source: DataFrame, statement: str) -> None:
    """Run a ``merge into`` statement in ONE commit.

    ``statement`` is the SQL with ``{target}`` and ``{source}`` placeholders, filled here with
    the table's name and a temporary view of ``source``.
    """
    with temp_view(source) as view:
        spark.sql(statement.format(target=table.ident, source=view))


def _loaded(spark: SparkSession, table: Table) -> Any:
    """The table as Iceberg's Java API sees it, loaded through the Spark catalog (no Spark job).

    Reading a snapshot id or summary through the ``refs``/``snapshots`` metadata tables costs a
    Spark job each; the catalog's own ``Table`` answers from the metadata file it just read.
    """
    jvm = spark.sparkContext._jvm
    gateway = spark.sparkContext._gateway
    assert jvm is not None
    assert gateway is not None
    catalog = spark._jsparkSession.sessionState().catalogManager().catalog(table.catalog)
    namespace = gateway.new_array(jvm.java.lang.String, 1)
    namespace[0] = table.namespace
    ident = jvm.org.apache.spark.sql.connector.catalog.Identifier.of(namespace, table.name)
    return catalog.loadTable(ident).table()


def current_snapshot_id(spark: SparkSession, table: Table) -> int | None:
    """The snapshot the table's ``main`` branch points at; ``None`` for no table or no data."""
    if not exists(spark, table):
        return None
    snapshot = _loaded(spark, table).currentSnapshot()
    return None if snapshot is None else int(snapshot.snapshotId())


def columns(spark: SparkSession, table: Table) -> StructType:
    """The table's current schema."""
    return spark.table(table.ident).schema


def snapshot_summary(spark: SparkSession, table: Table, snapshot_id: int | None) -> dict[str, str]:
    """The summary Iceberg keeps of one snapshot (added-records, changed-partition-count...)."""
    if snapshot_id is None:
        return {}
    snapshot = _loaded(spark, table).snapshot(int(snapshot_id))
    if snapshot is None:
        return {}
    return {str(k): str(v) for k, v in dict(snapshot.summary()).items()}


def one_file_per_partition(spark: SparkSession, table: Table) -> bool:
    """Whether the table's current snapshot added exactly one data file per partition it
    changed (a rebuild whose every bucket fits one file), read from the snapshot's summary.

    False when the summary lacks the counts or a partition holds several files (a bucket
    larger than ``write.target-file-size-bytes`` rolls over to a second file).
    """
    summary = snapshot_summary(spark, table, current_snapshot_id(spark, table))
    files = summary.get("added-data-files")
    partitions = summary.get("changed-partition-count")
    total = summary.get("total-data-files")
    if files is None or partitions is None or total is None:
        return False
    return int(files) == int(partitions) == int(total)


def partition_fields(loaded: Any) -> list[tuple[str, str, str]]:
    """The current spec of a loaded table as (field name, transform, source column) triples."""
    schema = loaded.schema()
    return [
        (str(f.name()), str(f.transform().toString()), str(schema.findColumnName(f.sourceId())))
        for f in loaded.spec().fields()
    ]


def has_tenant_buckets(loaded: Any) -> bool:
    """Whether a loaded table's current spec is the layout's: ``bucket(N, tenant_id)`` only."""
    return [(t, c) for _, t, c in partition_fields(loaded)] == [(_BUCKET_TRANSFORM, TENANT_COLUMN)]


def sort_columns(loaded: Any) -> list[str]:
    """The columns of a loaded table's sort order (the write order), in order."""
    schema = loaded.schema()
    return [str(schema.findColumnName(f.sourceId())) for f in loaded.sortOrder().fields()]


def _set_write_order(spark: SparkSession, table: Table, loaded: Any) -> None:
    """Sort rows within files by the tenant, then the key, unless the table does already.

    A metadata-only commit (no snapshot): readers see the same data before and after.
    """
    if sort_columns(loaded) != list(table.write_order):
        spark.sql(
            f"alter table {table.ident} write distributed by partition "
            f"locally ordered by {_order_clause(table)}"
        )


def converge(spark: SparkSession, table: Table) -> None:
    """Give an existing table the layout, write order and properties the jobs write with.

    On AWS Terraform creates the tables (so Lake Formation filters and the table optimizers can
    name them before the first run), but the provider cannot declare a partition spec
    (hashicorp/terraform-provider-aws#36531): the first job partitions the table by
    ``bucket(N, tenant_id)``. A lake written with another spec (the identity ``tenant_id`` of
    earlier versions, or another N) is evolved the same way, by Iceberg partition evolution:
    files written before keep their spec and every reader plans both
    (https://iceberg.apache.org/docs/latest/evolution/#partition-evolution); each later write
    rewrites the files it touches under the new spec, and ``lakehouse maintain`` (compaction)
    or ``pipeline run --full-refresh`` rewrites the rest. A table that has the layout already
    gets no commit.
    """
    loaded = _loaded(spark, table)
    if not has_tenant_buckets(loaded):
        for name, _, _ in partition_fields(loaded):
            spark.sql(f"alter table {table.ident} drop partition field `{name}`")
        spark.sql(
            f"alter table {table.ident} add partition field {_partition_clause()} "
            f"as `{PARTITION_FIELD}`"
        )
        loaded = _loaded(spark, table)
    _set_write_order(spark, table, loaded)
    set_stale_properties(spark, table)


def set_stale_properties(spark: SparkSession, table: Table, loaded: Any | None = None) -> None:
    """Give the table the properties of :func:`table_properties` it lacks (no snapshot)."""
    loaded = loaded if loaded is not None else _loaded(spark, table)
    props = {str(k): str(v) for k, v in dict(loaded.properties()).items()}
    props["format-version"] = str(loaded.operations().current().formatVersion())
    stale = {k: v for k, v in table_properties(table).items() if props.get(k) != v}
    if stale:
        spark.sql(f"alter table {table.ident} set tblproperties ({_properties_clause(stale)})")


def _promotable(have: DataType, want: DataType) -> bool:
    """Iceberg's type promotions: int to bigint, float to double, a wider decimal, same scale."""
    if isinstance(have, IntegerType) and isinstance(want, LongType):
        return True
    if isinstance(have, FloatType) and isinstance(want, DoubleType):
        return True
    return (
        isinstance(have, DecimalType)
        and isinstance(want, DecimalType)
        and have.scale == want.scale
        and want.precision > have.precision
    )


def evolve(spark: SparkSession, table: Table, wanted: StructType) -> list[str]:
    """Bring the table's schema to ``wanted`` where Iceberg can; returns what it cannot.

    A missing table is created. A declared column the table lacks is added (rows written
    before read it as NULL); a column whose declared type is a promotion of the table's (int to
    bigint, float to double, a wider decimal) is widened. Any other type change is returned as
    a sentence for the caller to quarantine with, never cast. Columns the table has and the
    declaration no longer names are kept.
    """
    if not exists(spark, table):
        create_if_missing(spark, table, wanted)
        return []
    converge(spark, table)
    have = {f.name: f.dataType for f in columns(spark, table).fields}
    problems: list[str] = []
    for field in wanted.fields:
        current = have.get(field.name)
        if current is None:
            spark.sql(f"alter table {table.ident} add column {_column_ddl(field)}")
        elif current != field.dataType:
            if _promotable(current, field.dataType):
                spark.sql(
                    f"alter table {table.ident} alter column `{field.name}` "
                    f"type {field.dataType.simpleString()}"
                )
            else:
                problems.append(
                    f"column {field.name} is {current.simpleString()} in "
                    f"{table.namespace}.{table.name} but declared "
                    f"{field.dataType.simpleString()}, which Iceberg cannot promote it to"
                )
    return problems


class _JavaCallable:
    """A Python function as a ``java.util.concurrent.Callable`` (through py4j's callback server)."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn
        self.error: BaseException | None = None

    def call(self) -> None:
        try:
            self.fn()
        except BaseException as exc:  # re-raised in Python by the caller, not through Java
            self.error = exc

    class Java:
        implements: ClassVar[list[str]] = ["java.util.concurrent.Callable"]


_callback_server = threading.Lock()


def with_snapshot_properties(
    spark: SparkSession, properties: dict[str, str], write: Callable[[], object]
) -> None:
    """Run ``write`` (a SQL statement's commit) so that its snapshot's summary holds ``properties``.

    A SQL write takes no write options, so Iceberg reads extra summary properties from
    ``org.apache.iceberg.spark.CommitMetadata.withCommitProperties``, a thread-local the commit
    consults (https://iceberg.apache.org/docs/latest/spark-configuration/#write-options). The
    properties are part of the commit: a reader of the snapshot knows what it was built from,
    with no second file that a killed run could leave behind or ahead of the table. ``write``
    runs as a py4j callback on the JVM thread that set the thread-local (PySpark pins a JVM
    thread to each Python thread), which is the thread Spark plans and commits the write on.
    """
    from pyspark.java_gateway import ensure_callback_server_started

    sc = spark.sparkContext
    jvm, gateway = sc._jvm, sc._gateway
    assert jvm is not None
    assert gateway is not None
    with _callback_server:  # two jobs of a stage may start it at once
        ensure_callback_server_started(gateway)  # type: ignore[no-untyped-call]
    props = jvm.java.util.HashMap()
    for key, value in properties.items():
        props.put(key, value)
    call = _JavaCallable(write)
    jvm.org.apache.iceberg.spark.CommitMetadata.withCommitProperties(
        props, call, jvm.java.lang.Class.forName("java.lang.RuntimeException")
    )
    if call.error is not None:
        raise call.error
