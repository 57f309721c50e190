"""Gold marts are rebuilt when, and only when, their silver inputs (or their code) changed.

Skipping is only right if the skipped marts hold what a rebuild would write: every step ends by
comparing the whole of gold with a full rebuild of it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration
from pyspark.sql import Row, SparkSession

from lakehouse.config import Settings
from lakehouse.glue.runner import start_job_run
from lakehouse.pipeline import run as pipeline_run
from lakehouse.pipeline.run import PipelineResult, run_pipeline
from lakehouse.source.seed import seed
from tests.support import tables
from tests.support.lake import drop_slot, lake_settings, replicate_once
from tests.support.spark import assert_frames_equal

pytestmark = pytest.mark.slow

MARTS = {m.job_name: set(m.depends_on) for m in load_marts()}
SILVER_JOBS = {e.name: e.silver_job_name for e in load_declaration().entities}


def _gold(spark: SparkSession, settings: Settings) -> dict[str, list[Row]]:
    return {
        m.name: tables.read(spark, tables.gold_table(spark, settings, m.name)).collect()
        for m in load_marts()
    }


def _built(result: PipelineResult) -> set[str]:
    return {r.job_name for r in result.runs if r.job_name.startswith("create_gold_")}


def _gold_up_to_date(result: PipelineResult) -> set[str]:
    return {job for job in result.up_to_date if job.startswith("create_gold_")}


def _silver_up_to_date(result: PipelineResult) -> set[str]:
    return {job for job in result.up_to_date if job in SILVER_JOBS.values()}


def _same_as_a_rebuild(spark: SparkSession, settings: Settings) -> None:
    """Gold as it is equals gold rebuilt from scratch by every gold job (a full refresh: a job
    run plainly would find its mart up to date and write nothing)."""
    kept = _gold(spark, settings)
    for job in MARTS:
        run = start_job_run(settings, job, {"--full_refresh": "true"}, spark=spark)
        assert run.state == "SUCCEEDED", run.error
    for name, rows in kept.items():
        assert_frames_equal(tables.read(spark, tables.gold_table(spark, settings, name)), rows)


def test_gold_marts_rebuild_when_their_inputs_change(  # noqa: PLR0915 - one scenario, step by step
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=5, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    gold_kinds = ("silver", "gold")
    try:
        replicate_once(settings)
        first = run_pipeline(settings, spark=spark, kinds=(*gold_kinds, "quality"))
        assert not first.failed
        assert _built(first) == set(MARTS)
        assert not first.up_to_date

        # Nothing new: every silver job and every mart is up to date, none runs.
        idle = run_pipeline(settings, spark=spark, kinds=gold_kinds)
        assert idle.runs == []
        assert _gold_up_to_date(idle) == set(MARTS)
        assert _silver_up_to_date(idle) == set(SILVER_JOBS.values())

        # Subscriptions change: exactly the marts that read subscriptions run again.
        with psycopg.connect(dsn) as conn:
            changed = conn.execute(
                "update subscriptions set monthly_amount = monthly_amount + 1.00, "
                "updated_at = now() where id in (select id from subscriptions order by id limit 3)"
            ).rowcount
        assert changed == 3
        replicate_once(settings)
        after = run_pipeline(settings, spark=spark, kinds=(*gold_kinds, "quality"))
        readers = {job for job, inputs in MARTS.items() if "subscriptions" in inputs}
        assert readers
        assert _built(after) == readers
        assert _gold_up_to_date(after) == set(MARTS) - readers
        # Only the silver job with a new bronze file ran.
        ran = [r.job_name for r in after.runs if r.job_name in SILVER_JOBS.values()]
        assert ran == [SILVER_JOBS["subscriptions"]]
        assert _silver_up_to_date(after) == set(SILVER_JOBS.values()) - {
            SILVER_JOBS["subscriptions"]
        }
        _same_as_a_rebuild(spark, settings)
        # The quality report evaluated again exactly the soft rules that read subscriptions,
        # and its row counts, reused or not, are PostgreSQL's.
        summary = Path(settings.reports_uri) / "quality" / "quality_report.json"
        report = json.loads(summary.read_text())
        for rule in report["soft_rules"]:
            reads = rule["entity"] == "subscriptions" or "-> subscriptions." in rule["detail"]
            assert rule["reused"] is not reads, rule
        with psycopg.connect(dsn) as conn:
            for name, entry in report["entities"].items():
                count = conn.execute(f"select count(*) from {name}").fetchone()
                assert count is not None
                assert entry["silver_rows"] == count[0], name

        # A silver job run by hand between pipeline runs: the pipeline's own customers job
        # then finds nothing new, yet every mart that reads customers must be rebuilt.
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "update customers set city = coalesce(city, '') || 'x', "
                "updated_at = now() where id in (select id from customers order by id limit 2)"
            )
        replicate_once(settings)
        by_hand = start_job_run(settings, "transform_customers_bronze_to_silver", spark=spark)
        assert by_hand.state == "SUCCEEDED"
        assert by_hand.report is not None
        assert by_hand.report["rows_in"] == 2
        later = run_pipeline(settings, spark=spark, kinds=gold_kinds)
        customer_readers = {job for job, inputs in MARTS.items() if "customers" in inputs}
        assert _built(later) == customer_readers

        # A mart whose output is gone is rebuilt even though nothing changed.
        gone = next(iter(MARTS))
        shutil.rmtree(Path(settings.gold_uri) / gone.removeprefix("create_gold_"))
        again = run_pipeline(settings, spark=spark, kinds=gold_kinds)
        assert _built(again) == {gone}
        _same_as_a_rebuild(spark, settings)

        # Changed code (here the shared library) rebuilds every mart, though no input changed.
        monkeypatch.setattr(pipeline_run, "library_fingerprint", lambda: "another library")
        recoded = run_pipeline(settings, spark=spark, kinds=gold_kinds)
        assert _built(recoded) == set(MARTS)
        # ... and runs every silver job again: a changed declaration may give one work (typing
        # a carried column) without a new bronze file.
        assert not _silver_up_to_date(recoded)
        assert {r.job_name for r in recoded.runs} >= set(SILVER_JOBS.values())
        monkeypatch.undo()

        # A full refresh rebuilds everything.
        full = run_pipeline(settings, spark=spark, kinds=gold_kinds, full_refresh=True)
        assert _built(full) == set(MARTS)
        assert not full.up_to_date
    finally:
        drop_slot(dsn, settings.slot_name)
