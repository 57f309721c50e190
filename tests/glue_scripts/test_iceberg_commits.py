"""Atomic commits under ``kill -9``: a silver MERGE and a gold replace killed mid-write.

A job runs in its own process (``lakehouse glue start-job-run``, its own JVM) and is killed with
SIGKILL, with the whole process group, as soon as its first data file appears in the table's
folder, i.e. while it writes and before it can commit. Meanwhile reader threads read each
table's current snapshot over and over the way the local Athena engine does (pyiceberg plans
the snapshot's files, DuckDB reads them). Every answer a reader ever gets must be the table
before the change or after it, never a mix; the killed run must leave the table at its last
snapshot and the job's bookmark unmoved; and the next run must complete the change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

from lakehouse.athena.iceberg_plan import scan_sql
from lakehouse.catalog import iceberg
from lakehouse.config import Settings
from lakehouse.glue.runner import start_job_run
from tests.support.bronze import customer, write_file

pytestmark = pytest.mark.slow

CUSTOMERS = 30_000
TENANTS = 60
SILVER_JOB = load_declaration().entity("customers").silver_job_name
GOLD_JOB = "create_gold_customer_acquisition"

#: The console script of this environment (a job in its own process, with its own JVM).
LAKEHOUSE_CLI = str(Path(sys.executable).parent / "lakehouse")

Answer = tuple[int | None, tuple[tuple[object, ...], ...]]


def tenant(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-000000000000"


def _rows(op: str, s: int, created: str, first_name: str) -> list[dict[str, str | None]]:
    return [
        customer(
            op,
            n,
            tenant=tenant(n % TENANTS),
            s=s,
            ts="2024-02-01 00:00:00.000000" if op == "U" else "2024-01-01 00:00:00.000000",
            created_at=created,
            first_name=first_name,
        )
        for n in range(CUSTOMERS)
    ]


def read_current(folder: Path, query: str) -> Answer:
    """What a reader sees: the current snapshot's id and ``query`` over its rows (data files
    less their position deletes, as the local engine reads them)."""
    if not iceberg.is_iceberg_table(folder):
        return None, ()
    table = iceberg.load_table(folder)
    snapshot = table.current_snapshot()
    read = scan_sql("*", iceberg.scan_files(table, snapshot), False, iceberg.local_path)
    if read is None:
        return (None if snapshot is None else snapshot.snapshot_id), ()
    con = duckdb.connect()
    try:
        rows = con.execute(query.format(files=f"({read})")).fetchall()
    finally:
        con.close()
    return (None if snapshot is None else snapshot.snapshot_id), tuple(tuple(r) for r in rows)


class Readers:
    """Reader threads that record every answer they get until stopped."""

    def __init__(self, targets: dict[str, tuple[Path, str]]) -> None:
        self.targets = targets
        self.answers: dict[str, list[tuple[tuple[object, ...], ...]]] = {k: [] for k in targets}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(name,), daemon=True) for name in targets
        ]

    def _loop(self, name: str) -> None:
        folder, query = self.targets[name]
        while not self._stop.is_set():
            try:
                self.answers[name].append(read_current(folder, query)[1])
            except Exception as exc:  # a reader must never fail: record it for the assertion
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            time.sleep(0.05)

    def __enter__(self) -> Readers:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["LAKEHOUSE_LAKE"] = settings.lake
    env["LAKEHOUSE_STATE_DIR"] = str(settings.state_dir)
    return env


def kill_while_writing(settings: Settings, job: str, data: Path, timeout: float = 600) -> None:
    """Run ``job`` in its own process group; SIGKILL it when its first data file appears."""
    before = set(data.rglob("*.parquet")) if data.exists() else set()
    log = Path(str(settings.state_dir)) / f"{job}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("wb")
    proc = subprocess.Popen(
        [LAKEHOUSE_CLI, "glue", "start-job-run", "--job-name", job],
        env=_env(settings),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if data.exists() and set(data.rglob("*.parquet")) - before:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
                return
            if proc.poll() is not None:
                out.close()
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"{job} ended ({proc.returncode}) before it wrote a data file:\n{tail}")
            time.sleep(0.005)
        pytest.fail(f"{job} wrote no data file within {timeout} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        out.close()


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")


def _run(spark: SparkSession, settings: Settings, job: str) -> None:
    run = start_job_run(settings, job, spark=spark)
    assert run.state == "SUCCEEDED", run.error


def test_killed_merge_and_replace_leave_whole_snapshots(
    spark: SparkSession, lake: Settings
) -> None:
    bronze = Path(lake.bronze_uri)
    silver = Path(lake.silver_uri) / "customers"
    gold = Path(lake.gold_uri) / "customer_acquisition"
    write_file(
        bronze, "customers", "LOAD00000001.csv.gz", _rows("I", 0, "2024-01-05 10:00:00", "Ada")
    )
    _run(spark, lake, SILVER_JOB)
    _run(spark, lake, GOLD_JOB)
    silver_query = (
        "select count(*), count(*) filter (where first_name = 'Moved'), "
        "count(distinct tenant_id) from {files}"
    )
    gold_query = (
        "select cast(signup_month as varchar), sum(new_customers) from {files} "
        "group by 1 order by 1"
    )
    silver_before = read_current(silver, silver_query)
    gold_before = read_current(gold, gold_query)
    assert silver_before[1] == ((CUSTOMERS, 0, TENANTS),)
    assert gold_before[1] == (("2024-01-01", CUSTOMERS),)

    # Every customer changes: a new first name, and signed up a month later.
    write_file(
        bronze,
        "customers",
        "20240201-000000000001.csv.gz",
        _rows("U", 1, "2024-02-05 10:00:00", "Moved"),
    )
    bookmark = Path(lake.glue_state_uri) / "bookmarks" / f"{SILVER_JOB}.json"
    bookmark_before = bookmark.read_bytes()
    targets = {"silver": (silver, silver_query), "gold": (gold, gold_query)}
    with Readers(targets) as readers:
        kill_while_writing(lake, SILVER_JOB, silver / "data")
        assert read_current(silver, silver_query) == silver_before
        assert bookmark.read_bytes() == bookmark_before
        _run(spark, lake, SILVER_JOB)  # the next run completes the change
        silver_after = read_current(silver, silver_query)
        assert silver_after[1] == ((CUSTOMERS, CUSTOMERS, TENANTS),)

        kill_while_writing(lake, GOLD_JOB, gold / "data")
        assert read_current(gold, gold_query) == gold_before
        _run(spark, lake, GOLD_JOB)
        gold_after = read_current(gold, gold_query)
        assert gold_after[1] == (("2024-02-01", CUSTOMERS),)
        time.sleep(0.5)  # the readers see the final state too
    assert not readers.errors, readers.errors[:5]
    whole: dict[str, set[tuple[tuple[object, ...], ...]]] = {
        "silver": {silver_before[1], silver_after[1]},
        "gold": {gold_before[1], gold_after[1]},
    }
    for name, answers in readers.answers.items():
        assert len(answers) > 10, name
        assert set(answers) <= whole[name], (name, set(answers) - whole[name])
        assert set(answers) == whole[name], name  # both states were seen, nothing else
