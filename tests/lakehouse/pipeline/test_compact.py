"""A local run compacts the fragmented buckets of the silver and history tables it wrote.

The rule (:func:`buckets_to_compact`) alone, over hostile shapes; then the real pipeline:

* many tenants, the default settings: each run's ``MERGE`` (merge-on-read) adds a data and a
  delete file to the buckets it touches, and the run compacts exactly the buckets the rule
  picks from the snapshot before the compaction, so that no bucket of a changed table holds
  more than 2 % of its files after a run; a following run with no new bronze rebuilds no gold
  mart (the compaction moved the gold state to the compacted snapshot) and every mart still
  equals PostgreSQL's answer;
* 8 tenants, the cap at 4 (every run touches every tenant from the second on, so the share
  rule never fires): the buckets reaching the cap are compacted, the others keep their files.

Every compaction leaves its table's rows as they were (the snapshot before against the one
after), and silver still equals PostgreSQL row for row.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from lakehouse_glue.gold.marts import load_marts
from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.pipeline.compact import (
    BATCH_SLACK,
    TARGET_SHARE,
    Compacted,
    bucket_file_counts,
    buckets_to_compact,
)
from lakehouse.pipeline.run import EXIT_OK, PipelineResult, run_pipeline
from lakehouse.source.seed import seed
from tests.support import tables
from tests.support.lake import (
    drop_slot,
    entities,
    lake_settings,
    replicate_once,
    silver_frame,
    source_frame,
)
from tests.support.marts import assert_same_rows
from tests.support.oracle import postgres_answer
from tests.support.spark import assert_frames_equal

CAP = 16
BUCKETS = 64


def _compacted(counts: dict[int, int], picked: list[int]) -> dict[int, int]:
    """The layout after compacting ``picked`` (each to one file)."""
    return {b: (1 if b in picked else n) for b, n in counts.items()}


# The rule alone.


def test_nothing_to_compact_in_an_empty_or_unbucketed_table() -> None:
    assert buckets_to_compact({}, 0, CAP) == []
    # An unpartitioned table, or an older identity-partitioned one: no file has a bucket.
    assert buckets_to_compact({}, 500, CAP) == []
    assert buckets_to_compact({3: 0, 7: 0}, 0, CAP) == []


def test_cap_zero_turns_the_step_off() -> None:
    assert buckets_to_compact({0: 100, 1: 1}, 101, 0) == []
    assert buckets_to_compact(dict.fromkeys(range(BUCKETS), 3) | {0: 40}, 229, -1) == []


def test_one_bucket_compacts_at_the_cap_only() -> None:
    # Its share is 100 % whatever it holds: only the cap can fire.
    assert buckets_to_compact({5: 1}, 1, CAP) == []
    assert buckets_to_compact({5: CAP - 1}, CAP - 1, CAP) == []
    assert buckets_to_compact({5: CAP}, CAP, CAP) == [5]


def test_many_tenants_the_buckets_a_run_touched_are_compacted() -> None:
    # 10,000 tenants: 64 buckets of one file; a run touching 10 of them adds 2 files to each.
    counts = dict.fromkeys(range(BUCKETS), 1)
    touched = [2, 9, 17, 20, 33, 40, 41, 50, 58, 63]
    for b in touched:
        counts[b] += 2
    total = sum(counts.values())
    assert 3 / total > TARGET_SHARE  # 3 of 84 files: 3.6 %
    assert buckets_to_compact(counts, total, CAP) == touched


def test_many_tenants_a_run_touching_every_bucket_alike_compacts_nothing() -> None:
    # Each bucket still holds 1/64 of the files, the compacted layout's own share.
    for files in (3, 5, CAP - 1):
        counts = dict.fromkeys(range(BUCKETS), files)
        assert buckets_to_compact(counts, files * BUCKETS, CAP) == [], files
    counts = dict.fromkeys(range(BUCKETS), CAP)
    assert buckets_to_compact(counts, CAP * BUCKETS, CAP) == list(range(BUCKETS))


def test_few_tenants_compact_at_the_cap_only() -> None:
    # 8 tenants fill at most 8 buckets: 2 % is out of reach (the compacted share is 12.5 %),
    # so neither equal buckets nor a bucket touched alone are compacted below the cap.
    for files in (3, 9, CAP - 1):
        assert buckets_to_compact(dict.fromkeys(range(8), files), 8 * files, CAP) == []
    uneven = {0: CAP - 1, 1: 1, 2: 1, 3: 3, 4: 1}
    assert buckets_to_compact(uneven, sum(uneven.values()), CAP) == []
    uneven[0] = CAP
    assert buckets_to_compact(uneven, sum(uneven.values()), CAP) == [0]
    # The share rule starts where the compacted layout meets the target: 50 buckets.
    for occupied, expected in ((49, []), (50, [0])):
        counts = dict.fromkeys(range(occupied), 1) | {0: 3}
        assert buckets_to_compact(counts, occupied + 2, CAP) == expected, occupied


def test_files_outside_the_buckets_count_in_the_share() -> None:
    # An older spec's files (no bucket) make the table larger: the bucket's share smaller.
    counts = dict.fromkeys(range(BUCKETS), 1) | {4: 3}
    assert buckets_to_compact(counts, 66, CAP) == [4]
    assert buckets_to_compact(counts, 66 + 100, CAP) == []
    # A total below the buckets' own files is not believed.
    assert buckets_to_compact(counts, 0, CAP) == [4]


def test_a_bucket_of_one_file_is_never_picked() -> None:
    # Rewriting one clean file gives the same file: never worth a rewrite, whatever its share.
    counts = dict.fromkeys(range(BUCKETS), 1)
    assert buckets_to_compact(counts, BUCKETS, 1) == []
    assert buckets_to_compact(counts, 10, CAP) == []


def test_compacting_one_bucket_can_push_another_over_the_target() -> None:
    # Bucket 0 reaches the cap; bucket 1's 2 files are 1.9 % of 104 but 3.1 % of the 65 left.
    counts = dict.fromkeys(range(BUCKETS), 1) | {0: 40, 1: 2}
    total = sum(counts.values())
    assert 2 / total <= TARGET_SHARE
    assert buckets_to_compact(counts, total, CAP) == [0, 1]


def test_a_watch_batch_compacts_only_twice_over_the_rule() -> None:
    # pipeline watch leaves the rule to the pause between batches; a batch itself compacts
    # only at twice the cap or twice the share (a source that never pauses).
    cap, share = CAP * BATCH_SLACK, TARGET_SHARE * BATCH_SLACK
    few = dict.fromkeys(range(8), CAP)
    assert buckets_to_compact(few, 8 * CAP, CAP) == list(range(8))
    assert buckets_to_compact(few, 8 * CAP, cap, share) == []
    few[3] = 2 * CAP
    assert buckets_to_compact(few, 9 * CAP, cap, share) == [3]
    # 10,000 tenants, 10 buckets touched: 3 files of 84 (3.6 %) is over 2 %, not over 4 %;
    # 5 of 86 (5.8 %) is.
    touched = list(range(0, 60, 6))
    many = dict.fromkeys(range(BUCKETS), 1) | dict.fromkeys(touched, 3)
    assert buckets_to_compact(many, 84, CAP) == touched
    assert buckets_to_compact(many, 84, cap, share) == []
    many[6] = 5
    assert buckets_to_compact(many, 86, cap, share) == [6]


@pytest.mark.parametrize("seed_no", range(40))
def test_after_the_compaction_the_rule_picks_nothing(seed_no: int) -> None:
    rng = random.Random(seed_no)
    occupied = rng.choice([1, 2, 8, 30, 49, 50, 51, 64])
    counts = {
        b: rng.choice([1, 1, 1, 2, 3, 5, 9, 15, 16, 17, 30])
        for b in rng.sample(range(BUCKETS), occupied)
    }
    cap = rng.choice([0, 2, 4, CAP])
    picked = buckets_to_compact(counts, sum(counts.values()), cap)
    assert picked == sorted(set(picked))
    assert all(counts[b] >= 2 for b in picked), (counts, picked)
    after = _compacted(counts, picked)
    assert buckets_to_compact(after, sum(after.values()), cap) == []
    if cap > 0:
        assert max(after.values()) < max(cap, 2)
        if occupied * TARGET_SHARE >= 1:
            assert max(after.values()) <= max(1.0, TARGET_SHARE * sum(after.values()))


# The pipeline.


def _counts(settings: Settings, names: list[str]) -> dict[str, tuple[Counter[int], int]]:
    silver = Path(settings.silver_uri)
    return {n: bucket_file_counts(silver / n) for n in names}


def _check_compactions(
    spark: SparkSession, catalog: str, settings: Settings, result: PipelineResult, cap: int
) -> None:
    """Each compaction rewrote the buckets the rule picked from the snapshot before it, to the
    same rows; a table left alone had nothing to pick."""
    silver = Path(settings.silver_uri)
    for done in result.compacted:
        name = done.table.removeprefix("silver.")
        counts, total = bucket_file_counts(silver / name, done.snapshot_before)
        assert list(done.buckets) == buckets_to_compact(counts, total, cap), done
        assert done.files_rewritten >= 2, done
        assert done.files_added >= 1, done

        def at(snapshot: int | None, table: str = done.table) -> DataFrame:
            return spark.sql(f"select * from `{catalog}`.{table} version as of {snapshot}")

        old, new = at(done.snapshot_before), at(done.snapshot_after)
        assert old.exceptAll(new).isEmpty(), done
        assert new.exceptAll(old).isEmpty(), done


def _silver_equals_postgres(spark: SparkSession, settings: Settings, dsn: str) -> None:
    for entity in entities():
        assert_frames_equal(silver_frame(spark, settings, entity), source_frame(spark, dsn, entity))


MANY_CHANGED = ("customers", "products")


def _change_tenants(dsn: str, round_no: int) -> list[str]:
    """One customer and one product of each of 3 tenants (others each round)."""
    with psycopg.connect(dsn) as conn:
        tenants = [
            r[0]
            for r in conn.execute(
                "select tenant_id from customers group by 1 order by count(*) desc, 1 "
                "offset %s limit 3",
                [3 * round_no],
            )
        ]
        conn.execute(
            "update customers c set notes = coalesce(notes, '') || %s, updated_at = now() "
            "where c.id in (select distinct on (tenant_id) id from customers "
            "where tenant_id = any(%s) order by tenant_id, id)",
            [str(round_no), tenants],
        )
        conn.execute(
            "update products p set price = price + 1, updated_at = now() "
            "where p.id in (select distinct on (tenant_id) id from products "
            "where tenant_id = any(%s) order by tenant_id, id)",
            [tenants],
        )
    return [str(t) for t in tenants]


def _gold_built(result: PipelineResult) -> set[str]:
    return {r.job_name for r in result.runs if r.job_name.startswith("create_gold_")}


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_many_tenants_runs_keep_every_bucket_under_the_target_and_gold_up_to_date(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    dsn = make_source_db()
    # Every tenant has products: 300 tenants occupy (nearly) all 64 buckets of products.
    seed(dsn, scale=0.02, seed=5, reset=False, tenants=300)
    settings = lake_settings(tmp_path / "lake", dsn)
    cap = settings.compact_bucket_files
    assert cap == CAP  # the default
    names = [n for e in MANY_CHANGED for n in (e, f"{e}_history")]
    kinds = ("silver", "gold")
    catalog = register_lake_catalog(spark, settings)
    compacted: list[Compacted] = []
    try:
        replicate_once(settings)
        first = run_pipeline(settings, spark=spark, kinds=kinds)
        assert first.exit_code == EXIT_OK, [r.report for r in first.runs]
        products, _ = _counts(settings, ["products"])["products"]
        assert len(products) * TARGET_SHARE >= 1, products  # the target is in reach
        for round_no in range(2):
            _change_tenants(dsn, round_no)
            replicate_once(settings)
            result = run_pipeline(settings, spark=spark, kinds=kinds)
            assert result.exit_code == EXIT_OK, [r.report for r in result.runs]
            assert "create_gold_product_performance" in _gold_built(result)
            _check_compactions(spark, catalog, settings, result, cap)
            compacted += result.compacted
            assert {c.table for c in result.compacted} >= {"silver.products"}, result.compacted
            for name, (counts, total) in _counts(settings, names).items():
                assert buckets_to_compact(counts, total, cap) == [], (round_no, name, counts)
                if len(counts) * TARGET_SHARE >= 1:
                    assert max(counts.values()) <= max(1, TARGET_SHARE * total), (name, counts)
            # Nothing new: silver is up to date, and so is every mart, though the
            # compaction gave silver new snapshots.
            idle = run_pipeline(settings, spark=spark, kinds=kinds)
            assert idle.exit_code == EXIT_OK, [r.report for r in idle.runs]
            assert _gold_built(idle) == set(), _gold_built(idle)
            assert not idle.compacted, idle.compacted
        for m in load_marts():
            gold = tables.read(spark, tables.gold_table(spark, settings, m.name))
            assert_same_rows(gold, postgres_answer(dsn, m.name), m.name)
    finally:
        drop_slot(dsn, settings.slot_name)
    assert {c.table for c in compacted} >= {f"silver.{n}" for n in ("products", "products_history")}
    _silver_equals_postgres(spark, settings, dsn)


FEW_CAP = 4
ROUNDS = 3
FEW_CHANGED = ("customers", "products")


def _change_every_tenant(dsn: str, round_no: int) -> None:
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


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_few_tenants_runs_keep_buckets_under_the_cap_rows_unchanged(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.02, seed=5, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    settings.compact_bucket_files = FEW_CAP
    names = [n for e in FEW_CHANGED for n in (e, f"{e}_history")]
    catalog = register_lake_catalog(spark, settings)
    compacted: list[Compacted] = []
    try:
        replicate_once(settings)
        assert run_pipeline(settings, spark=spark, kinds=("silver",)).exit_code == EXIT_OK
        before = {n: c for n, (c, _) in _counts(settings, names).items()}
        for round_no in range(ROUNDS):
            _change_every_tenant(dsn, round_no)
            replicate_once(settings)
            result = run_pipeline(settings, spark=spark, kinds=("silver",))
            assert result.exit_code == EXIT_OK, [r.report for r in result.runs]
            _check_compactions(spark, catalog, settings, result, FEW_CAP)
            compacted += result.compacted
            after = {n: c for n, (c, _) in _counts(settings, names).items()}
            for name, counts in after.items():
                assert len(counts) * TARGET_SHARE < 1, counts  # few tenants: the cap alone
                assert max(counts.values()) < FEW_CAP, (round_no, name, counts)
                rewrote = [c for c in result.compacted if c.table == f"silver.{name}"]
                # Exactly the buckets that reached the cap were rewritten, to one file; a
                # bucket below it kept its files.
                reached = sorted(b for b, n in before[name].items() if n + 2 >= FEW_CAP)
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
    # Each changed entity's silver and history table was compacted at least once.
    assert {c.table for c in compacted} >= {f"silver.{n}" for n in names}, compacted
    _silver_equals_postgres(spark, settings, dsn)
