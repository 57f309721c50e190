"""One writer per lake, end to end: real ``lakehouse pipeline`` processes over a real lake.

Two runs started together: one runs, the other is refused at once with the lock's message and
exit code, and silver then reconciles with PostgreSQL. A run killed with ``kill -9`` leaves a
lock that the next run breaks. SIGTERM during ``pipeline watch`` ends it between batches with
the lock released, and the next run completes from where it stopped.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.pipeline.run import run_pipeline
from lakehouse.reconcile import reconcile
from lakehouse.source.seed import seed
from lakehouse.storage import open_storage
from lakehouse.storage.lock import EXIT_LOCKED, HOLDER_PATH
from tests.support.lake import drop_slot, lake_settings, replicate_once
from tests.support.processes import finish, kill_tree, start, wait_for

# Several Spark processes each: generous on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def _assert_reconciles(settings: Settings, dsn: str) -> None:
    results = reconcile(settings, dsn)
    assert results
    assert all(r.source_rows == r.silver_rows > 0 for r in results), [
        (r.entity, r.source_rows, r.silver_rows) for r in results
    ]
    assert [d for r in results for d in r.differences] == []


def test_two_runs_together_one_runs_one_is_refused_and_a_killed_runs_lock_is_broken(
    make_source_db: Callable[[], str],
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=3, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    lake = open_storage(settings.lake_uri)
    try:
        replicate_once(settings)

        # A run killed with kill -9 while it holds the lock.
        killed = start(settings, "pipeline", "run")
        processes.append(killed)
        wait_for(lambda: lake.exists(HOLDER_PATH), 120, "the first run to take the lock")
        kill_tree(killed)
        assert lake.exists(HOLDER_PATH)  # it could not clean up

        # Two runs started together.
        first, second = (
            start(settings, "pipeline", "run"),
            start(settings, "pipeline", "run"),
        )
        processes += [first, second]
        wait_for(lambda: first.poll() is not None or second.poll() is not None, 300, "one to exit")
        refused, runner = (first, second) if first.poll() is not None else (second, first)
        # The refused one did not wait for the other to finish.
        assert runner.poll() is None
        _out, refused_err = finish(refused, 30)
        assert refused.returncode == EXIT_LOCKED, refused_err
        message = " ".join(refused_err.split())
        assert "is locked by another writer" in message
        assert f"'lakehouse pipeline run' (pid {runner.pid} on " in message
        assert "Traceback" not in refused_err

        out, err = finish(runner, 900)
        assert runner.returncode == 0, out + err
        assert "pipeline finished" in out
        assert f"took over the lake lock left by 'lakehouse pipeline run' (pid {killed.pid}" in (
            " ".join(err.split())
        )
        assert not lake.exists(HOLDER_PATH)  # released
    finally:
        drop_slot(dsn, settings.slot_name)
    _assert_reconciles(settings, dsn)


def test_sigterm_stops_watch_between_batches_and_releases_the_lock(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=3, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    lake = open_storage(settings.lake_uri)
    try:
        watch = start(settings, "pipeline", "watch", "--interval", "0")
        processes.append(watch)
        assert watch.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("batch 1:") for line in lines):
            line = watch.stdout.readline()
            assert line, f"watch ended early: {lines} {finish(watch, 60)[1]}"
            lines.append(line)
        # More changes while the second batch replicates or processes them.
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "update customers set notes = 'changed while watching', updated_at = now() "
                "where id in (select id from customers order by id limit 20)"
            )
        watch.send_signal(signal.SIGTERM)
        out, err = finish(watch, 600)
        output = "".join(lines) + out
        assert watch.returncode == 0, output + err
        assert "SIGTERM: stopping - finishing the batch under way" in output
        assert "the lake lock is released" in output
        assert "Traceback" not in err
        assert not lake.exists(HOLDER_PATH)
        with psycopg.connect(dsn) as conn:
            active = conn.execute(
                "select active from pg_replication_slots where slot_name = %s",
                [settings.slot_name],
            ).fetchone()
        assert active == (False,)  # the replicator let go of the slot

        # The next run takes the lock (it would raise if it were still held) and completes the
        # rest: nothing was left half-written.
        replicate_once(settings)
        result = run_pipeline(settings, spark=spark, kinds=("silver",))  # what reconcile reads
        assert not result.failed, [(r.job_name, r.error) for r in result.failed]
    finally:
        drop_slot(dsn, settings.slot_name)
    _assert_reconciles(settings, dsn)
