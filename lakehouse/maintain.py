"""``lakehouse maintain``: keep the lake's Iceberg tables small and fast, answers unchanged.

Every silver, history and gold table is compacted (the small files of a partition rewritten
into one, sorted by tenant then key as the jobs write them), its snapshots older than the
retention are expired (the last ``retain_last`` always kept), and files no snapshot references
and older than the orphan margin are removed; so are the local engine's kept plans of snapshots
no longer current (:func:`lakehouse.athena.iceberg_plan.prune`) and its statements prepared
against another catalog (:func:`lakehouse.athena.prepared.prune`). The retention and the margin
come from settings (``LAKEHOUSE_SNAPSHOT_RETENTION_DAYS``, ``LAKEHOUSE_SNAPSHOT_RETAIN_LAST``) or
the command's options. On AWS the Data Catalog's table optimizers do the same
(``terraform-infra``). A compaction is a commit like any other: the next pipeline run rebuilds
the marts that read a compacted silver table (same answers, new snapshot).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lakehouse_glue import iceberg as ice
from lakehouse_glue.maintenance import Maintained, maintain
from lakehouse_glue.maintenance import lake_tables as tables_of
from pyspark.sql import SparkSession

from lakehouse.athena import iceberg_plan, prepared
from lakehouse.catalog.store import load_catalog
from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.storage.lock import writer_lock

#: Files younger than this are never orphans: a writer in another process may not have
#: committed them yet (Iceberg's own default for remove_orphan_files is 3 days).
DEFAULT_ORPHAN_MARGIN = timedelta(days=3)


def lake_tables(spark: SparkSession, settings: Settings) -> list[ice.Table]:
    """Every Iceberg table of the lake that exists: silver, history, gold."""
    catalog = register_lake_catalog(spark, settings)
    return tables_of(spark, catalog, settings.silver_uri, settings.gold_uri)


def maintain_lake(
    settings: Settings,
    spark: SparkSession,
    *,
    retention: timedelta | None = None,
    retain_last: int | None = None,
    orphan_margin: timedelta = DEFAULT_ORPHAN_MARGIN,
    on_table: Callable[[Maintained], None] | None = None,
) -> list[Maintained]:
    """Maintain every table of the lake; returns what was done to each."""
    from lakehouse.pipeline.run import check_layout

    check_layout(settings)
    # Nested in the CLI's own lock (a level more); taken here for every other caller.
    with writer_lock(settings, "maintain"):
        done = _maintain_tables(settings, spark, retention, retain_last, orphan_margin, on_table)
        if not settings.lake_uri.startswith("s3://"):
            # The local engine's plans of snapshots that are no longer current (compaction and
            # expiry commit new ones) and its statements prepared against another catalog: no
            # query can use them again.
            root = Path(settings.lake_uri).resolve()
            iceberg_plan.prune(root)
            fingerprint = load_catalog(settings.catalog_uri).fingerprint
            if fingerprint is not None:
                prepared.prune(root, fingerprint)
        return done


def _maintain_tables(
    settings: Settings,
    spark: SparkSession,
    retention: timedelta | None,
    retain_last: int | None,
    orphan_margin: timedelta,
    on_table: Callable[[Maintained], None] | None,
) -> list[Maintained]:
    now = datetime.now(UTC).replace(tzinfo=None)
    keep = retention if retention is not None else timedelta(days=settings.snapshot_retention_days)
    done: list[Maintained] = []
    for table in lake_tables(spark, settings):
        result = maintain(
            spark,
            table,
            expire_before=now - keep,
            retain_last=retain_last if retain_last is not None else settings.snapshot_retain_last,
            orphans_before=now - orphan_margin,
        )
        done.append(result)
        if on_table:
            on_table(result)
    return done
