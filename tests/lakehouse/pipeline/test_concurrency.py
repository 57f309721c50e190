"""One writer per lake, end to end: real ``lakehouse pipeline`` processes over a real lake.

Two runs started together: one runs, the other is refused at once with the lock's message and
exit code, and silver then reconciles with PostgreSQL. A run killed with ``kill -9`` leaves a
lock that the next run breaks. SIGTERM during ``pipeline watch`` ends it between batches with
the lock released, and the next run completes from where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import psutil
import psycopg
import pytest
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.paths import REPO_ROOT
from lakehouse.pipeline.run import run_pipeline
from lakehouse.reconcile import reconcile
from lakehouse.source.seed import seed
from lakehouse.storage import open_storage
from lakehouse.storage.lock import EXIT_LOCKED, HOLDER_PATH
from tests.lakehouse.pipeline.lake import drop_slot, lake_settings, replicate_once

# Several Spark processes each: generous on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def _env(settings: Settings) -> dict[str, str]:
    assert settings.database_url is not None
    return {
        **os.environ,
        "LAKEHOUSE_LAKE": settings.lake_uri,
        "DATABASE_URL": settings.database_url,
        # Replication runs as the replicator role (lake_settings gives its URL).
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": settings.replicator_database_url or "",
        "LAKEHOUSE_SLOT": settings.slot_name,
        "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
        "COLUMNS": "200",  # one line per message in the captured output
    }


_STDERR: dict[int, IO[str]] = {}


def _lakehouse(settings: Settings, *args: str) -> subprocess.Popen[str]:
    # Standard error goes to a file, not a pipe: Spark writes more there than a pipe holds, and
    # a test that reads only standard output would leave the command blocked on a full pipe.
    log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - read in _finish
    proc = subprocess.Popen(
        [sys.executable, "-m", "lakehouse.cli.main", *args],
        cwd=REPO_ROOT,
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    _STDERR[proc.pid] = log
    return proc


def _finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Wait for ``proc``; its standard output and standard error."""
    out, _ = proc.communicate(timeout=timeout)
    log = _STDERR.pop(proc.pid)
    log.seek(0)
    err = log.read()
    log.close()
    return out, err


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    """kill -9 a command and whatever it started (its Spark JVM)."""
    with_children = [proc.pid]
    with contextlib.suppress(psutil.NoSuchProcess):
        with_children += [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    for pid in with_children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=60)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            _kill_tree(proc)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


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
        killed = _lakehouse(settings, "pipeline", "run")
        processes.append(killed)
        _wait_for(lambda: lake.exists(HOLDER_PATH), 120, "the first run to take the lock")
        _kill_tree(killed)
        assert lake.exists(HOLDER_PATH)  # it could not clean up

        # Two runs started together.
        first, second = (
            _lakehouse(settings, "pipeline", "run"),
            _lakehouse(settings, "pipeline", "run"),
        )
        processes += [first, second]
        _wait_for(lambda: first.poll() is not None or second.poll() is not None, 300, "one to exit")
        refused, runner = (first, second) if first.poll() is not None else (second, first)
        # The refused one did not wait for the other to finish.
        assert runner.poll() is None
        _out, refused_err = _finish(refused, 30)
        assert refused.returncode == EXIT_LOCKED, refused_err
        message = " ".join(refused_err.split())
        assert "is locked by another writer" in message
        assert f"'lakehouse pipeline run' (pid {runner.pid} on " in message
        assert "Traceback" not in refused_err

        out, err = _finish(runner, 900)
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
        watch = _lakehouse(settings, "pipeline", "watch", "--interval", "0")
        processes.append(watch)
        assert watch.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("batch 1:") for line in lines):
            line = watch.stdout.readline()
            assert line, f"watch ended early: {lines} {_finish(watch, 60)[1]}"
            lines.append(line)
        # More changes while the second batch replicates or processes them.
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "update customers set notes = 'changed while watching', updated_at = now() "
                "where id in (select id from customers order by id limit 20)"
            )
        watch.send_signal(signal.SIGTERM)
        out, err = _finish(watch, 600)
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
