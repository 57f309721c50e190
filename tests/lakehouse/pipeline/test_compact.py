"""A local run compacts the fragmented buckets of the silver and history tables it wrote.

Every incremental ``MERGE`` (merge-on-read) adds a data and a delete file to each bucket it
touches (three files after one run, five after two). With the threshold at 4: the first run
changes half the tenants, the next ones all of them, so a run finds some buckets at five files
(compacted) beside others at three (to be left alone). After every run no bucket may hold 4
files, the buckets below it must be untouched, every compaction must leave its table's rows as
they were (the snapshot before against the one after, silver and history alike), and silver
must still equal PostgreSQL row for row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.pipeline.compact import Compacted, bucket_file_counts
from lakehouse.pipeline.run import EXIT_OK, run_pipeline
from lakehouse.source.seed import seed
from tests.support.lake import (
    drop_slot,
    entities,
    lake_settings,
    replicate_once,
    silver_frame,
    source_frame,
)
from tests.support.spark import assert_frames_equal

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

THRESHOLD = 4
ROUNDS = 3
CHANGED = ("customers", "products")


def _change(dsn: str, round_no: int) -> None:
    """A few rows of every tenant of two entities (of half the tenants in the first round)."""
    tenants = "select id from tenants" + (" order by id limit 4" if round_no == 0 else "")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "update customers c set notes = coalesce(notes, '') || %s, updated_at = now() "
            f"where c.id in (select distinct on (tenant_id) id from customers "
            f"where tenant_id in ({tenants}) order by tenant_id, id)",
            [str(round_no)],
        )
        conn.execute(
            "update products p set price = price + 1, updated_at = now() "
            f"where p.id in (select distinct on (tenant_id) id from products "
            f"where tenant_id in ({tenants}) order by tenant_id, id)"
        )


def _counts(settings: Settings) -> dict[str, Counter[int]]:
    silver = Path(settings.silver_uri)
    return {n: bucket_file_counts(silver / n) for e in CHANGED for n in (e, f"{e}_history")}


def test_runs_keep_buckets_under_the_threshold_rows_unchanged(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.02, seed=5, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    settings.compact_bucket_files = THRESHOLD
    catalog = register_lake_catalog(spark, settings)
    compacted: list[Compacted] = []
    try:
        replicate_once(settings)
        assert run_pipeline(settings, spark=spark, kinds=("silver",)).exit_code == EXIT_OK
        before = _counts(settings)
        for round_no in range(ROUNDS):
            _change(dsn, round_no)
            replicate_once(settings)
            result = run_pipeline(settings, spark=spark, kinds=("silver",))
            assert result.exit_code == EXIT_OK, [r.report for r in result.runs]
            compacted += result.compacted
            after = _counts(settings)
            for name, counts in after.items():
                assert max(counts.values()) < THRESHOLD, (round_no, name, counts)
                rewrote = [c for c in result.compacted if c.table == f"silver.{name}"]
                # Exactly the buckets that reached the threshold were rewritten, to one file;
                # a bucket below it kept its files.
                reached = sorted(b for b, n in before[name].items() if n + 2 >= THRESHOLD)
                assert [list(c.buckets) for c in rewrote] == ([reached] if reached else []), name
                for bucket, n in counts.items():
                    if bucket in reached:
                        assert n == 1, (round_no, name, bucket, n)
                    elif round_no:
                        assert n == before[name][bucket] + 2, (round_no, name, bucket, n)
                    else:
                        assert n in (1, 3), (name, bucket, n)
            if round_no == 1:
                # Buckets changed for the first time stayed at three files beside compacted ones.
                assert any(n == 3 for c in after.values() for n in c.values()), after
            before = after
    finally:
        drop_slot(dsn, settings.slot_name)
    # Each changed entity's silver and history table was compacted at least once...
    assert {c.table for c in compacted} >= {
        f"silver.{n}" for e in CHANGED for n in (e, f"{e}_history")
    }, compacted
    # ...to the same rows: the snapshot before the compaction against the one after.
    for done in compacted:
        assert done.files_rewritten >= 2, done
        assert done.files_added >= 1, done

        def at(snapshot: int | None, table: str = done.table) -> DataFrame:
            return spark.sql(f"select * from `{catalog}`.{table} version as of {snapshot}")

        old, new = at(done.snapshot_before), at(done.snapshot_after)
        assert old.exceptAll(new).isEmpty(), done
        assert new.exceptAll(old).isEmpty(), done
    for entity in entities():
        expected = source_frame(spark, dsn, entity)
        assert_frames_equal(silver_frame(spark, settings, entity), expected)
