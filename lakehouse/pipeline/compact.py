"""Compact a local run's fragmented buckets before they slow every later reader and run.

Silver's and history's ``MERGE`` writes merge-on-read (``lakehouse_glue.iceberg``): each
incremental run adds a data file and a position delete file to every ``bucket(N, tenant_id)``
partition it touches, so a tenant's query plans more files with every run, and so does the
next ``MERGE``, until ``lakehouse maintain`` compacts them. On AWS the Glue Data Catalog's
table optimizer compacts on its own (``terraform-infra``); locally nothing does between two
``maintain`` runs, so the pipeline does it at the end of a run, under the writer lock the run
holds, for the tables that run wrote.

The decision costs no Spark work: the files of each written table's current snapshot are
counted per bucket from its manifests (pyiceberg), and :func:`buckets_to_compact` picks the
buckets from the goal rather than from a fixed count: a tenant's query should plan at most
:data:`TARGET_SHARE` of a table's files (issue 19), and no bucket should pile up files without
bound. Only the picked buckets are rewritten
(:func:`lakehouse_glue.maintenance.compact_buckets`: one rewrite, one commit per table, rows
and sort order unchanged). ``LAKEHOUSE_COMPACT_BUCKET_FILES`` is the cap (0 turns the step off).

A one-off ``pipeline run`` compacts at its end. ``pipeline watch`` keeps it off a batch's
critical path (:mod:`lakehouse.pipeline.watch`): its batches compact only what is
:data:`BATCH_SLACK` times over the rule (a backstop for a source that never pauses), and the
rule itself is applied between batches, when no change is waiting, a table at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
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


#: The most of a table's files one tenant's query should plan (issue 19). The compacted
#: layout gives one file per occupied bucket, so a table can only meet it with at least
#: ``1 / TARGET_SHARE`` (50) occupied buckets: many tenants, not 8.
TARGET_SHARE = 0.02

#: How far over the rule a bucket must be for a ``pipeline watch`` batch to compact it itself
#: (twice the cap, twice the share); below that, the compaction waits until the batches pause.
BATCH_SLACK = 2


def buckets_to_compact(
    counts: Mapping[int, int], total: int, cap: int, target_share: float = TARGET_SHARE
) -> list[int]:
    """The buckets to compact, given each bucket's live files (data and deletes) and the
    table's ``total`` live files (files outside any bucket, of an older spec, count there).

    A bucket of at least two files is compacted when

    * it holds more than :data:`TARGET_SHARE` of the table's files and the compacted layout
      itself meets that share (``1 / occupied buckets <= TARGET_SHARE``): at 10,000 tenants
      each bucket a run touched (3 files among 64 + 2 per touched bucket) but not a run that
      touched every bucket alike (the share stays ``1 / 64``); or
    * it holds ``cap`` files or more, whatever the tenant count: with few tenants (8 fill at
      most 8 buckets) the target is out of reach and every run touches every bucket, so the
      share never moves; the cap bounds the files a tenant's read and the next ``MERGE`` open.

    A bucket compacts to one file, which shrinks the table and raises every other bucket's
    share, so the rule is applied again to the layout it leads to until it picks nothing more:
    after the compaction no bucket is left above the rule. ``cap`` 0 or less: nothing.
    ``target_share`` replaces :data:`TARGET_SHARE` (a watch batch's backstop doubles both).
    """
    if cap <= 0:
        return []
    files = {bucket: n for bucket, n in counts.items() if n > 0}
    total = max(total, sum(files.values()))
    share_rule = len(files) * target_share >= 1
    picked: set[int] = set()
    while True:
        more = [
            bucket
            for bucket, n in files.items()
            if bucket not in picked
            and n >= 2
            and (n >= cap or (share_rule and n > target_share * total))
        ]
        if not more:
            return sorted(picked)
        for bucket in more:
            total -= files[bucket] - 1
            files[bucket] = 1
        picked.update(more)


def bucket_file_counts(folder: Path, snapshot_id: int | None = None) -> tuple[Counter[int], int]:
    """Live files (data and deletes) of the table's current snapshot (or ``snapshot_id``) per
    tenant bucket, and all its live files (with those of no bucket: an older spec's)."""
    table = iceberg.load_table(folder)
    snapshot = (
        table.current_snapshot() if snapshot_id is None else table.snapshot_by_id(snapshot_id)
    )
    counts: Counter[int] = Counter()
    total = 0
    for live in iceberg.live_files(table, snapshot):
        total += 1
        bucket = live.partition.get(ice.PARTITION_FIELD)
        if bucket is not None:
            counts[int(bucket)] += 1
    return counts, total


def fragmented_buckets(folder: Path, cap: int, slack: int = 1) -> list[int]:
    """The buckets of the table at ``folder`` to compact (:func:`buckets_to_compact`), with the
    cap and the share ``slack`` times the rule's."""
    if cap <= 0 or not iceberg.is_iceberg_table(folder):
        return []
    counts, total = bucket_file_counts(folder)
    return buckets_to_compact(counts, total, cap * slack, TARGET_SHARE * slack)


def _snapshot_id(folder: Path) -> int | None:
    snapshot = iceberg.load_table(folder).current_snapshot()
    return None if snapshot is None else snapshot.snapshot_id


def compact_written(
    settings: Settings,
    spark: SparkSession,
    catalog: str,
    entities: list[str],
    *,
    slack: int = 1,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[Compacted], bool]:
    """Compact the fragmented buckets of the silver and history tables of ``entities``.

    A local lake only (on S3 the table optimizer compacts); nothing when the setting is 0.
    ``slack``: only buckets that many times over the rule (:func:`fragmented_buckets`).
    ``should_stop`` is asked before each table that has buckets to rewrite; when it says yes,
    the step stops there. Returns what was compacted and whether every table was looked at.
    """
    cap = settings.compact_bucket_files
    if cap <= 0 or settings.lake_uri.startswith("s3://"):
        return [], True
    keys = {e.name: e.primary_key for e in load_declaration().entities}
    done: list[Compacted] = []
    for entity in entities:
        key = keys.get(entity)
        for history, table in (
            (False, ice.silver_table(catalog, settings.silver_uri, entity, key)),
            (True, ice.history_table(catalog, settings.silver_uri, entity, key)),
        ):
            folder = Path(table.location)
            buckets = fragmented_buckets(folder, cap, slack)
            if not buckets:
                continue
            if should_stop is not None and should_stop():
                return done, False
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
    return done, True
