"""The bronze-to-silver job, generic over entities: the per-entity scripts call :func:`run`.

Flow of one run:

1. Find the bronze files to process: the files the Glue job bookmark has not seen yet (a
   bookmarked ``create_dynamic_frame.from_options`` read keyed by ``transformation_ctx``); with
   ``full_refresh`` every file of the table folder.
2. Open each file once (gzip integrity, header); read the good ones by column name.
3. Type, clean and check every row; rows breaking a hard rule go to quarantine.
4. Merge the valid changes with the current silver rows of the affected tenants only; the last
   change per key wins, deletes remove the row.
5. Rewrite only the affected ``tenant_id=`` partitions (dynamic partition overwrite); a tenant
   left without rows has its partition removed. ``full_refresh`` rewrites the whole table.
6. Write the run's quality report. The caller then commits the job (and so the bookmark): if
   anything above fails, the bookmark does not move and the next run retries the same files.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from py4j.protocol import Py4JJavaError
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue import fs
from lakehouse_glue.bronze import (
    ROW_ORDER,
    BronzeBatch,
    InspectedFile,
    inspect_headers,
    normalize_uri,
    read_files,
    table_path,
    verify_files,
)
from lakehouse_glue.changes import TENANT_ID, apply_changes, silver_ddl, to_change_rows
from lakehouse_glue.jobargs import JobArgs
from lakehouse_glue.model import BronzeContract, Entity, load_bronze_contract, load_declaration
from lakehouse_glue.quality import (
    FILE_RULES,
    HARD_RULES,
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

FILE_NAME_COLUMN = "source_file"
_T = TypeVar("_T")


class GlueContextLike(Protocol):
    """What this module needs of ``awsglue.context.GlueContext`` (real or local)."""

    @property
    def spark_session(self) -> SparkSession: ...

    @property
    def create_dynamic_frame(self) -> Any: ...


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
        return sorted(
            {normalize_uri(str(r[0])) for r in df.select(FILE_NAME_COLUMN).distinct().collect()}
        )

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


def _existing_silver(
    spark: SparkSession, path: str, entity: Entity, tenants: list[str]
) -> DataFrame | None:
    if not tenants or not fs.exists(spark, path):
        return None
    return spark.read.schema(silver_ddl(entity)).parquet(path).where(F.col(TENANT_ID).isin(tenants))


def _write(df: DataFrame, path: str, mode: str) -> None:
    # One file per tenant partition: apply_changes already grouped the rows by tenant.
    (
        df.write.mode("overwrite")
        .option("partitionOverwriteMode", mode)
        .partitionBy(TENANT_ID)
        .parquet(path)
    )


def _write_observed(merged: DataFrame, entity: Entity, silver_path: str) -> tuple[int, list[str]]:
    """Write ``merged`` over its tenant partitions; returns the rows and the tenants written."""
    seen = Observation(f"{entity.name}_merged_{uuid.uuid4().hex[:8]}")
    observed = merged.observe(
        seen,
        F.count(F.lit(1)).alias("n"),
        # As JSON: an observed array comes back to Python as an opaque Java object.
        F.to_json(F.collect_set(TENANT_ID)).alias("tenants"),
    )
    _write(observed, silver_path, "dynamic")
    got = seen.get
    return int(got["n"]), [str(t) for t in json.loads(got["tenants"] or "[]")]


def _partition_tenants(spark: SparkSession, path: str) -> list[str]:
    """The tenants that have a ``tenant_id=`` partition folder under ``path`` (sorted)."""
    prefix = f"{TENANT_ID}="
    return sorted(d[len(prefix) :] for d in fs.list_dirs(spark, path) if d.startswith(prefix))


def _spread(rows: DataFrame, spark: SparkSession) -> DataFrame:
    """Spread raw rows over every core before typing and checking them.

    A gzip file is never split, so a full load (one big ``LOAD*.csv.gz`` per table) arrives as a
    single Spark partition, and typing and checking it (regular expressions and the violation
    array per value) would run on one core. Hashing on the row order, which is unique per row
    and already computed, spreads the rows evenly without the local sort a round-robin
    repartition adds for determinism.
    """
    return rows.repartition(spark.sparkContext.defaultParallelism, F.col(ROW_ORDER))


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
    """Persist the checked rows; count them and the bad ones and name the tenants of the good
    ones, all in one Spark job."""
    kept = checked.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        totals = kept.agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(_bad_flag()).alias("bad"),
            # collect_set skips NULLs, as the tenants of rows that break no rule are never NULL.
            F.collect_set(F.when(F.size(VIOLATIONS) == 0, F.col(entity.tenant_column))).alias(
                "tenants"
            ),
        ).first()
    except Py4JJavaError:
        kept.unpersist()
        raise
    assert totals is not None
    tenants = sorted(str(t) for t in totals["tenants"] or [] if t)
    return kept, int(totals["n"]), int(totals["bad"] or 0), tenants


def _write_full(
    checked: DataFrame, entity: Entity, silver_path: str, started: datetime
) -> tuple[int, int, int]:
    """Full refresh in one Spark job: rows in, rows breaking a hard rule and rows written.

    The counts are observed while the rows stream through the write (``Observation``) instead
    of persisting the checked rows and counting them in a job of their own, which cost a
    serialised copy of the table and a second pass. A failed read fails the write; the caller
    then finds the damaged files and runs this again.
    """
    seen = Observation(f"{entity.name}_checked_{uuid.uuid4().hex[:8]}")
    written = Observation(f"{entity.name}_written_{uuid.uuid4().hex[:8]}")
    observed = checked.observe(seen, F.count(F.lit(1)).alias("n"), F.sum(_bad_flag()).alias("bad"))
    final = apply_changes(to_change_rows(good_rows(observed), entity, started), None, entity)
    _write(final.observe(written, F.count(F.lit(1)).alias("n")), silver_path, "static")
    totals, out = seen.get, written.get
    return int(totals["n"]), int(totals["bad"] or 0), int(out["n"])


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
    folder = table_path(args.bronze_path, entity, contract)
    silver_path = f"{args.silver_path}/{entity.name}"
    quarantine_path = f"{args.quarantine_path}/{entity.name}"
    damaged_list = f"{quarantine_path}/{DAMAGED_LIST}"

    if args.full_refresh:
        # The bookmarked source is still created, so the bookmark moves past every file, but
        # never evaluated: a full refresh lists the folder itself and needs no second read.
        discover_new_files(
            glue_context,
            folder,
            bookmark_context(entity),
            suffix=contract.file_suffix,
            damaged_list=damaged_list,
            evaluate=False,
        )
        files = sorted(normalize_uri(f.uri) for f in fs.list_files(spark, folder))
        set_aside: list[InspectedFile] = []
    else:
        files, set_aside = discover_new_files(
            glue_context,
            folder,
            bookmark_context(entity),
            suffix=contract.file_suffix,
            damaged_list=damaged_list,
        )

    counts = {rule: 0 for rule in HARD_RULES}
    rows_out = 0
    affected: list[str] = []
    deleted_partitions: list[str] = []
    cached: list[DataFrame] = []
    try:
        if args.full_refresh:
            batch, checked, full = _read_checked(
                spark,
                files,
                entity,
                contract,
                clean,
                lambda df: _write_full(df, entity, silver_path, started),
                spread=True,
            )
            rows_in, rows_quarantined, rows_out = full or (0, 0, 0)
            if checked is None:
                fs.delete(spark, silver_path)
            else:
                affected = _partition_tenants(spark, silver_path)
        else:
            batch, checked, inc = _read_checked(
                spark, files, entity, contract, clean, lambda df: _count_checked(df, entity)
            )
            kept, rows_in, rows_quarantined, affected = inc or (None, 0, 0, [])
            if kept is not None:
                cached.append(kept)
                checked = kept
        changes_valid = rows_in - rows_quarantined
        batch.bad_files.extend(set_aside)

        for f in batch.bad_files:
            counts[f.error_rule or "unreadable_file"] += 1
        if batch.bad_files:
            bad_file_rows = [(f.uri, f.error_rule or "", f.error or "") for f in batch.bad_files]
            file_quarantine_rows(spark, bad_file_rows, entity, contract, started).write.mode(
                "append"
            ).parquet(quarantine_path)

        if checked is not None and rows_quarantined:
            # Rare: the bad rows are kept once (they are few) for their counts and their write.
            bad = bad_rows(checked).persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(bad)
            counts.update(rule_counts(bad))
            quarantine_rows(bad, entity, contract, started).write.mode("append").parquet(
                quarantine_path
            )
        if checked is not None and not args.full_refresh:
            changes = to_change_rows(good_rows(checked), entity, started)
            written: list[str] = []
            if affected:
                existing = _existing_silver(spark, silver_path, entity, affected)
                # Dynamic overwrite may read the partitions it replaces: the new files are
                # staged and swapped in only when every task has succeeded. What was written
                # is observed on the way, so no extra job counts it.
                merged = apply_changes(changes, existing, entity)
                rows_out, written = _write_observed(merged, entity, silver_path)
            # Dynamic overwrite only replaces partitions that still have rows.
            for tenant in affected:
                if tenant not in written and fs.delete(
                    spark, f"{silver_path}/{TENANT_ID}={tenant}"
                ):
                    deleted_partitions.append(tenant)
    finally:
        for df in cached:
            df.unpersist()

    files_quarantined = len(batch.bad_files)
    report: dict[str, Any] = {
        "entity": entity.name,
        "job_name": args.job_name,
        "run_id": run_id,
        "started_at": started.isoformat(),
        "seconds": round(time.perf_counter() - t0, 3),
        "full_refresh": args.full_refresh,
        "files": {
            "processed": len(files) + len(set_aside),
            "read": len(batch.files_read),
            "quarantined": files_quarantined,
        },
        "rows_in": rows_in,
        "rows_quarantined": rows_quarantined,
        "changes_applied": changes_valid,
        "rows_out": rows_out,
        "tenants_rewritten": len(affected),
        "tenant_partitions_removed": deleted_partitions,
        "rules": {
            rule: {
                "severity": "hard",
                "scope": "file" if rule in FILE_RULES else "row",
                "violations": counts[rule],
            }
            for rule in HARD_RULES
        },
        "quarantined_files": [
            {"file": f.uri, "rule": f.error_rule, "reason": f.error} for f in batch.bad_files
        ],
        "schema_drift": {
            "extra_columns": batch.extra_columns,
            "missing_optional_columns": batch.missing_optional_columns,
        },
        "status": "quarantined" if (rows_quarantined or files_quarantined) else "ok",
    }
    write_run_report(spark, args.reports_path, report)
    return report
