"""Iceberg table maintenance through Iceberg's Spark procedures: expire, compact, remove orphans.

On AWS the Glue Data Catalog's table optimizers do the same work on a schedule (compaction,
snapshot retention, orphan file deletion:
https://docs.aws.amazon.com/glue/latest/dg/table-optimizers.html); locally ``lakehouse
maintain`` calls these functions. None of them changes what a query of the current snapshot
returns: compaction commits the same rows in fewer files, expiry only forgets old snapshots
(time travel to them ends) and deletes files no kept snapshot uses, and orphan removal deletes
files no snapshot ever committed (left by killed writers) once they are older than a margin
that keeps a running writer's files safe.

Compaction keeps the layout the jobs write (``iceberg.py``): it rewrites with Iceberg's
``sort`` strategy in the table's write order (``tenant_id``, then the key), so the files it
writes hold runs of tenants, with tight ``tenant_id`` bounds for min/max pruning. Iceberg's
default, ``binpack``, would concatenate the small files of a bucket as they come, and the
bounds of every file it writes would span the bucket's tenants.
(https://iceberg.apache.org/docs/latest/spark-procedures/#rewrite_data_files)

Compaction also folds in the position deletes the silver ``MERGE`` writes (merge-on-read): a
data file with any delete is rewritten without the deleted rows, and the delete files that then
apply to no live data file are removed (``delete-file-threshold``, ``remove-dangling-deletes``).
On AWS the table optimizer's compaction does the same (its ``deleteFileThreshold`` defaults to
1: IcebergCompactionConfiguration in https://docs.aws.amazon.com/glue/latest/webapi/API_IcebergCompactionConfiguration.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import SparkSession

from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration


def lake_tables(
    spark: SparkSession, catalog: str, silver_path: str, gold_path: str
) -> list[ice.Table]:
    """Every Iceberg table of the lake that exists: silver and history (with the entity's key,
    their second sort column), then gold, in declaration order."""
    candidates: list[ice.Table] = []
    for entity in load_declaration().entities:
        key = entity.primary_key
        candidates.append(ice.silver_table(catalog, silver_path, entity.name, key))
        candidates.append(ice.history_table(catalog, silver_path, entity.name, key))
    candidates += [ice.gold_table(catalog, gold_path, m.name) for m in load_marts()]
    return [t for t in candidates if ice.exists(spark, t)]


def sort_order_sql(table: ice.Table) -> str:
    """The ``sort_order`` argument of ``rewrite_data_files``: the table's write order."""
    return ", ".join(f"{column} ASC NULLS FIRST" for column in table.write_order)


@dataclass(frozen=True)
class Maintained:
    """What maintenance did to one table."""

    table: str
    snapshots_before: int
    snapshots_after: int
    files_rewritten: int
    files_added: int
    files_expired: int
    orphans_removed: int


def _ts(when: datetime) -> str:
    return f"timestamp '{when.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _count(spark: SparkSession, table: ice.Table, kind: str) -> int:
    row = spark.sql(f"select count(*) from {table.metadata_table(kind)}").first()
    return 0 if row is None else int(row[0])


def maintain(
    spark: SparkSession,
    table: ice.Table,
    *,
    expire_before: datetime,
    retain_last: int,
    orphans_before: datetime,
    min_input_files: int = 2,
) -> Maintained:
    """Compact small files, expire old snapshots, remove orphan files (in that order).

    Args:
        spark: a session with Iceberg's SQL extensions and the table's catalog.
        table: the table (its ``key`` set, so that compaction sorts by tenant, then key).
        expire_before: snapshots committed before this (UTC) may be expired...
        retain_last: ...but the last ``retain_last`` snapshots are always kept.
        orphans_before: only files older than this (UTC) can be orphans.
        min_input_files: a partition is compacted when it has at least this many small files.
    """
    name = f"{table.namespace}.{table.name}"
    call = f"call `{table.catalog}`.system"
    before = _count(spark, table, "snapshots")
    rewrite = spark.sql(
        f"{call}.rewrite_data_files(table => '{name}', strategy => 'sort', "
        f"sort_order => '{sort_order_sql(table)}', "
        f"options => map('min-input-files', '{int(min_input_files)}', "
        # A data file with any position delete (merge-on-read MERGE) is rewritten without its
        # deleted rows, and the delete files left pointing at no live file are dropped. The
        # files written take the new snapshot's sequence number: with Iceberg's default (the
        # starting snapshot's), the last MERGE's delete files are not older than the rewritten
        # data and stay as dangling files, one per bucket (see ``compact_buckets``). The
        # caller holds the lake's writer lock, so no commit lands between start and commit.
        "'delete-file-threshold', '1', 'remove-dangling-deletes', 'true', "
        "'use-starting-sequence-number', 'false'))"
    ).first()
    expire = spark.sql(
        f"{call}.expire_snapshots(table => '{name}', older_than => {_ts(expire_before)}, "
        f"retain_last => {int(retain_last)})"
    ).first()
    orphans = spark.sql(
        f"{call}.remove_orphan_files(table => '{name}', older_than => {_ts(orphans_before)})"
    ).collect()
    return Maintained(
        table=name,
        snapshots_before=before,
        snapshots_after=_count(spark, table, "snapshots"),
        files_rewritten=int(rewrite["rewritten_data_files_count"]) if rewrite else 0,
        files_added=int(rewrite["added_data_files_count"]) if rewrite else 0,
        files_expired=int(expire["deleted_data_files_count"]) if expire else 0,
        orphans_removed=len(orphans),
    )


def compact_buckets(spark: SparkSession, table: ice.Table, buckets: list[int]) -> tuple[int, int]:
    """Rewrite only the given ``bucket(N, tenant_id)`` partitions of ``table``, each
    into files sorted in the table's write order with its position deletes applied; one commit.

    The ``where`` names the buckets through Iceberg's own ``system.bucket`` function, which
    Iceberg turns into a partition filter: no other partition's files are planned. Within
    them, ``min-input-files`` 1 with ``delete-file-threshold`` 1 rewrites a bucket that has
    two data files or a data file with a delete (a bucket of one clean file is left as is).
    The files written take the new snapshot's sequence number (``use-starting-sequence-number``
    false): with Iceberg's default, the sequence number of the snapshot the rewrite started
    from, the last ``MERGE``'s delete files are not older than the rewritten data, so
    ``remove-dangling-deletes`` keeps them (measured: 1 data and 1 delete file per compacted
    bucket instead of 1). Safe here because the caller holds the lake's writer lock: no
    commit can land between the rewrite's start and its commit.

    Returns (data files rewritten, data files added).
    """
    if not buckets:
        return 0, 0
    name = f"{table.namespace}.{table.name}"
    values = ", ".join(str(int(b)) for b in sorted(set(buckets)))
    n = ice.LAYOUT.tenant_buckets
    where = f"`{table.catalog}`.system.bucket({n}, `{ice.TENANT_COLUMN}`) in ({values})"
    row = spark.sql(
        f"call `{table.catalog}`.system.rewrite_data_files(table => '{name}', strategy => 'sort', "
        f"sort_order => '{sort_order_sql(table)}', where => \"{where}\", "
        "options => map('min-input-files', '1', 'delete-file-threshold', '1', "
        "'remove-dangling-deletes', 'true', 'use-starting-sequence-number', 'false'))"
    ).first()
    if row is None:
        return 0, 0
    return int(row["rewritten_data_files_count"]), int(row["added_data_files_count"])
