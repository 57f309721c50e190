"""Compact a local run's fragmented buckets before they slow every later reader and run.

Silver's and history's ``MERGE`` writes merge-on-read (``lakehouse_glue.iceberg``): each
incremental run adds a data file and a position delete file to every ``bucket(N, tenant_id)``
partition it touches, so a tenant's query plans more files with every run, and so does the
next ``MERGE``, until ``lakehouse maintain`` compacts them. On AWS the Glue Data Catalog's
table optimizer compacts on its own (``terraform-infra``); locally nothing does between two
``maintain`` runs, so the pipeline does it at the end of a run, under the writer lock the run
holds, for the tables that run wrote.

The decision costs no Spark work: the files of each written table's current snapshot are
counted per bucket from its manifests (pyiceberg). Only a table with a bucket of at least
``LAKEHOUSE_COMPACT_BUCKET_FILES`` (K, data and delete files together) is compacted, and only
its buckets of K files or more (:func:`lakehouse_glue.maintenance.compact_buckets`: one
rewrite, one commit per table, rows and sort order unchanged). K = 0 turns the step off.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lakehouse_glue import iceberg as ice
from lakehouse_glue.maintenance import compact_buckets
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

from lakehouse.catalog import iceberg
from lakehouse.config import Settings


@dataclass(frozen=True)
class Compacted:
    """What the step did to one table."""

    table: str
    entity: str
    history: bool
    buckets: tuple[int, ...]
    files_rewritten: int
    files_added: int
    #: The table's snapshot before and after the compaction (the rows of both are the same).
    snapshot_before: int | None
    snapshot_after: int | None


def bucket_file_counts(folder: Path) -> Counter[int]:
    """Live files (data and deletes) of the table's current snapshot per tenant bucket."""
    table = iceberg.load_table(folder)
    counts: Counter[int] = Counter()
    for live in iceberg.live_files(table, table.current_snapshot()):
        bucket = live.partition.get(ice.PARTITION_FIELD)
        if bucket is not None:
            counts[int(bucket)] += 1
    return counts


def fragmented_buckets(folder: Path, threshold: int) -> list[int]:
    """The buckets of the table at ``folder`` with ``threshold`` files or more (none: off)."""
    if threshold <= 0 or not iceberg.is_iceberg_table(folder):
        return []
    return sorted(b for b, n in bucket_file_counts(folder).items() if n >= threshold)


def _snapshot_id(folder: Path) -> int | None:
    snapshot = iceberg.load_table(folder).current_snapshot()
    return None if snapshot is None else snapshot.snapshot_id


def compact_written(
    settings: Settings, spark: SparkSession, catalog: str, entities: list[str]
) -> list[Compacted]:
    """Compact the fragmented buckets of the silver and history tables of ``entities``.

    A local lake only (on S3 the table optimizer compacts); nothing when the setting is 0.
    """
    threshold = settings.compact_bucket_files
    if threshold <= 0 or settings.lake_uri.startswith("s3://"):
        return []
    keys = {e.name: e.primary_key for e in load_declaration().entities}
    done: list[Compacted] = []
    for entity in entities:
        key = keys.get(entity)
        for history, table in (
            (False, ice.silver_table(catalog, settings.silver_uri, entity, key)),
            (True, ice.history_table(catalog, settings.silver_uri, entity, key)),
        ):
            folder = Path(table.location)
            buckets = fragmented_buckets(folder, threshold)
            if not buckets:
                continue
            before = _snapshot_id(folder)
            rewritten, added = compact_buckets(spark, table, buckets)
            done.append(
                Compacted(
                    table=f"{table.namespace}.{table.name}",
                    entity=entity,
                    history=history,
                    buckets=tuple(buckets),
                    files_rewritten=rewritten,
                    files_added=added,
                    snapshot_before=before,
                    snapshot_after=_snapshot_id(folder),
                )
            )
    return done
