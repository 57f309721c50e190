"""``pipeline watch``: one micro-batch replicates the source and processes it to silver; the
compaction step waits for a pause between batches with no change waiting, and gold stays up to
date across it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from lakehouse_glue.gold.marts import load_marts
from pyspark.sql import DataFrame, SparkSession

from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.pipeline.compact import bucket_file_counts, buckets_to_compact
from lakehouse.pipeline.run import PipelineResult
from lakehouse.pipeline.watch import Batch, watch
from lakehouse.source.seed import seed
from tests.support import tables
from tests.support.lake import (
    drop_slot,
    entities,
    lake_settings,
    silver_frame,
    source_frame,
)
from tests.support.marts import assert_same_rows
from tests.support.oracle import postgres_answer
from tests.support.spark import assert_frames_equal

pytestmark = pytest.mark.slow


def test_one_micro_batch_brings_silver_to_the_source(
    spark: SparkSession, make_source_db: Callable[[], str], tmp_path: Path
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=3, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    seen: list[Batch] = []
    try:
        batches = watch(settings, interval=0, spark=spark, max_batches=1, on_batch=seen.append)
    finally:
        drop_slot(dsn, settings.slot_name)
    assert [b.number for b in batches] == [1]
    assert seen == batches
    assert not batches[0].result.failed
    for entity in entities():
        assert_frames_equal(
            silver_frame(spark, settings, entity),
            source_frame(spark, dsn, entity),
        )


CAP = 4
CHANGED = ("customers", "products")


def _change_every_tenant(dsn: str, round_no: int) -> None:
    """One customer and one product of every tenant: every run touches every bucket."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "update customers c set notes = coalesce(notes, '') || %s, updated_at = now() "
            "where c.id in (select distinct on (tenant_id) id from customers "
            "order by tenant_id, id)",
            [str(round_no)],
        )
        conn.execute(
            "update products p set price = price + 1, updated_at = now() "
            "where p.id in (select distinct on (tenant_id) id from products "
            "order by tenant_id, id)"
        )


def _gold_built(result: PipelineResult) -> set[str]:
    return {r.job_name for r in result.runs if r.job_name.startswith("create_gold_")}


@pytest.mark.timeout(2400)
def test_watch_compacts_between_batches_when_no_change_waits(
    spark: SparkSession, make_source_db: Callable[[], str], tmp_path: Path
) -> None:
    """A batch leaves the compaction for the pause after it; a change waiting puts it off."""
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=3, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    settings.compact_bucket_files = CAP
    names = [n for e in CHANGED for n in (e, f"{e}_history")]
    silver = Path(settings.silver_uri)
    picked_after: dict[int, dict[str, list[int]]] = {}

    def on_batch(batch: Batch) -> None:
        # What the rule would compact now, then (batches 1-3) a change that will be waiting
        # when the batch asks whether to compact.
        picked_after[batch.number] = {
            n: buckets_to_compact(*bucket_file_counts(silver / n), CAP) for n in names
        }
        if batch.number <= 3:
            _change_every_tenant(dsn, batch.number)

    try:
        batches = watch(settings, interval=0, spark=spark, max_batches=4, on_batch=on_batch)
        (idle,) = watch(settings, interval=0, spark=spark, max_batches=1)
    finally:
        drop_slot(dsn, settings.slot_name)
    assert [b.number for b in batches] == [1, 2, 3, 4]
    for batch in [*batches, idle]:
        assert not batch.result.failed, [r.report for r in batch.result.failed]
        # A batch compacts nothing itself: 7 files a bucket at most, below twice the cap.
        assert batch.result.compacted == [], (batch.number, batch.result.compacted)
    # Each run touched every bucket: 1, 3, 5, 7 files. After batch 3 the rule had buckets to
    # compact, but a change was waiting, so the batch went on to the next one.
    assert all(picked_after[2][n] == [] for n in names), picked_after[2]
    assert all(picked_after[3][n] for n in names), picked_after[3]
    assert [b.compacted for b in batches[:3]] == [[], [], []]
    # After batch 4 nothing waited: every table the batches wrote was compacted by the rule
    # (the buckets it picks from the snapshot before), to the same rows.
    last = batches[3]
    assert sorted(c.table for c in last.compacted) == sorted(f"silver.{n}" for n in names)
    catalog = register_lake_catalog(spark, settings)
    for done in last.compacted:
        name = done.table.removeprefix("silver.")
        assert list(done.buckets) == picked_after[4][name], done
        before = bucket_file_counts(silver / name, done.snapshot_before)
        assert list(done.buckets) == buckets_to_compact(*before, CAP), done
        counts, _ = bucket_file_counts(silver / name)
        assert max(counts.values()) < CAP, (name, counts)

        def at(snapshot: int | None, table: str = done.table) -> DataFrame:
            return spark.sql(f"select * from `{catalog}`.{table} version as of {snapshot}")

        old, new = at(done.snapshot_before), at(done.snapshot_after)
        assert old.exceptAll(new).isEmpty(), done
        assert new.exceptAll(old).isEmpty(), done
    # The next batch had nothing new: no mart was rebuilt (the gold state followed the
    # compaction), and there was nothing left to compact.
    assert _gold_built(idle.result) == set(), _gold_built(idle.result)
    assert idle.compacted == []
    for entity in entities():
        assert_frames_equal(silver_frame(spark, settings, entity), source_frame(spark, dsn, entity))
    for m in load_marts():
        gold = tables.read(spark, tables.gold_table(spark, settings, m.name))
        assert_same_rows(gold, postgres_answer(dsn, m.name), m.name)
