"""A run that runs out of memory: one line naming the job and the setting, bookmarks unmoved.

The failing run is ``--verbose`` and shows Spark's own log; the next one is not and shows none
of it. The squeeze is real: ``lakehouse pipeline run`` starts its JVM with a tiny heap
(``LAKEHOUSE_SPARK_DRIVER_MEMORY``), while Spark's memory manager is told it has gigabytes
(``spark.testing.memory``, through ``PYSPARK_SUBMIT_ARGS``), so it keeps data in memory instead
of spilling it. A JVM that short of memory first thrashes in garbage collection for many
minutes; a strict GC overhead limit (``-XX:GCTimeLimit``/``-XX:GCHeapFreeLimit`` in the JVM
options) turns that into the ``OutOfMemoryError`` it would end in, quickly. The next run, with
memory sized as usual, completes and silver reconciles with PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.paths import REPO_ROOT
from lakehouse.reconcile import reconcile
from lakehouse.source.seed import seed
from tests.support.lake import drop_slot, entities, lake_settings, replicate_once

# Two Spark processes: generous on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


# What Spark itself prints to standard error at start-up, without --verbose never shown.
SPARK_NOISE = (
    "NativeCodeLoader",
    "Using Spark's default log4j profile",
    "Setting default log level",
    " WARN ",
)


def _pipeline_run(
    settings: Settings, *options: str, **env: str
) -> subprocess.CompletedProcess[str]:
    assert settings.database_url is not None
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", *options, "pipeline", "run"],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "LAKEHOUSE_LAKE": settings.lake_uri,
            "DATABASE_URL": settings.database_url,
            "LAKEHOUSE_SLOT": settings.slot_name,
            "COLUMNS": "400",  # the one line stays one line
            **env,
        },
        capture_output=True,
        text=True,
        timeout=1200,
    )


def _bookmarks(settings: Settings) -> dict[str, bytes]:
    folder = Path(settings.lake_uri) / "_glue" / "bookmarks"
    return {p.stem: p.read_bytes() for p in folder.glob("*.json")} if folder.is_dir() else {}


def test_out_of_memory_ends_the_run_in_one_line_and_the_next_run_completes(
    make_source_db: Callable[[], str], tmp_path: Path
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.02, seed=5, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    try:
        replicate_once(settings)
        # --verbose: Spark's own log is shown (here, besides the one line of the failure).
        squeezed = _pipeline_run(
            settings,
            "--verbose",
            LAKEHOUSE_SPARK_DRIVER_MEMORY="200m",
            PYSPARK_SUBMIT_ARGS="--conf spark.testing.memory=8589934592 pyspark-shell",
            LAKEHOUSE_SPARK_DRIVER_JAVA_OPTIONS=(
                "-XX:+UseParallelGC -XX:GCTimeLimit=20 -XX:GCHeapFreeLimit=40"
            ),
        )
        assert squeezed.returncode == 1, squeezed.stdout + squeezed.stderr
        ours = [line for line in squeezed.stderr.splitlines() if line.startswith("error:")]
        assert len(ours) == 1, squeezed.stderr
        line = ours[0]
        failed_job = line.removeprefix("error: ").split(" ", 1)[0]
        assert failed_job in {e.silver_job_name for e in entities()}
        assert "the Spark driver ran out of memory (java.lang.OutOfMemoryError with a 200m" in line
        assert "raise LAKEHOUSE_SPARK_DRIVER_MEMORY" in line
        assert "Traceback (most recent call last)" not in squeezed.stderr + squeezed.stdout
        assert "NativeCodeLoader" in squeezed.stderr
        assert "Setting default log level" in squeezed.stderr
        # The job that ran out of memory did not move its bookmark: the next run redoes it.
        after_failure = _bookmarks(settings)
        assert failed_job not in after_failure

        completed = _pipeline_run(settings)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        # Without --verbose, Spark's own warnings and notices are not shown.
        noise = [n for n in SPARK_NOISE if n in completed.stderr]
        assert noise == [], completed.stderr
        assert failed_job in _bookmarks(settings)
    finally:
        drop_slot(dsn, settings.slot_name)
    results = reconcile(settings, dsn)
    assert [d for r in results for d in r.differences] == []
    assert all(r.source_rows == r.silver_rows > 0 for r in results)
