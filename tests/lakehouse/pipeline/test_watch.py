"""``pipeline watch``: one micro-batch replicates the source and processes it to silver; the
compaction step waits for a pause between batches with no change waiting, and gold and the
quality report stay up to date across it (and across a one-off run's compaction at its end):
a run with nothing new after it ends before Spark."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from lakehouse_glue.gold.marts import load_marts
from pyspark.sql import DataFrame, SparkSession

from lakehouse.cli.main import app
from lakehouse.config import Settings, get_settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import JobRun
from lakehouse.paths import REPO_ROOT
from lakehouse.pipeline import state
from lakehouse.pipeline import watch as watch_module
from lakehouse.pipeline.compact import bucket_file_counts, buckets_to_compact
from lakehouse.pipeline.run import (
    BATCH_KINDS,
    KINDS,
    QUALITY_JOB,
    PipelineResult,
    nothing_new,
    run_pipeline,
)
from lakehouse.pipeline.watch import REPORT_EVERY, Batch, Between, watch
from lakehouse.source.seed import seed
from tests.support import tables
from tests.support.lake import (
    drop_slot,
    entities,
    lake_environment,
    lake_settings,
    replicate_once,
    silver_frame,
    source_frame,
)
from tests.support.marts import assert_same_rows
from tests.support.oracle import postgres_answer
from tests.support.spark import assert_frames_equal

pytestmark = pytest.mark.slow


def test_one_micro_batch_brings_silver_to_the_source_and_says_so(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``lakehouse pipeline watch --max-batches 1``, as a user runs it (in this process's
    Spark session): the batch brings silver to the source without the quality report, and
    the pause after it publishes the report, which the command says."""
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=3, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    for name, value in lake_environment(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        cli = CliRunner().invoke(
            app, ["pipeline", "watch", "--interval", "0", "--max-batches", "1"]
        )
    finally:
        get_settings.cache_clear()
        drop_slot(dsn, settings.slot_name)
    assert cli.exit_code == 0, cli.output
    lines = [line.strip() for line in cli.output.splitlines()]
    [batch] = [i for i, line in enumerate(lines) if line.startswith("batch 1:")]
    processed = re.search(r", (\d+) change\(s\) processed in ", lines[batch])
    assert processed, lines[batch]
    with psycopg.connect(dsn) as conn:
        rows = sum(
            conn.execute(f"select count(*) from {e.name}").fetchone()[0]  # type: ignore[index]
            for e in entities()
        )
    assert int(processed[1]) == rows  # the full load, every row once
    [reported] = [i for i, line in enumerate(lines) if "published the quality report" in line]
    assert reported > batch
    assert re.fullmatch(
        r"after batch 1: published the quality report in \d+\.\d s", lines[reported]
    ), lines[reported]
    # The batch did not run the report (it would be two runs, and none in the pause): the
    # pause did, so it is current.
    reports = Path(settings.glue_state_uri) / "runs" / QUALITY_JOB
    assert len(list(reports.glob("*.json"))) == 1
    assert state.quality_report_current(settings)
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


def _new_process_run(settings: Settings) -> subprocess.CompletedProcess[str]:
    """``lakehouse pipeline run`` in a new process, over the lake of ``settings``."""
    env = {**os.environ, **lake_environment(settings)}
    argv = [sys.executable, "-m", "lakehouse", "pipeline", "run"]
    return subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _assert_nothing_new_before_spark(settings: Settings) -> None:
    assert nothing_new(settings)
    cold = _new_process_run(settings)
    assert cold.returncode == 0, cold.stdout[-3000:] + cold.stderr[-3000:]
    assert "nothing new" in cold.stdout, cold.stdout[-3000:]


def _one_off_run_compacting_at_its_end(spark: SparkSession, settings: Settings, dsn: str) -> None:
    """A one-off run compacts at its end, after its quality report: the report follows."""
    settings.compact_bucket_files = 2  # every bucket the run writes (1 + 2 files) compacts
    _change_every_tenant(dsn, 5)
    replicate_once(settings)
    once = run_pipeline(settings, spark=spark)
    assert not once.failed, [r.report for r in once.failed]
    assert QUALITY_JOB in {r.job_name for r in once.runs}
    assert {c.table for c in once.compacted} >= {"silver.customers", "silver.products"}
    assert nothing_new(settings)


def _reported(result: PipelineResult) -> bool:
    """Whether the run published the quality report (and it succeeded)."""
    return any(r.job_name == QUALITY_JOB and r.state == "SUCCEEDED" for r in result.runs)


def _assert_report_between_batches(batches: list[Batch], settings: Settings) -> None:
    """The quality report of the batches 1-4 and the idle one of the test below (at most 3
    batches in a row without it): owed from the start (no report yet), put off by the waiting
    changes after batches 1 and 2, published by batch 3 itself (overdue: 3 batches changed
    silver without it), then after batch 4, in the pause, after the compaction: so it read the
    compacted snapshots, and the idle batch owed none."""
    assert [_reported(b.result) for b in batches] == [False, False, True, False, False]
    assert [b.report is not None for b in batches] == [False] * 3 + [True, False]
    assert batches[3].report is not None
    assert batches[3].report.state == "SUCCEEDED"
    assert state.quality_report_current(settings)


@pytest.mark.timeout(2400)
def test_watch_compacts_between_batches_when_no_change_waits(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch leaves the compaction and the quality report for the pause after it; a change
    waiting puts them off, until the report is overdue and a batch publishes it itself."""
    monkeypatch.setattr(watch_module, "REPORT_EVERY", 3)
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
        # The compaction after batch 4 moved the quality report to the compacted snapshots
        # too: a new `pipeline run` finds nothing new from files alone, before Spark.
        _assert_nothing_new_before_spark(settings)
        (idle,) = watch(settings, interval=0, spark=spark, max_batches=1)
        _one_off_run_compacting_at_its_end(spark, settings, dsn)
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
    _assert_report_between_batches([*batches, idle], settings)
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
    # The next batch had nothing new: no mart was rebuilt and no quality report made again
    # (both followed the compaction), decided before any job; nothing was left to compact.
    assert idle.result.nothing_new, [r.job_name for r in idle.result.runs]
    assert _gold_built(idle.result) == set(), _gold_built(idle.result)
    assert idle.compacted == []
    for entity in entities():
        assert_frames_equal(silver_frame(spark, settings, entity), source_frame(spark, dsn, entity))
    for m in load_marts():
        gold = tables.read(spark, tables.gold_table(spark, settings, m.name))
        assert_same_rows(gold, postgres_answer(dsn, m.name), m.name)


def _job(name: str, ok: bool = True) -> JobRun:
    return JobRun(name, "jr_1", "SUCCEEDED" if ok else "FAILED", "", 1.0, {})


@pytest.mark.parametrize(
    ("results", "owed", "kinds"),
    [
        # Batches that change silver without the report owe it; the REPORT_EVERY-th runs it.
        ([["customers"]] * 4, 4, BATCH_KINDS),
        ([["customers"]] * 5, 5, KINDS),
        # A batch that changed nothing owes nothing more.
        ([["customers"], [], []], 1, BATCH_KINDS),
    ],
)
def test_a_batch_runs_the_report_only_when_overdue(
    results: list[list[str]], owed: int, kinds: tuple[str, ...]
) -> None:
    between = Between()
    for written in results:
        assert between.kinds() == BATCH_KINDS
        between.ran(PipelineResult(runs=[_job("transform_customers")], written=written))
    assert between.unreported == owed
    assert between.kinds() == kinds


def test_a_batch_that_published_the_report_owes_none_and_a_failed_one_still_does() -> None:
    between = Between(unreported=REPORT_EVERY)
    between.ran(PipelineResult(runs=[_job(QUALITY_JOB, ok=False)], written=["orders"]))
    assert between.unreported == REPORT_EVERY + 1
    assert between.kinds() == KINDS
    between.ran(PipelineResult(runs=[_job(QUALITY_JOB)], written=["orders"]))
    assert between.unreported == 0
    assert between.kinds() == BATCH_KINDS
    assert between.pending == {"orders"}
