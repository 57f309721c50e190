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

import time
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue import fs
from lakehouse_glue.bronze import (
    inspect_files,
    normalize_uri,
    read_files,
    table_path,
)
from lakehouse_glue.changes import TENANT_ID, apply_changes, silver_ddl, to_change_rows
from lakehouse_glue.jobargs import JobArgs
from lakehouse_glue.model import BronzeContract, Entity, load_bronze_contract, load_declaration
from lakehouse_glue.quality import (
    FILE_RULES,
    HARD_RULES,
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


class GlueContextLike(Protocol):
    """What this module needs of ``awsglue.context.GlueContext`` (real or local)."""

    @property
    def spark_session(self) -> SparkSession: ...

    @property
    def create_dynamic_frame(self) -> Any: ...


def bookmark_context(entity: Entity) -> str:
    """The ``transformation_ctx`` of an entity's bronze source (its bookmark key)."""
    return f"{entity.name}_bronze_source"


def discover_new_files(glue_context: GlueContextLike, folder: str, ctx: str) -> list[str]:
    """Bronze files the job bookmark has not processed yet (normalised URIs, sorted).

    The read is a bookmarked DynamicFrame over the table folder; its rows only serve to name
    the files (``attachFilename``), because the rows themselves are re-read with Spark's CSV
    reader, which keeps NULL and '' apart. Without a header every readable file has at least
    one row (its header line), so no file can hide from the listing.
    """
    spark = glue_context.spark_session
    if not fs.exists(spark, folder):
        return []
    dyf = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [folder.rstrip("/") + "/"], "recurse": True},
        format="csv",
        format_options={
            "withHeader": False,
            "separator": ",",
            "quoteChar": '"',
            # Line mode: only the file names are needed, and a truncated file still yields the
            # lines before the damage instead of failing the multi-line parser.
            "multiLine": False,
            "attachFilename": FILE_NAME_COLUMN,
        },
        transformation_ctx=ctx,
    )
    df = dyf.toDF()
    if FILE_NAME_COLUMN not in df.columns:
        return []
    return sorted(
        {normalize_uri(str(r[0])) for r in df.select(FILE_NAME_COLUMN).distinct().collect()}
    )


def _existing_silver(
    spark: SparkSession, path: str, entity: Entity, tenants: list[str]
) -> DataFrame | None:
    if not tenants or not fs.exists(spark, path):
        return None
    return spark.read.schema(silver_ddl(entity)).parquet(path).where(F.col(TENANT_ID).isin(tenants))


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

    new_files = discover_new_files(glue_context, folder, bookmark_context(entity))
    if args.full_refresh:
        listed = [normalize_uri(f.uri) for f in fs.list_files(spark, folder)]
        files = sorted(set(listed) | set(new_files))
    else:
        files = new_files

    inspected = inspect_files(spark, files, contract.file_suffix)
    batch = read_files(spark, inspected, entity, contract)
    counts = {rule: 0 for rule in HARD_RULES}
    rows_in = rows_quarantined = changes_valid = rows_out = 0
    affected: list[str] = []
    deleted_partitions: list[str] = []

    bad_file_rows = [(f.uri, f.error_rule or "", f.error or "") for f in batch.bad_files]
    for f in batch.bad_files:
        counts[f.error_rule or "unreadable_file"] += 1
    if bad_file_rows:
        file_quarantine_rows(spark, bad_file_rows, entity, contract, started).write.mode(
            "append"
        ).parquet(quarantine_path)

    cached: list[DataFrame] = []
    try:
        if batch.rows is not None:
            checked = type_and_check(batch.rows, entity, contract, clean).persist(
                StorageLevel.MEMORY_AND_DISK
            )
            cached.append(checked)
            totals = checked.agg(
                F.count(F.lit(1)).alias("n"),
                F.sum(F.when(F.size("_violations") > 0, 1).otherwise(0)).alias("bad"),
            ).first()
            assert totals is not None
            rows_in = int(totals["n"])
            rows_quarantined = int(totals["bad"] or 0)
            changes_valid = rows_in - rows_quarantined
            if rows_quarantined:
                counts.update(rule_counts(checked))
                quarantine_rows(bad_rows(checked), entity, contract, started).write.mode(
                    "append"
                ).parquet(quarantine_path)
            changes = to_change_rows(good_rows(checked), entity, started)
            affected = sorted(
                str(r[0]) for r in changes.select(TENANT_ID).distinct().collect() if r[0]
            )
            if affected or args.full_refresh:
                existing = (
                    None
                    if args.full_refresh
                    else _existing_silver(spark, silver_path, entity, affected)
                )
                merged = apply_changes(changes, existing, entity).persist(
                    StorageLevel.MEMORY_AND_DISK
                )
                cached.append(merged)
                per_tenant = {
                    str(r[0]): int(r[1]) for r in merged.groupBy(TENANT_ID).count().collect()
                }
                rows_out = sum(per_tenant.values())
                mode = "static" if args.full_refresh else "dynamic"
                if args.full_refresh and not per_tenant:
                    fs.delete(spark, silver_path)
                else:
                    (
                        merged.repartition(TENANT_ID)
                        .write.mode("overwrite")
                        .option("partitionOverwriteMode", mode)
                        .partitionBy(TENANT_ID)
                        .parquet(silver_path)
                    )
                # Dynamic overwrite only replaces partitions that still have rows.
                for tenant in affected:
                    if tenant not in per_tenant and fs.delete(
                        spark, f"{silver_path}/{TENANT_ID}={tenant}"
                    ):
                        deleted_partitions.append(tenant)
        elif args.full_refresh:
            fs.delete(spark, silver_path)
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
            "processed": len(files),
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
