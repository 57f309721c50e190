"""A backlog larger than a slice, on real components: killed between slices, then completed.

PostgreSQL is seeded and changed twice, each time replicated, so the events bronze holds a
full-load file and two change files. The events job then runs in its own process, as the
pipeline runs it (``lakehouse glue start-job-run``: default arguments, bookmarks enabled), with a
small driver heap and one-byte slices (every file a slice of its own), and is killed with SIGKILL
as soon as it has recorded its first slice: its bookmark has not moved. The next run, in a new
process with the same small heap, resumes at the second slice; silver equals PostgreSQL row for
row and reconciles, and the history built slice by slice across the kill equals a rebuild.

Only the events job runs: it is the one with the largest backlog, no silver job reads another
entity's tables, and the rest of the DAG (the other entities, gold) adds minutes without proving
anything more about slices (``test_pipeline_e2e`` runs the whole DAG; ``tests/glue_scripts/
test_slices.py`` checks slicing against an oracle).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from lakehouse_glue.slices import MERGED_LIST
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.glue.runner import start_job_run
from lakehouse.paths import REPO_ROOT
from lakehouse.reconcile import reconcile
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
from tests.support.spark import assert_frames_equal

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

EVENTS_JOB = "transform_events_bronze_to_silver"


def _env(settings: Settings) -> dict[str, str]:
    assert settings.database_url is not None
    return {
        **os.environ,
        "LAKEHOUSE_LAKE": settings.lake_uri,
        "DATABASE_URL": settings.database_url,
        "LAKEHOUSE_SLOT": settings.slot_name,
        "LAKEHOUSE_SPARK_DRIVER_MEMORY": "768m",
        "LAKEHOUSE_SILVER_SLICE_BYTES": "1",
    }


def _change(dsn: str, round_: int) -> None:
    """Updates, deletes and inserts, so that each busy table gets a change file."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "update customers set notes = %s, updated_at = now() where id in "
            "(select id from customers order by id limit 30)",
            [f"round {round_}"],
        )
        conn.execute(
            "update events set event_type = 'search', updated_at = now() where id in "
            "(select id from events order by id desc limit 40)"
        )
        conn.execute("delete from events where id in (select id from events order by id limit 20)")
        conn.execute(
            "insert into events (id, tenant_id, customer_id, session_id, event_type, properties,"
            " occurred_at, created_at, updated_at) select gen_random_uuid(), tenant_id,"
            " customer_id, %s, 'signup', '{}'::jsonb, now(), now(), now()"
            " from events order by id limit 15",
            [f"sess-{round_}"],
        )


def _record(settings: Settings) -> dict[str, int]:
    path = Path(settings.quarantine_uri) / "events" / MERGED_LIST
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


#: The events job, run as a command of its own: a new process and Spark driver each time.
EVENTS_RUN = [
    sys.executable,
    "-m",
    "lakehouse.cli.main",
    "glue",
    "start-job-run",
    "--job-name",
    EVENTS_JOB,
]


def _kill_after_first_events_slice(settings: Settings) -> dict[str, int]:
    proc = subprocess.Popen(
        EVENTS_RUN,
        cwd=REPO_ROOT,
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the Spark JVM dies with it
    )
    try:
        deadline = time.monotonic() + 900
        while not (recorded := _record(settings)):
            assert proc.poll() is None, "the run ended before the events job recorded a slice"
            assert time.monotonic() < deadline, "the events job recorded no slice in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return recorded


def test_a_run_killed_between_slices_resumes_and_equals_the_source(
    spark: SparkSession, make_source_db: Callable[[], str], tmp_path: Path
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.02, seed=3, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    try:
        replicate_once(settings)
        for round_ in (1, 2):
            _change(dsn, round_)
            replicate_once(settings)
        events_folder = Path(settings.bronze_uri) / "dms" / "public" / "events"
        bronze_files = sorted(p.name for p in events_folder.glob("*.csv.gz"))
        assert len(bronze_files) >= 3, bronze_files  # three slices at least

        recorded = _kill_after_first_events_slice(settings)
        # Killed mid-job: some of the events files recorded as merged, the bookmark unmoved.
        assert {u.rsplit("/", 1)[-1] for u in recorded} < set(bronze_files)
        bookmark = Path(settings.glue_state_uri) / "bookmarks" / f"{EVENTS_JOB}.json"
        assert not bookmark.exists()

        done = subprocess.run(
            EVENTS_RUN,
            cwd=REPO_ROOT,
            env=_env(settings),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        latest = Path(settings.reports_uri) / "quality" / "latest" / "events.json"
        report = json.loads(latest.read_text())
        assert report["files"]["resumed"] >= len(recorded)
        assert report["files"]["resumed"] + report["files"]["read"] == len(bronze_files)
        assert report["slices"] == report["files"]["read"]
        assert bookmark.exists()
    finally:
        drop_slot(dsn, settings.slot_name)

    events = next(e for e in entities() if e.name == "events")
    expected = source_frame(spark, dsn, events)
    actual = silver_frame(spark, settings, events)
    assert actual.count() == expected.count() > 0
    assert_frames_equal(actual, expected)
    (result,) = reconcile(settings, dsn, ["events"])
    assert result.differences == []
    assert result.source_rows == result.silver_rows == expected.count()

    # History built slice by slice, across a kill, equals a rebuild from every change at once.
    sliced = tables.read(spark, tables.history_table(spark, settings, "events")).collect()
    rebuilt = start_job_run(settings, EVENTS_JOB, {"--full_refresh": "true"}, spark=spark)
    assert rebuilt.state == "SUCCEEDED", rebuilt.error
    history = tables.history_table(spark, settings, "events")
    assert_frames_equal(tables.read(spark, history), sliced)
