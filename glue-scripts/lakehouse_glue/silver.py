"""The bronze-to-silver job, generic over entities: the per-entity scripts call :func:`run`.

Flow of one run:

1. Find the bronze files to process: the files the Glue job bookmark has not seen yet (a
   bookmarked ``create_dynamic_frame.from_options`` read keyed by ``transformation_ctx``); with
   ``full_refresh`` every file of the table folder.
2. Open each file once (gzip integrity, header); read the good ones by column name.
3. Type, clean and check every row; rows breaking a hard rule go to quarantine.
4. Bring the Iceberg tables ``silver.<entity>`` and ``silver.<entity>_history`` to the
   declared schema (a new column is added, a promotable type widened); a type Iceberg cannot
   promote puts the whole batch in quarantine with the reason, nothing is cast.
5. ``MERGE`` the last change per key into silver (deletes, updates, inserts; replays and late
   changes change nothing), then the batch's versions into history: one atomic commit each.
   ``full_refresh`` rebuilds history from every change and silver from history's current
   versions, each with one ``create or replace``.
6. Write the run's quality report. The caller then commits the job (and so the bookmark): if
   anything above fails, the bookmark does not move and the next run retries the same files.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import StructType, _parse_datatype_string
from pyspark.util import inheritable_thread_target

from lakehouse_glue import fs, metrics, tenants, undeclared
from lakehouse_glue import iceberg as ice
from lakehouse_glue.bronze import (
    FILE_RANK,
    ROW_ORDER,
    BronzeBatch,
    InspectedFile,
    inspect_headers,
    normalize_uri,
    read_files,
    table_path,
    verify_files,
)
from lakehouse_glue.changes import (
    CHANGE_SEQ,
    COMMITTED_AT,
    LINEAGE,
    OP,
    PROCESSED_AT,
    TENANT_ID,
    filterable_key,
    key_filter,
    latest_per_key,
    merge_statement,
    silver_columns,
    silver_ddl,
    to_change_rows,
)
from lakehouse_glue.history import (
    IS_CURRENT,
    VALID_FROM,
    history_schema,
    versions,
)
from lakehouse_glue.history import merge_source as history_merge_source
from lakehouse_glue.history import merge_statement as history_merge_statement
from lakehouse_glue.jobargs import GlueContextLike, JobArgs
from lakehouse_glue.model import BronzeContract, Entity, load_bronze_contract, load_declaration
from lakehouse_glue.quality import (
    HARD_RULES,
    RULE_SCOPES,
    SCHEMA_RULE,
    VIOLATIONS,
    Cleaner,
    bad_rows,
    file_quarantine_rows,
    good_rows,
    quarantine_rows,
    rule_counts,
    type_and_check,
)
from lakehouse_glue.report import write_run_report
from lakehouse_glue.slices import (
    MERGED_LIST,
    BronzeFile,
    MergedFiles,
    default_slice_bytes,
    jvm_heap_bytes,
    plan,
)

FILE_NAME_COLUMN = "source_file"
_T = TypeVar("_T")

#: Test hook: called as ``slice_hook(entity, slice_number, stage)`` after each slice, with stage
#: ``"merged"`` (both MERGEs committed, the slice not yet recorded) and ``"recorded"``. An
#: exception raised from it ends the run there, as a crash would.
slice_hook: Callable[[str, int, str], None] | None = None


def bookmark_context(entity: Entity) -> str:
    """The ``transformation_ctx`` of an entity's bronze source (its bookmark key)."""
    return f"{entity.name}_bronze_source"


DAMAGED_LIST = "_damaged_bronze_files.json"
"""Beside an entity's quarantine: the bronze files set aside as unreadable (URI -> reason)."""


def _exclusion_patterns(folder: str, uris: list[str]) -> list[str]:
    """Glue ``exclusions`` globs naming exactly these files below ``folder``.

    Each file is given relative to the folder and behind ``**/``, so the pattern matches
    whether the reader compares it with the relative key or with the full path. Glob
    characters in a name are escaped as one-character classes.
    """
    base = normalize_uri(folder).rstrip("/") + "/"
    out: list[str] = []
    for uri in uris:
        norm = normalize_uri(uri)
        rel = norm[len(base) :] if norm.startswith(base) else norm.rsplit("/", 1)[-1]
        escaped = "".join(f"[{c}]" if c in "*?[]{}\\" else c for c in rel)
        out += [escaped, f"**/{escaped}"]
    return out


def discover_new_files(
    glue_context: GlueContextLike,
    folder: str,
    ctx: str,
    *,
    suffix: str,
    damaged_list: str,
    evaluate: bool = True,
) -> tuple[list[str], list[InspectedFile]]:
    """Bronze files the job bookmark has not processed yet, and the damaged ones set aside.

    The read is a bookmarked DynamicFrame over the table folder; its rows only serve to name
    the files (``attachFilename``), because the rows themselves are re-read with Spark's CSV
    reader, which keeps NULL and '' apart. Without a header every readable file has at least
    one row (its header line), so no file can hide from the listing.

    On Glue, as in the local stand-in, a corrupt or truncated gzip file fails that read when it
    is evaluated, on every run, since the bookmark only moves at the commit. So when the read
    fails, the folder's files are decompressed to find the damaged ones; they are recorded in
    ``damaged_list`` (so later runs exclude them with Glue's ``exclusions`` option, documented
    at https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-connect-s3-home.html)
    and returned for quarantine, and the bookmarked read runs again without them. A failure
    with no damaged file is raised.

    Raises:
        RuntimeError: the frame has rows but no file-name column, so the new files cannot be
            named; committing the bookmark would skip them.
    """
    spark = glue_context.spark_session
    if not fs.exists(spark, folder):
        return [], []
    known: dict[str, str] = json.loads(fs.read_text(spark, damaged_list) or "{}")

    def read() -> list[str]:
        options: dict[str, Any] = {"paths": [folder.rstrip("/") + "/"], "recurse": True}
        if known:
            options["exclusions"] = json.dumps(_exclusion_patterns(folder, sorted(known)))
        dyf = glue_context.create_dynamic_frame.from_options(
            connection_type="s3",
            connection_options=options,
            format="csv",
            format_options={
                "withHeader": False,
                "separator": ",",
                "quoteChar": '"',
                # Line mode: only the file names are needed.
                "multiLine": False,
                "attachFilename": FILE_NAME_COLUMN,
            },
            transformation_ctx=ctx,
        )
        if not evaluate:
            return []
        df = dyf.toDF()
        if FILE_NAME_COLUMN not in df.columns:
            # Glue's frame over no new file has no columns at all; anything else means the
            # file names are missing, and returning nothing would let the commit skip files.
            if df.columns or not df.isEmpty():
                raise RuntimeError(
                    f"the bookmarked read of {folder} has no {FILE_NAME_COLUMN!r} column "
                    f"(attachFilename), so its new files cannot be named; columns: {df.columns}. "
                    "Check the awsglue version of the job (attachFilename needs Glue 3.0+)."
                )
            return []
        # The names are gathered while the rows stream through one Spark job (observed on a
        # write to the noop sink): a distinct() would shuffle them and add a second job.
        names = Observation(f"{ctx}_files_{uuid.uuid4().hex[:8]}")
        df.select(FILE_NAME_COLUMN).observe(
            names, F.to_json(F.collect_set(FILE_NAME_COLUMN)).alias("files")
        ).write.format("noop").mode("overwrite").save()
        return sorted({normalize_uri(str(n)) for n in json.loads(names.get["files"] or "[]")})

    try:
        return read(), []
    except Py4JJavaError:
        candidates = [
            normalize_uri(f.uri)
            for f in fs.list_files(spark, folder)
            if normalize_uri(f.uri) not in known
        ]
        damaged = [
            f for f in verify_files(spark, candidates, suffix) if f.error_rule == "unreadable_file"
        ]
        if not damaged:
            raise
    known.update({f.uri: f.error or "unreadable" for f in damaged})
    fs.write_text(spark, damaged_list, json.dumps(known, indent=1, sort_keys=True))
    return read(), damaged


def _spread(rows: DataFrame, spark: SparkSession) -> DataFrame:
    """Spread raw rows over every core before typing and checking them, when the read does not.

    A gzip file is never split, so each file arrives in one Spark partition (Spark packs small
    files together up to a core's share of the bytes): a small table's full load is a single
    partition, and typing and checking it (regular expressions and the violation array per
    value) would run on one core. Such a read is spread: hashing on the row order, which is
    unique per row and already computed, spreads the rows evenly without the local sort a
    round-robin repartition adds for determinism. A read of at least as many partitions as
    Spark's default parallelism (a large table's full load: a file per 64 MiB of CSV,
    docs/bronze-contract.md#full-load-file-size) keeps every core busy already; it is typed
    where it is read, without a shuffle of every raw row.
    """
    parallelism = spark.sparkContext.defaultParallelism
    if rows.rdd.getNumPartitions() >= parallelism:
        return rows
    return rows.repartition(parallelism, F.col(ROW_ORDER))


def _read_checked(
    spark: SparkSession,
    files: list[str],
    entity: Entity,
    contract: BronzeContract,
    clean: Cleaner | None,
    action: Callable[[DataFrame], _T],
    *,
    spread: bool = False,
) -> tuple[BronzeBatch, DataFrame | None, _T | None]:
    """Read, type and check the files, then run ``action`` (the first Spark job) on the rows.

    Returns the batch, the checked rows and what ``action`` returned (both ``None`` when no
    file could be read). When the action fails, every file is decompressed to find the damaged
    ones; they join the batch's bad files and the rest is read again. A failure with no damaged
    file is raised.
    """
    inspected = inspect_headers(spark, files, contract.file_suffix)
    damaged: list[InspectedFile] = []
    while True:
        skip = {d.uri for d in damaged}
        batch = read_files(spark, [f for f in inspected if f.uri not in skip], entity, contract)
        batch.bad_files.extend(damaged)
        if batch.rows is None:
            return batch, None, None
        rows = _spread(batch.rows, spark) if spread else batch.rows
        checked = type_and_check(rows, entity, contract, clean)
        try:
            return batch, checked, action(checked)
        except Py4JJavaError:
            found = [
                f for f in verify_files(spark, batch.files_read, contract.file_suffix) if not f.ok
            ]
            if not found:
                raise
            damaged.extend(found)


def _bad_flag() -> Column:
    return F.when(F.size(VIOLATIONS) > 0, 1).otherwise(0)


def _count_checked(checked: DataFrame, entity: Entity) -> tuple[DataFrame, int, int, list[str]]:
    """Keep the checked rows; count them and the bad ones and name the tenants of the good
    ones, all in one Spark job.

    A local checkpoint rather than a cache: the rows carry their file name and row position,
    which Spark cannot compute again identically, and a ``MERGE`` source must give the same
    rows however often Spark computes it (a retried task, a copy-on-write table's two reads).
    The checkpoint is written by the one job that passes over the rows, a write to Spark's
    ``noop`` sink (disk and memory, freed when the frame is dropped); the counts are observed
    on the way (an aggregate would add a second job, the shuffle of its partial results).
    """
    kept = checked.localCheckpoint(eager=False)
    seen = Observation(f"{entity.name}_slice_{uuid.uuid4().hex[:8]}")
    try:
        kept.observe(
            seen,
            F.count(F.lit(1)).alias("n"),
            F.sum(_bad_flag()).alias("bad"),
            # collect_set skips NULLs, as the tenants of rows that break no rule are never NULL;
            # as JSON text, since an observed array reaches Python as a Java object.
            F.to_json(
                F.collect_set(F.when(F.size(VIOLATIONS) == 0, F.col(entity.tenant_column)))
            ).alias("tenants"),
        ).write.format("noop").mode("overwrite").save()
    except Py4JJavaError:
        kept.unpersist()
        raise
    totals = seen.get
    tenants = sorted(str(t) for t in json.loads(totals["tenants"] or "[]") if t)
    return kept, int(totals["n"]), int(totals["bad"] or 0), tenants


def silver_schema(entity: Entity) -> StructType:
    """Spark schema of the silver table (declared columns, tenant_id, lineage)."""
    schema = _parse_datatype_string(silver_ddl(entity))
    assert isinstance(schema, StructType)
    return schema


@dataclass(frozen=True)
class Tables:
    """The two Iceberg tables a silver job writes."""

    current: ice.Table  # silver.<entity>
    history: ice.Table  # silver.<entity>_history


def _current_from_history(history: DataFrame, entity: Entity, started: datetime) -> DataFrame:
    """The current state is the current version of every key (what history says is current)."""
    return history.where(F.col(IS_CURRENT)).select(
        *[F.col(c) for c in silver_columns(entity) if c not in LINEAGE],
        F.col(VALID_FROM).alias(COMMITTED_AT),
        F.col(CHANGE_SEQ),
        F.lit(started).cast("timestamp").alias(PROCESSED_AT),
    )


#: How many whole small files of a rebuilt history one read task may hold (the file-open cost
#: is a read split over this): a rebuild writes a file per bucket, 64 small files for each
#: table at 10,000 tenants.
HISTORY_FILES_PER_TASK = 16


def _history_by_file(spark: SparkSession, table: ice.Table) -> DataFrame:
    """The history table just rebuilt, read as whole files packed into tasks.

    A rebuild writes history one file per bucket (:func:`lakehouse_glue.iceberg.replace`),
    each sorted in the current table's write order, so a task that holds whole files holds
    whole buckets in that order, and the current table is written as read (no shuffle, no
    sort). Iceberg packs files into one read task by their size or its open cost, whichever is
    larger, up to a split (read options documented at
    https://iceberg.apache.org/docs/latest/spark-configuration/#read-options). With the open
    cost a :data:`HISTORY_FILES_PER_TASK`-th of the split, a task holds at most that many small
    files, so the buckets are still read on several cores (Iceberg's default open cost packed
    the 64 small files of 10,000 tenants into one task on one core) without a task per file;
    a file larger than a split is read in parts, a full part a task of its own.
    """
    # Spark's own read split (spark.sql.files.maxPartitionBytes, as bytes).
    split = int(str(spark._jsparkSession.sessionState().conf().filesMaxPartitionBytes()))
    return spark.read.options(
        **{"split-size": str(split), "file-open-cost": str(split // HISTORY_FILES_PER_TASK)}
    ).table(table.ident)


def _uuid_keys(entity: Entity) -> bool:
    """Whether a full refresh sorts the entity's rows on
    :func:`lakehouse_glue.iceberg.uuid_sort_prefix`: its tenant and key are UUIDs (typed UUIDs
    are lower-case hex) and the layout's bucket fits the prefix's byte (the layout allows more)."""
    return ice.LAYOUT.tenant_buckets < 256 and all(
        entity.column(c).type == "uuid" for c in (entity.tenant_column, entity.primary_key)
    )


def _sort_prefixed(df: DataFrame, table: ice.Table, entity: Entity) -> DataFrame:
    """``df`` with the full refresh's sort prefix (:func:`lakehouse_glue.iceberg.uuid_sort_prefix`)
    when :func:`_uuid_keys` says the entity takes one, else ``df`` as it is."""
    if not _uuid_keys(entity):
        return df
    return df.withColumn(ice.SORT_PREFIX_COLUMN, ice.uuid_sort_prefix(table))


def _write_full(
    spark: SparkSession, checked: DataFrame, entity: Entity, tables: Tables, started: datetime
) -> tuple[int, int, int]:
    """Full refresh: rows in, rows breaking a hard rule and rows written.

    History is rebuilt from every change (one commit, the one Spark job that reads bronze),
    then the current state is taken from it (a second commit, read from history's files whole
    buckets per task and written as read, with no shuffle and no sort): the last version of
    each key is the current row, by the same change order. The changes are shuffled once, by
    the table's bucket: the window that chains each key's versions then runs where the rows are,
    and its order (bucket, tenant, key) is the write's. The counts are observed while the rows
    stream through the first write instead of persisting the rows and counting them in a job
    of their own. A failed read fails the write; the caller then finds the damaged files and
    runs this again.
    """
    seen = Observation(f"{entity.name}_checked_{uuid.uuid4().hex[:8]}")
    observed = checked.observe(seen, F.count(F.lit(1)).alias("n"), F.sum(_bad_flag()).alias("bad"))
    changes = to_change_rows(good_rows(observed), entity, started)
    bucketed = ice.with_bucket(tables.history, changes)
    bucketed = _sort_prefixed(bucketed, tables.history, entity)
    cluster = [c for c in (ice.SORT_PREFIX_COLUMN, ice.BUCKET_COLUMN) if c in bucketed.columns]
    chained = versions(bucketed, entity, *cluster)
    ice.replace(spark, tables.history, undeclared.mark(chained, entity))
    totals = seen.get
    history = spark.table(tables.history.ident)
    small = ice.is_small(history)  # then one task writes it (ice.small_write)
    if small:
        current = _current_from_history(history, entity, started)
        ice.replace(spark, tables.current, undeclared.mark(current, entity))
    else:
        # Each read task holds whole buckets (whole files, or a part of one large file), each
        # in the order history's write gave its file: (sort prefix,) bucket, tenant, key, then
        # the change order. The current versions, filtered in that order, are in the current
        # table's write order already, so they are written as they are read, with no shuffle
        # and no sort (the sort was 8% of the events job's task samples at scale 10).
        # That holds only while each bucket is one file: a bucket rolled over to a second file
        # could share a task with another bucket between its two parts, so then the rows are
        # sorted within each task first, as any other write.
        in_order = ice.one_file_per_partition(spark, tables.history)
        current = _current_from_history(_history_by_file(spark, tables.history), entity, started)
        if not in_order:
            current = current.withColumn(ice.BUCKET_COLUMN, ice.bucket_of(tables.current))
            current = _sort_prefixed(current, tables.current, entity)
        ice.replace(spark, tables.current, undeclared.mark(current, entity), in_order=in_order)
    written = ice.snapshot_summary(
        spark, tables.current, ice.current_snapshot_id(spark, tables.current)
    )
    return int(totals["n"]), int(totals["bad"] or 0), int(written.get("total-records", 0))


def _rebuild(
    spark: SparkSession,
    files: list[str],
    entity: Entity,
    contract: BronzeContract,
    clean: Cleaner | None,
    tables: Tables,
    started: datetime,
    quarantine_path: str,
    counts: dict[str, int],
    out: _Totals,
) -> None:
    """Write both tables from ``files`` alone, replacing them: a full refresh, or the first
    slice of a run into tables that hold no data yet (where a merge would join against nothing
    and give the same rows, only slower)."""
    batch, checked, full = _read_checked(
        spark,
        files,
        entity,
        contract,
        clean,
        lambda df: _write_full(spark, df, entity, tables, started),
        spread=True,
    )
    rows_in, rows_quarantined, rows_out = full or (0, 0, 0)
    out.rebuilt += 1
    out.rows_in += rows_in
    out.rows_quarantined += rows_quarantined
    out.rows_out += rows_out
    if checked is None:
        _replace_empty(spark, entity, tables)
    out.add_batch(batch)
    _quarantine(spark, batch.bad_files, entity, contract, started, quarantine_path, counts)
    if checked is not None and rows_quarantined:
        _quarantine_bad_rows(spark, checked, entity, contract, started, quarantine_path, counts)


def _replace_empty(spark: SparkSession, entity: Entity, tables: Tables) -> None:
    """Full refresh with no readable file: both tables exist and are empty."""
    ice.replace(spark, tables.history, spark.createDataFrame([], history_schema(entity)))
    ice.replace(spark, tables.current, spark.createDataFrame([], silver_schema(entity)))


#: Up to this many valid changes in a slice, their keys are broadcast to filter history's rows
#: (a hash table of about 10 MiB, Spark's own broadcast threshold, at two UUIDs a key).
BROADCAST_KEYS = 100_000


#: Up to this many valid changes in a slice, their keys are named in both ``MERGE`` statements
#: (:func:`lakehouse_glue.changes.key_filter`, about 40 bytes of SQL a key).
KEY_FILTER_KEYS = 10_000


#: Up to this many valid changes in a slice, the two ``MERGE`` statements run at once (see
#: :func:`_merge`); a larger slice merges one table after the other, to hold one merge's
#: memory at a time.
CONCURRENT_MERGE_KEYS = BROADCAST_KEYS


def _both(first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run ``first`` here and ``second`` in a thread at once; re-raise the first error.

    The thread inherits this thread's Spark local properties (job group, scheduler pool).
    """
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            second()
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    thread = threading.Thread(target=inheritable_thread_target(guarded), name="history-merge")
    thread.start()
    try:
        first()
    finally:
        thread.join()
    if errors:
        raise errors[0]


def _merge(
    spark: SparkSession,
    changes: DataFrame,
    entity: Entity,
    tables: Tables,
    tenants: list[str],
    valid: int,
) -> tuple[int, int]:
    """Apply a batch's changes: silver and history, each in one commit.

    Either commit alone is safe to be the last thing a killed run did: the bookmark has not
    moved, the next run reads the same files again, and both merges ignore changes they
    already hold. Neither statement reads the other's table, so for a batch of up to
    :data:`CONCURRENT_MERGE_KEYS` changes they run at once: a small merge is mostly fixed
    cost (planning, Iceberg metadata, small Spark jobs) that leaves a core idle, and the two
    fill both. A larger batch merges silver first, then history.

    Each source is computed inside its ``MERGE``, not beforehand: a merge-on-read ``MERGE``
    reads its source once (the outer join with the table's rows that finds what to delete and
    what to insert), and the source's last shuffle (by tenant and key, for the last change per
    key or history's version chain) already places its rows as that join needs them, so the
    join shuffles only the table's side. ``changes`` come from the slice's local checkpoint,
    so computing them again inside a statement gives the same rows. ``valid`` is their
    number, ``tenants`` their tenants.

    Returns the rows silver's commit wrote (merge-on-read: the new and changed rows; a
    replaced or deleted row gets a position delete) and the tenant buckets (partitions) it
    changed.
    """
    before = ice.current_snapshot_id(spark, tables.current)
    # The batch's keys, named in both statements' joins (in_table) and in history's read
    # (in_rows): one small Spark job over the slice's checkpoint.
    in_table = in_rows = None
    if valid <= KEY_FILTER_KEYS and filterable_key(entity):
        keys = [str(r[0]) for r in changes.select(entity.primary_key).collect()]
        in_table, in_rows = key_filter(entity, keys), key_filter(entity, keys, alias=None)

    def current() -> None:
        table_columns = ice.columns(spark, tables.current).fieldNames()
        latest = latest_per_key(changes, entity).select(*silver_columns(entity), OP, FILE_RANK)
        statement = merge_statement(entity, table_columns, in_table)
        ice.merge(spark, tables.current, latest, statement)

    def history() -> None:
        rows = spark.table(tables.history.ident).where(F.col(TENANT_ID).isin(tenants))
        # Only the batch's keys matter to history's last change per key: the rows of other
        # keys are dropped as the table is read, not sorted and shuffled to be aggregated.
        if in_rows is not None:
            rows = rows.where(F.expr(in_rows))
        elif valid <= BROADCAST_KEYS:
            keys = list(dict.fromkeys([TENANT_ID, entity.primary_key]))
            rows = rows.join(F.broadcast(changes.select(*keys)), keys, "left_semi")
        ice.merge(
            spark,
            tables.history,
            history_merge_source(changes, rows, entity),
            history_merge_statement(
                entity, ice.columns(spark, tables.history).fieldNames(), in_table
            ),
        )

    if valid <= CONCURRENT_MERGE_KEYS:
        _both(current, history)
    else:
        current()
        history()
    after = ice.current_snapshot_id(spark, tables.current)
    if after == before:
        return 0, 0
    summary = ice.snapshot_summary(spark, tables.current, after)
    return int(summary.get("added-records", 0)), int(summary.get("changed-partition-count", 0))


def _incompatible(checked: DataFrame, problems: list[str]) -> DataFrame:
    """The batch's valid rows marked with the schema rule, for the quarantine."""
    reason = "; ".join(problems) + (
        ". Nothing was cast: declare a compatible type, or rebuild the table with "
        "`lakehouse pipeline run --full-refresh`."
    )
    violation = F.struct(F.lit(SCHEMA_RULE).alias("rule"), F.lit(reason).alias("reason"))
    return good_rows(checked).withColumn(VIOLATIONS, F.array(violation))


def _carry(
    spark: SparkSession,
    entity: Entity,
    contract: BronzeContract,
    files: list[str],
    tables: Tables,
    full_refresh: bool,
) -> undeclared.Carried:
    """The columns the run carries beyond the declaration: the tables' and the files' own.

    Reads each file's header (its first bytes; the read itself reads them again, per slice),
    so that every slice of the run writes the same columns. A full refresh rebuilds the tables,
    so only the files count.
    """
    headers = [f.header for f in inspect_headers(spark, files, contract.file_suffix) if f.ok]
    schemas: list[StructType | None] = []
    if not full_refresh:
        schemas = [
            ice.columns(spark, t) if ice.exists(spark, t) else None
            for t in (tables.current, tables.history)
        ]
    return undeclared.plan(entity, contract, headers, schemas)


@dataclass
class _Totals:
    """What the slices of a run add up to, for its report."""

    rows_in: int = 0
    rows_quarantined: int = 0
    rows_out: int = 0
    rewritten: int = 0
    rebuilt: int = 0
    files_read: list[str] = field(default_factory=list)
    bad_files: list[InspectedFile] = field(default_factory=list)
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    missing_optional_columns: dict[str, list[str]] = field(default_factory=dict)

    def add_batch(self, batch: BronzeBatch) -> None:
        self.files_read += batch.files_read
        self.bad_files += batch.bad_files
        self.extra_columns.update(batch.extra_columns)
        self.missing_optional_columns.update(batch.missing_optional_columns)


def _quarantine(
    spark: SparkSession,
    bad_files: list[InspectedFile],
    entity: Entity,
    contract: BronzeContract,
    started: datetime,
    quarantine_path: str,
    counts: dict[str, int],
) -> None:
    """Count and quarantine whole files that could not be read."""
    for f in bad_files:
        counts[f.error_rule or "unreadable_file"] += 1
    if bad_files:
        rows = [(f.uri, f.error_rule or "", f.error or "") for f in bad_files]
        file_quarantine_rows(spark, rows, entity, contract, started).write.mode("append").parquet(
            quarantine_path
        )


def _quarantine_bad_rows(
    spark: SparkSession,
    checked: DataFrame,
    entity: Entity,
    contract: BronzeContract,
    started: datetime,
    quarantine_path: str,
    counts: dict[str, int],
) -> None:
    """Count the rows breaking a hard rule by rule and quarantine them.

    Rare: the bad rows are kept once (they are few) for their counts and their write.
    """
    bad = bad_rows(checked).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for rule, n in rule_counts(bad).items():
            if rule != SCHEMA_RULE:
                counts[rule] += n
        quarantine_rows(bad, entity, contract, started).write.mode("append").parquet(
            quarantine_path
        )
    finally:
        bad.unpersist()


def _run_slice(
    spark: SparkSession,
    uris: list[str],
    entity: Entity,
    contract: BronzeContract,
    clean: Cleaner | None,
    tables: Tables,
    started: datetime,
    quarantine_path: str,
    counts: dict[str, int],
    out: _Totals,
    schema_problems: list[str] | None,
) -> list[str] | None:
    """Read, check, quarantine and merge one slice of files; returns the schema problems
    (``None`` until a slice with readable files brought the tables to the declared schema).

    The slice's checked rows are kept (a local checkpoint, memory and disk) only while this
    slice is merged, so memory holds one slice, never the table. The tables are brought to the
    declared schema at the first slice with rows; when Iceberg cannot take a declared type,
    every slice's valid rows go to quarantine (nothing is merged, nothing cast).
    """
    batch, _, inc = _read_checked(
        spark, uris, entity, contract, clean, lambda df: _count_checked(df, entity)
    )
    out.add_batch(batch)
    _quarantine(spark, batch.bad_files, entity, contract, started, quarantine_path, counts)
    if inc is None:
        return schema_problems
    kept, rows_in, rows_quarantined, affected = inc
    try:
        out.rows_in += rows_in
        out.rows_quarantined += rows_quarantined
        valid = rows_in - rows_quarantined
        if schema_problems is None:
            schema_problems = ice.evolve(spark, tables.current, silver_schema(entity))
            schema_problems += ice.evolve(spark, tables.history, history_schema(entity))
        if rows_quarantined:
            _quarantine_bad_rows(spark, kept, entity, contract, started, quarantine_path, counts)
        if schema_problems and valid:
            # The slice waits in quarantine: a row half in silver and half not would be worse
            # than none.
            quarantine_rows(
                _incompatible(kept, schema_problems), entity, contract, started
            ).write.mode("append").parquet(quarantine_path)
            counts[SCHEMA_RULE] += valid
            out.rows_quarantined += valid
        elif affected:
            changes = to_change_rows(good_rows(kept), entity, started)
            rows_out, rewritten = _merge(spark, changes, entity, tables, affected, valid)
            out.rows_out += rows_out
            out.rewritten += rewritten
    finally:
        kept.unpersist()
    return schema_problems


@dataclass(frozen=True)
class _Setting:
    """What every step of one run of one entity's job works with."""

    spark: SparkSession
    args: JobArgs
    entity: Entity
    contract: BronzeContract
    tables: Tables
    started: datetime
    folder: str  # the entity's bronze folder
    quarantine_path: str
    clean: Cleaner | None

    @property
    def damaged_list(self) -> str:
        return f"{self.quarantine_path}/{DAMAGED_LIST}"


def _tables_empty(setting: _Setting) -> bool:
    """Whether an incremental run finds both tables without data (a first run, or dropped)."""
    spark, tables = setting.spark, setting.tables
    if not setting.args.full_refresh:
        # An earlier version's plain Parquet silver cannot take a merge: say how to rebuild.
        ice.check_not_plain_parquet(spark, tables.current)
        ice.check_not_plain_parquet(spark, tables.history)
    return not setting.args.full_refresh and all(
        ice.current_snapshot_id(spark, t) is None for t in (tables.current, tables.history)
    )


def _files_to_read(
    glue_context: GlueContextLike, setting: _Setting, everything: bool
) -> tuple[list[str], list[InspectedFile]]:
    """The bronze files of this run and the damaged files set aside by the bookmarked read.

    With ``everything`` (a full refresh, or tables with no data yet) every file of the folder,
    the bookmark's included: the bookmarked read would hand out the same files (or, after a
    drop, too few), and evaluating it decompresses the whole backlog only to name its files.
    The bookmarked source is still created, so the bookmark moves past every file, but never
    evaluated: the folder is listed after it, so the listing holds every file the bookmark
    will record (a file arriving in between is read now and again next run, which changes
    nothing).
    """
    spark, contract = setting.spark, setting.contract
    found = discover_new_files(
        glue_context,
        setting.folder,
        bookmark_context(setting.entity),
        suffix=contract.file_suffix,
        damaged_list=setting.damaged_list,
        evaluate=not everything,
    )
    if not everything:
        return found
    return sorted(normalize_uri(f.uri) for f in fs.list_files(spark, setting.folder)), []


def _type_declared(setting: _Setting) -> list[dict[str, Any]]:
    """Carried columns declared since are typed in both tables (none on a full refresh)."""
    typed: list[dict[str, Any]] = []
    if not setting.args.full_refresh:
        for table in (setting.tables.current, setting.tables.history):
            typed += undeclared.type_declared(
                setting.spark,
                table,
                setting.entity,
                setting.contract,
                setting.quarantine_path,
                setting.started,
            )
    return typed


@dataclass
class _Progress:
    """How far the slices of a run went."""

    slices: int = 0
    resumed: set[str] = field(default_factory=set)
    schema_problems: list[str] | None = None


def _run_slices(
    setting: _Setting,
    files: list[str],
    set_aside: list[InspectedFile],
    empty: bool,
    counts: dict[str, int],
    out: _Totals,
) -> _Progress:
    """Read and apply the run's files: one rebuild on a full refresh, else slice by slice.

    Into tables with no data yet, the first slice is a rebuild: the same rows a merge would
    give, written without joining against empty tables; it takes every full-load file (a
    rebuild's memory does not follow its input, see :func:`lakehouse_glue.slices.plan`). Each
    slice is recorded once both its commits are made, so a run stopped between slices resumes
    at the next one.
    """
    spark, entity, contract = setting.spark, setting.entity, setting.contract
    progress = _Progress()
    merged_record = MergedFiles(spark, f"{setting.quarantine_path}/{MERGED_LIST}")
    common = (
        entity,
        contract,
        setting.clean,
        setting.tables,
        setting.started,
        setting.quarantine_path,
        counts,
        out,
    )
    if setting.args.full_refresh:
        merged_record.clear()
        _rebuild(spark, files, *common)
        progress.slices = 1
        return progress
    started, quarantine_path = setting.started, setting.quarantine_path
    _quarantine(spark, set_aside, entity, contract, started, quarantine_path, counts)
    listed = {normalize_uri(f.uri): f.size for f in fs.list_files(spark, setting.folder)}
    new = [BronzeFile(u, listed.get(u, 0)) for u in files]
    if empty:
        merged_record.clear()  # nothing is merged into tables with no data
    progress.resumed = merged_record.load(new)
    slice_bytes = setting.args.slice_bytes or default_slice_bytes(jvm_heap_bytes(spark))
    todo = [f for f in new if f.uri not in progress.resumed]
    sizes = {f.uri: f for f in todo}
    slices = plan(todo, slice_bytes, contract.full_load_file_prefix, full_load_whole=empty)
    for number, uris in enumerate(slices, 1):
        if number == 1 and empty:
            _rebuild(spark, uris, *common)
        else:
            progress.schema_problems = _run_slice(spark, uris, *common, progress.schema_problems)
        if slice_hook is not None:
            slice_hook(entity.name, number, "merged")
        merged_record.add(sizes[u] for u in uris)
        if slice_hook is not None:
            slice_hook(entity.name, number, "recorded")
        progress.slices = number
    return progress


def _report(
    setting: _Setting,
    run_id: str,
    seconds: float,
    files: list[str],
    set_aside: list[InspectedFile],
    carried: undeclared.Carried,
    typed: list[dict[str, Any]],
    progress: _Progress,
    counts: dict[str, int],
    out: _Totals,
) -> dict[str, Any]:
    """The run's quality report (what ``run`` returns and writes)."""
    spark, tables = setting.spark, setting.tables
    files_quarantined = len(out.bad_files)
    values_quarantined = sum(int(t["values_quarantined"]) for t in typed)
    return {
        "entity": setting.entity.name,
        "job_name": setting.args.job_name,
        "run_id": run_id,
        "started_at": setting.started.isoformat(),
        "seconds": round(seconds, 3),
        "full_refresh": setting.args.full_refresh,
        "slices": progress.slices,
        "slices_rebuilt": out.rebuilt,
        "files": {
            "processed": len(files) + len(set_aside),
            "resumed": len(progress.resumed),
            "read": len(out.files_read),
            "quarantined": files_quarantined,
        },
        "rows_in": out.rows_in,
        "rows_quarantined": out.rows_quarantined,
        "values_quarantined": values_quarantined,
        "changes_applied": out.rows_in - out.rows_quarantined,
        "rows_out": out.rows_out,
        "buckets_rewritten": out.rewritten,
        "snapshots": {
            "current": ice.current_snapshot_id(spark, tables.current),
            "history": ice.current_snapshot_id(spark, tables.history),
        },
        "rules": {
            rule: {
                "severity": "hard",
                "scope": RULE_SCOPES.get(rule, "row"),
                "violations": counts[rule],
            }
            for rule in HARD_RULES
        },
        "quarantined_files": [
            {"file": f.uri, "rule": f.error_rule, "reason": f.error} for f in out.bad_files
        ],
        "schema_drift": {
            "extra_columns": out.extra_columns,
            "missing_optional_columns": out.missing_optional_columns,
            "carried": carried.notices(f"{tables.current.namespace}.{tables.current.name}"),
            "not_carried": carried.refused,
            "typed": typed,
            "incompatible": progress.schema_problems or [],
        },
        "status": (
            "quarantined"
            if (out.rows_quarantined or files_quarantined or values_quarantined)
            else "ok"
        ),
    }


def run(
    glue_context: GlueContextLike,
    args: JobArgs,
    entity_name: str,
    clean: Cleaner | None = None,
) -> dict[str, Any]:
    """Run the bronze-to-silver job of one entity; returns (and writes) its quality report."""
    spark = glue_context.spark_session
    contract: BronzeContract = load_bronze_contract()
    entity = load_declaration().entity(entity_name)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    run_id = args.job_run_id or f"jr_{started:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"
    setting = _Setting(
        spark=spark,
        args=args,
        entity=entity,
        contract=contract,
        tables=Tables(
            ice.silver_table(
                args.iceberg_catalog, args.silver_path, entity.name, entity.primary_key
            ),
            ice.history_table(
                args.iceberg_catalog, args.silver_path, entity.name, entity.primary_key
            ),
        ),
        started=started,
        folder=table_path(args.bronze_path, entity, contract),
        quarantine_path=f"{args.quarantine_path}/{entity.name}",
        # Offboarded tenants' rows stay in bronze; they never come back into silver, full
        # refresh too.
        clean=tenants.dropping_offboarded(
            clean, entity, tenants.offboarded(spark, args.silver_path)
        ),
    )
    empty = _tables_empty(setting)
    files, set_aside = _files_to_read(glue_context, setting, args.full_refresh or empty)
    # Columns beyond the declaration are carried as text; once declared, they are typed first.
    carried = _carry(spark, entity, contract, files, setting.tables, args.full_refresh)
    setting = replace(setting, entity=carried.entity)
    typed = _type_declared(setting)
    counts = {rule: 0 for rule in HARD_RULES}
    out = _Totals(bad_files=list(set_aside))
    progress = _run_slices(setting, files, set_aside, empty, counts, out)
    report = _report(
        setting,
        run_id,
        time.perf_counter() - t0,
        files,
        set_aside,
        carried,
        typed,
        progress,
        counts,
        out,
    )
    write_run_report(spark, args.reports_path, report)
    # The alarm's metric: every run publishes, 0 included; a bad file counts as one.
    quarantined = out.rows_quarantined + report["values_quarantined"] + len(out.bad_files)
    metrics.publish(
        spark,
        reports_path=args.reports_path,
        job_name=args.job_name,
        run_id=run_id,
        namespace=args.metrics_namespace,
        deployment=args.metrics_deployment,
        values={metrics.QUARANTINED_ROWS: quarantined},
    )
    return report
