"""A silver job's backlog in bounded slices: the plan, and runs that stop between slices.

The job tests write hand-made bronze files (one slice per file with ``--slice_bytes 1``) and
compare silver with an independent oracle: the last change per key, by change sequence, over
the files of the slices merged so far, computed here in plain Python.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue import silver as silver_job
from lakehouse_glue.jobargs import JobArgs, job_arguments
from lakehouse_glue.model import load_declaration
from lakehouse_glue.slices import (
    MERGED_LIST,
    MIB,
    BronzeFile,
    MergedFiles,
    default_slice_bytes,
    plan,
)
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.glue.runner import JobRun, start_job_run
from tests.glue_scripts.test_silver_job import bronze, history, silver
from tests.support.bronze import T1, T2, customer, write_file
from tests.support.spark import assert_frames_equal

Row = dict[str, str | None]
JOB = load_declaration().entity("customers").silver_job_name


# --- the plan -------------------------------------------------------------------------------


def test_full_load_first_then_changes_by_name_within_the_size() -> None:
    files = [
        BronzeFile("s3://b/t/20240103-000001.csv.gz", 40),
        BronzeFile("s3://b/t/LOAD00000002.csv.gz", 60),
        BronzeFile("s3://b/t/20240102-000001.csv.gz", 30),
        BronzeFile("s3://b/t/LOAD00000001.csv.gz", 50),
        BronzeFile("s3://b/t/20240104-000001.csv.gz", 30),
    ]
    assert plan(files, 100, "LOAD") == [
        ["s3://b/t/LOAD00000001.csv.gz"],  # 50 + 60 > 100
        ["s3://b/t/LOAD00000002.csv.gz", "s3://b/t/20240102-000001.csv.gz"],  # 90
        ["s3://b/t/20240103-000001.csv.gz", "s3://b/t/20240104-000001.csv.gz"],  # 70
    ]
    # A file larger than the slice is a slice of its own; nothing is ever dropped.
    assert plan(files, 1, "LOAD") == [[f.uri] for f in sorted(files, key=_plan_key)]
    assert plan(files, 10**9, "LOAD") == [[f.uri for f in sorted(files, key=_plan_key)]]
    assert plan([], 100, "LOAD") == []
    with pytest.raises(ValueError, match="at least 1 byte"):
        plan(files, 0, "LOAD")


def test_into_empty_tables_every_full_load_file_is_the_first_slice() -> None:
    files = [
        BronzeFile("s3://b/t/20240102-000001.csv.gz", 30),
        BronzeFile("s3://b/t/LOAD00000002.csv.gz", 60),
        BronzeFile("s3://b/t/LOAD00000001.csv.gz", 500),
        BronzeFile("s3://b/t/20240103-000001.csv.gz", 40),
    ]
    assert plan(files, 100, "LOAD", full_load_whole=True) == [
        ["s3://b/t/LOAD00000001.csv.gz", "s3://b/t/LOAD00000002.csv.gz"],  # 560 > 100
        ["s3://b/t/20240102-000001.csv.gz", "s3://b/t/20240103-000001.csv.gz"],
    ]
    # Without full-load files the first slice is cut like any other.
    changes = [f for f in files if not f.is_full_load("LOAD")]
    assert plan(changes, 1, "LOAD", full_load_whole=True) == [[f.uri] for f in changes]


def _plan_key(f: BronzeFile) -> tuple[bool, str]:
    return (not f.is_full_load("LOAD"), f.uri)


def test_the_default_slice_follows_the_heap() -> None:
    assert default_slice_bytes(4096 * MIB) == 256 * MIB
    assert default_slice_bytes(1024 * MIB) == 64 * MIB
    assert default_slice_bytes(100 * MIB) == 16 * MIB  # the floor


def test_slice_bytes_is_an_optional_job_argument_and_checked() -> None:
    base = ["script.py", "--JOB_NAME", "j"]
    assert "slice_bytes" not in job_arguments(base)
    assert job_arguments([*base, "--slice_bytes", "5"])[-1] == "slice_bytes"
    assert job_arguments([*base, "--slice_bytes=5"])[-1] == "slice_bytes"
    assert "slice_bytes" not in job_arguments([*base, "--slice_bytes_extra", "5"])
    resolved = {
        "JOB_NAME": "j",
        "bronze_path": "b",
        "silver_path": "s",
        "gold_path": "g",
        "quarantine_path": "q",
        "reports_path": "r",
        "full_refresh": "false",
        "iceberg_catalog": "lake",
        "metrics_namespace": "",
        "metrics_deployment": "",
    }
    assert JobArgs.from_resolved(resolved).slice_bytes is None
    assert JobArgs.from_resolved({**resolved, "slice_bytes": "1048576"}).slice_bytes == MIB
    for bad in ("0", "-5", "1e6", "1 GiB", "; drop table"):
        with pytest.raises(ValueError, match="--slice_bytes must be a positive number of bytes"):
            JobArgs.from_resolved({**resolved, "slice_bytes": bad})


def test_the_record_keeps_only_what_the_bookmark_hands_out_again(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "q" / MERGED_LIST)
    a, b, c = (BronzeFile(f"file:/x/{n}.csv.gz", 10) for n in "abc")
    record = MergedFiles(spark, path)
    assert record.load([a, b, c]) == set()
    record.add([a, b])
    assert json.loads(Path(path).read_text()) == {a.uri: 10, b.uri: 10}
    # Next run: a was committed by the bookmark (not handed out), b was rewritten (new size).
    again = MergedFiles(spark, path)
    assert again.load([BronzeFile(b.uri, 11), c]) == set()
    assert json.loads(Path(path).read_text()) == {}
    again.add([c])
    assert MergedFiles(spark, path).load([a, b, c]) == {c.uri}
    again.clear()
    assert not Path(path).exists()


# --- the job --------------------------------------------------------------------------------


def _at(day: int) -> str:
    return f"2024-01-0{day} 00:00:00.000000"


#: One full-load file and three change files: with ``--slice_bytes 1``, four slices.
FILES: list[tuple[str, list[Row]]] = [
    ("LOAD00000001.csv.gz", [customer("I", n, tenant=T1 if n % 2 else T2) for n in range(1, 7)]),
    (
        "20240102-000000000001.csv.gz",
        [
            customer("U", 1, s=10, ts=_at(2), notes="one"),
            customer("D", 2, tenant=T2, s=11, ts=_at(2)),
            customer("I", 7, s=12, ts=_at(2)),
        ],
    ),
    (
        "20240103-000000000001.csv.gz",
        [
            customer("U", 1, s=20, ts=_at(3), notes="two"),
            customer("U", 7, s=21, ts=_at(3), city="Paris"),
            customer("D", 3, s=22, ts=_at(3)),
        ],
    ),
    (
        "20240104-000000000001.csv.gz",
        [
            customer("I", 2, tenant=T2, s=30, ts=_at(4), first_name="Back"),
            customer("U", 4, tenant=T2, s=31, ts=_at(4), notes="four"),
            customer("D", 7, s=32, ts=_at(4)),
        ],
    ),
]


def _oracle(files: list[tuple[str, list[Row]]]) -> dict[str, tuple[str | None, ...]]:
    """Silver after ``files``: per id the last change (full load first, then by sequence)."""
    last: dict[str, tuple[tuple[int, str], Row]] = {}
    for name, rows in files:
        rank = 0 if name.startswith("LOAD") else 1
        for row in rows:
            order = (rank, row["dms_change_seq"] or "")
            key = str(row["id"])
            if key not in last or order > last[key][0]:
                last[key] = (order, row)
    return {k: _values(row) for k, (_, row) in last.items() if row["Op"] != "D"}


def _values(row: Any) -> tuple[str | None, ...]:
    return (row["first_name"], row["notes"], row["city"], row["tenant_id"])


def _silver_now(spark: SparkSession, lake: Settings) -> dict[str, tuple[str | None, ...]]:
    rows = silver(spark, lake).collect()
    assert len(rows) == len({r["id"] for r in rows}), "a key is in silver twice"
    return {r["id"]: _values(r) for r in rows}


def _run(spark: SparkSession, lake: Settings, **arguments: str) -> JobRun:
    return start_job_run(
        lake, JOB, {"--slice_bytes": "1", "--full_refresh": "false", **arguments}, spark=spark
    )


def _record(lake: Settings) -> set[str]:
    """The names of the files the job recorded as merged."""
    path = Path(lake.quarantine_uri) / "customers" / MERGED_LIST
    if not path.exists():
        return set()
    return {u.rsplit("/", 1)[-1] for u in json.loads(path.read_text())}


def _bookmarked(lake: Settings) -> bool:
    return (Path(lake.glue_state_uri) / "bookmarks" / f"{JOB}.json").exists()


def test_a_backlog_larger_than_a_slice_equals_the_oracle_and_a_rebuild(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    for name, rows in FILES:
        write_file(bronze(lake), "customers", name, rows)
    run = _run(spark, lake)
    assert run.state == "SUCCEEDED", run.error
    assert run.report is not None
    assert run.report["slices"] == 4
    # Into empty tables the first slice is written whole (no merge), the other three merged.
    assert run.report["slices_rebuilt"] == 1
    assert run.report["rows_in"] == 15
    assert _silver_now(spark, lake) == _oracle(FILES)
    versions = history(spark, lake).collect()
    # 6 loaded rows; 1 updated twice; 7 inserted, updated (then deleted); 2 inserted again; 4
    # updated. Deletes only close a version.
    assert len(versions) == 6 + 2 + 2 + 1 + 1

    # A full refresh rebuilds history from every change at once: the same versions.
    rebuilt = start_job_run(lake, JOB, {"--full_refresh": "true"}, spark=spark)
    assert rebuilt.state == "SUCCEEDED", rebuilt.error
    assert_frames_equal(history(spark, lake), versions)


def test_a_run_stopped_between_slices_resumes_at_the_next_one(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    for name, rows in FILES:
        write_file(bronze(lake), "customers", name, rows)

    def stop_at(number: int, stage: str) -> None:
        def hook(entity: str, n: int, s: str) -> None:
            if (entity, n, s) == ("customers", number, stage):
                raise RuntimeError(f"stopped after slice {n} ({s})")

        monkeypatch.setattr(silver_job, "slice_hook", hook)

    # Run 1 dies after slice 2's merges, before slice 2 is recorded.
    stop_at(2, "merged")
    first = _run(spark, lake)
    assert first.state == "FAILED"
    assert "stopped after slice 2 (merged)" in str(first.error)
    assert _silver_now(spark, lake) == _oracle(FILES[:2])  # a whole slice boundary
    assert _record(lake) == {FILES[0][0]}
    assert not _bookmarked(lake)  # the bookmark did not move
    after_first = silver(spark, lake).collect()
    versions_first = history(spark, lake).collect()

    # Run 2 replays slice 2 (merged, never recorded) and dies once it is recorded: the replay
    # changed nothing, not even processed_at, and history holds no version twice.
    stop_at(1, "recorded")
    second = _run(spark, lake)
    assert second.state == "FAILED"
    assert_frames_equal(silver(spark, lake), after_first)
    assert_frames_equal(history(spark, lake), versions_first)
    assert _record(lake) == {FILES[0][0], FILES[1][0]}

    # Run 3 skips the two recorded files and completes the rest.
    monkeypatch.setattr(silver_job, "slice_hook", None)
    third = _run(spark, lake)
    assert third.state == "SUCCEEDED", third.error
    assert third.report is not None
    assert third.report["files"] == {"processed": 4, "resumed": 2, "read": 2, "quarantined": 0}
    assert third.report["slices"] == 2
    assert third.report["slices_rebuilt"] == 0  # the tables hold slices 1 and 2 already
    assert _silver_now(spark, lake) == _oracle(FILES)
    assert _bookmarked(lake)
    versions = history(spark, lake).collect()
    keys = [(r["id"], r["source_change_seq"]) for r in versions]
    assert len(keys) == len(set(keys)) == 12

    # The same files in one uninterrupted run: the same silver and history.
    other = Settings(lake=str(tmp_path / "other"), state_dir=tmp_path / "other_state")
    for name, rows in FILES:
        write_file(bronze(other), "customers", name, rows)
    assert _run(spark, other, **{"--slice_bytes": str(10**9)}).state == "SUCCEEDED"
    assert_frames_equal(history(spark, other), versions)
    assert_frames_equal(
        silver(spark, other).drop("processed_at"), silver(spark, lake).drop("processed_at")
    )

    # The next run is handed nothing new and forgets the committed files.
    fourth = _run(spark, lake)
    assert fourth.report is not None
    assert fourth.report["files"]["processed"] == 0
    assert _record(lake) == set()


def test_a_first_run_rebuilds_every_full_load_file_at_once_the_later_one_winning(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Two full-load files into empty tables: one rebuild, not a rebuild and a merge.

    Hostile: the second full-load file repeats a key of the first (a restarted full load).
    Merged as a slice of its own, its row would lose to the first (a full-load row never
    replaces one silver has); rebuilt together, the change order decides, as a full refresh
    does: the later file wins, and history holds both versions.
    """
    lake = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    files = [
        ("LOAD00000001.csv.gz", [customer("I", n, tenant=T1 if n % 2 else T2) for n in (1, 2, 3)]),
        ("LOAD00000002.csv.gz", [customer("I", 3, notes="again"), customer("I", 4)]),
        ("20240102-000000000001.csv.gz", [customer("U", 1, s=10, ts=_at(2), notes="one")]),
    ]
    for name, rows in files:
        write_file(bronze(lake), "customers", name, rows)
    run = _run(spark, lake)
    assert run.state == "SUCCEEDED", run.error
    assert run.report is not None
    assert (run.report["slices"], run.report["slices_rebuilt"]) == (2, 1)
    assert run.report["rows_in"] == 6
    expected = _oracle([files[0], files[2]])
    expected[str(customer("I", 3)["id"])] = ("Ada", "again", "London", T1)
    expected[str(customer("I", 4)["id"])] = ("Ada", None, "London", T1)
    assert _silver_now(spark, lake) == expected
    versions = history(spark, lake).collect()
    assert len(versions) == 3 + 2 + 1  # key 3 twice, key 1 twice

    rebuilt = start_job_run(lake, JOB, {"--full_refresh": "true"}, spark=spark)
    assert rebuilt.state == "SUCCEEDED", rebuilt.error
    assert_frames_equal(history(spark, lake), versions)
