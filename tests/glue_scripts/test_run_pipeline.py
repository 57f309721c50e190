"""The single Glue job ``run_pipeline`` (Terraform ``single_job`` mode), on the local runtime.

It runs like any Glue job (``start_job_run``) over a lake replicated from the session's seeded
source, and must build what ``lakehouse pipeline run`` built from the same source (the
``e2e_lake``, whose silver equals PostgreSQL): the same silver, reconciled with PostgreSQL, and
the same gold, mart by mart. Its bookmark is the one Glue job's state, one source per silver
step. While another process holds the lake's writer lock, the job is refused: through the CLI
(exit 75) and by the script's own lock, which is the one it holds on AWS.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lakehouse_glue.dag import SINGLE_JOB, job_steps
from lakehouse_glue.gold.marts import load_marts
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.glue.runner import default_arguments, ensure_stubs_on_path, start_job_run
from lakehouse.paths import GLUE_SCRIPTS_DIR, REPO_ROOT
from lakehouse.reconcile import reconcile
from lakehouse.storage.lock import EXIT_LOCKED, LakeLockedError
from tests.support import tables
from tests.support.lake import Lake, drop_slot, entities, replicate_once, silver_frame
from tests.support.processes import run
from tests.support.spark import assert_frames_equal

# Two lakes built by Spark (the shared e2e lake and the single job's): generous on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def single_job_lake(
    e2e_lake: Lake, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """A second lake from the e2e source (its own slot), built by the single job alone."""
    root = tmp_path_factory.mktemp("single-job")
    settings = e2e_lake.settings.replace(
        lake=str(root / "lake"),
        slot_name=f"single_{uuid.uuid4().hex[:12]}",
        state_dir=root / "state",
    )
    try:
        replicate_once(settings)
        job = start_job_run(settings, SINGLE_JOB, spark=spark)
        assert job.state == "SUCCEEDED", job.error
        yield settings
    finally:
        drop_slot(e2e_lake.dsn, settings.slot_name)


def test_single_job_builds_the_silver_and_gold_of_pipeline_run(
    single_job_lake: Settings, e2e_lake: Lake, spark: SparkSession
) -> None:
    results = reconcile(single_job_lake, e2e_lake.dsn)
    assert [d for r in results for d in r.differences] == []
    assert all(r.source_rows == r.silver_rows > 0 for r in results)
    for entity in entities():
        assert_frames_equal(
            silver_frame(spark, single_job_lake, entity),
            silver_frame(spark, e2e_lake.settings, entity),
        )
    for mart in load_marts():
        single = tables.read(spark, tables.gold_table(spark, single_job_lake, mart.name))
        per_job = tables.read(spark, tables.gold_table(spark, e2e_lake.settings, mart.name))
        assert single.count() == per_job.count() > 0, mart.name
        assert_frames_equal(single, per_job)


def test_single_job_keeps_one_bookmark_with_a_source_per_silver_step(
    single_job_lake: Settings,
) -> None:
    bookmark = Path(single_job_lake.glue_state_uri) / "bookmarks" / f"{SINGLE_JOB}.json"
    doc = json.loads(bookmark.read_text("utf-8"))
    assert doc["job_name"] == SINGLE_JOB
    silver = [s.entity for s in job_steps() if s.kind == "silver"]
    assert sorted(doc["sources"]) == sorted(f"{e}_bronze_source" for e in silver)
    # Each step's own job kept no bookmark: the single job's state is the only one.
    steps = {s.job_name for s in job_steps()}
    written = {p.stem for p in bookmark.parent.glob("*.json")}
    assert written & steps == set()


@pytest.fixture
def held_lock(tmp_path: Path) -> Iterator[tuple[Settings, int]]:
    """A lake whose writer lock another process holds: the settings and the holder's pid."""
    settings = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    (tmp_path / "lake").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.lakehouse.storage.lock_holder", settings.lake_uri],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert holder.stdout is not None
    assert json.loads(holder.stdout.readline())["pid"] == holder.pid
    try:
        yield settings, holder.pid
    finally:
        holder.communicate(input="", timeout=30)


def test_single_job_is_refused_while_another_writer_holds_the_lock(
    held_lock: tuple[Settings, int],
) -> None:
    settings, holder = held_lock
    # As an operator starts it: the CLI exits 75 naming the holder.
    code, _out, err = run(
        settings.replace(database_url="postgresql://unused"),
        "glue",
        "start-job-run",
        "--job-name",
        SINGLE_JOB,
    )
    message = " ".join(err.split())
    assert code == EXIT_LOCKED, err
    assert f"'lakehouse test holder' (pid {holder} on " in message
    assert "Traceback" not in err

    # As Glue starts it: the script takes the lock itself, before anything else.
    ensure_stubs_on_path()
    script = runpy.run_path(str(GLUE_SCRIPTS_DIR / f"{SINGLE_JOB}.py"), run_name="single_job")
    argv = [f"{SINGLE_JOB}.py"]
    for key, value in default_arguments(settings, SINGLE_JOB).items():
        argv += [key, value]
    with pytest.raises(LakeLockedError, match=rf"pid {holder} on ") as refused:
        script["main"](argv)
    assert refused.value.exit_code == EXIT_LOCKED
