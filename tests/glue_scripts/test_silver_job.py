"""The bronze-to-silver jobs on hand-made bronze files, run through the local Glue runner.

Each test builds a tiny lake in a temporary folder, writes DMS-style gzip CSV files with
Python's gzip/csv, runs the real job script and checks silver, quarantine and the report.
"""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue import silver as silver_job
from lakehouse_glue.bronze import inspect_headers, read_files
from lakehouse_glue.model import load_declaration
from lakehouse_glue.silver import (
    HISTORY_FILES_PER_TASK,
    _history_by_file,
    _spread,
    discover_new_files,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse.config import Settings
from lakehouse.glue.runner import JobRun, start_job_run
from tests.support import tables
from tests.support.bronze import (
    CONTRACT,
    EMPTY_UNQUOTED,
    T1,
    T2,
    cid,
    customer,
    customer_of,
    default_header,
    seq,
    table_dir,
    tenant_id,
    write_file,
)
from tests.support.spark import assert_frames_equal

NULL_MARKER = CONTRACT.csv_null_value


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")


def bronze(settings: Settings) -> Path:
    return Path(settings.bronze_uri)


def run_job(
    spark: SparkSession, settings: Settings, entity: str = "customers", full_refresh: bool = False
) -> JobRun:
    job = load_declaration().entity(entity).silver_job_name
    run = start_job_run(
        settings, job, {"--full_refresh": "true" if full_refresh else "false"}, spark=spark
    )
    assert run.state == "SUCCEEDED", run.error
    assert run.report is not None
    return run


def silver(spark: SparkSession, settings: Settings, entity: str = "customers") -> DataFrame:
    return tables.read(spark, tables.silver_table(spark, settings, entity))


def history(spark: SparkSession, settings: Settings, entity: str = "customers") -> DataFrame:
    return tables.read(spark, tables.history_table(spark, settings, entity))


def by_id(df: DataFrame) -> dict[str, dict[str, Any]]:
    return {r["id"]: r.asDict() for r in df.collect()}


def test_values_arrive_exactly_null_empty_and_odd_text(spark: SparkSession, lake: Settings) -> None:
    odd = 'a,"b"\nc\td \u00e9\u6771\u4eac\u2713'
    rows = [
        customer("I", 1, notes=None, company=""),
        customer("I", 2, notes="", company=None),
        customer("I", 3, notes="NULL", company="\\N"),
        customer("I", 4, notes=odd, company=" "),
        customer("I", 5, notes="\r\nline", city=None, phone=""),
        # '' may come unquoted (DMS documents no quotes for it); the texts 'NULL' and '\N' and
        # a quoted marker: the marker is NULL either way (docs/bronze-contract.md).
        customer("I", 6, notes=EMPTY_UNQUOTED, company=NULL_MARKER),  # type: ignore[arg-type]
        # An empty typed field is bronze written before NULL had a marker: quarantined, and
        # the reason says how to rebuild.
        customer("I", 7, updated_at=EMPTY_UNQUOTED),  # type: ignore[arg-type]
    ]
    write_file(bronze(lake), "customers", "LOAD00000001.csv.gz", rows)
    run = run_job(spark, lake)
    assert run.report["rows_in"] == 7
    assert run.report["rows_out"] == 6
    assert run.quarantined == 1
    (bad,) = spark.read.parquet(f"{lake.quarantine_uri}/customers").collect()
    assert (bad["id"], bad["quarantine_rule"]) == (cid(7), "unparsable_value")
    assert "'lakehouse replicate --resync'" in bad["quarantine_reason"]
    got = by_id(silver(spark, lake))
    assert (got[cid(6)]["notes"], got[cid(6)]["company"]) == ("", None)
    assert (got[cid(1)]["notes"], got[cid(1)]["company"]) == (None, "")
    assert (got[cid(2)]["notes"], got[cid(2)]["company"]) == ("", None)
    assert (got[cid(3)]["notes"], got[cid(3)]["company"]) == ("NULL", "\\N")
    assert (got[cid(4)]["notes"], got[cid(4)]["company"]) == (odd, " ")
    assert (got[cid(5)]["notes"], got[cid(5)]["city"], got[cid(5)]["phone"]) == (
        "\r\nline",
        None,
        "",
    )
    assert got[cid(1)]["is_marketing_opt_in"] is False
    assert got[cid(1)]["tenant_id"] == T1
    assert got[cid(1)]["source_change_seq"] == seq(0)


def test_columns_are_read_by_name_with_drift(spark: SparkSession, lake: Settings) -> None:
    header = list(reversed(default_header("customers")))
    header.remove("city")  # a missing optional column
    header.insert(3, "loyalty_tier")  # a column the declaration does not name: carried
    header.insert(4, "Loyalty Tier")  # a name that cannot be a column: reported only
    row = customer("I", 1, loyalty_tier="gold", email="  Ada@Example.COM ", country=" gb")
    write_file(bronze(lake), "customers", "LOAD00000001.csv.gz", [row], header=header)
    run = run_job(spark, lake)
    got = by_id(silver(spark, lake))[cid(1)]
    # Cleaning rules of the customers job: trimmed lower-case e-mail, upper-case country.
    assert (got["email"], got["country"], got["city"], got["first_name"]) == (
        "ada@example.com",
        "GB",
        None,
        "Ada",
    )
    assert got["loyalty_tier"] == "gold"
    drift = run.report["schema_drift"]
    assert list(drift["carried"]) == ["loyalty_tier"]
    assert list(drift["not_carried"]) == ["Loyalty Tier"]
    assert list(drift["extra_columns"].values()) == [["Loyalty Tier"]]
    assert list(drift["missing_optional_columns"].values()) == [["city"]]


def test_last_change_wins_by_sequence_not_file_name(spark: SparkSession, lake: Settings) -> None:
    b = bronze(lake)
    write_file(b, "customers", "LOAD00000001.csv.gz", [customer("I", 1), customer("I", 2)])
    # The file with the earlier name holds the later changes: the sequence decides.
    write_file(
        b,
        "customers",
        "20240102-000000000001.csv.gz",
        [
            customer("U", 1, ts="2024-01-03 00:00:00.000000", s=30, first_name="Last"),
            customer("D", 2, ts="2024-01-03 00:00:00.000000", s=31),
        ],
    )
    write_file(
        b,
        "customers",
        "20240102-000000000002.csv.gz",
        [
            customer("U", 1, ts="2024-01-02 00:00:00.000000", s=20, first_name="Older"),
            customer("U", 2, ts="2024-01-02 00:00:00.000000", s=21, first_name="Deleted later"),
        ],
    )
    run_job(spark, lake)
    got = by_id(silver(spark, lake))
    assert list(got) == [cid(1)]
    assert got[cid(1)]["first_name"] == "Last"
    assert got[cid(1)]["source_change_seq"] == seq(30)


def test_without_sequence_timestamp_then_file_then_row_position(
    spark: SparkSession, lake: Settings
) -> None:
    b = bronze(lake)
    header = default_header("customers", with_seq=False)
    ts = "2024-01-05 00:00:00.000000"
    write_file(
        b,
        "customers",
        "20240105-000000000001.csv.gz",
        [
            customer("I", 1, ts=ts, s=None, first_name="first"),
            customer("U", 1, ts=ts, s=None, first_name="second"),
            customer("U", 1, ts=ts, s=None, first_name="third in file 1"),
        ],
        header=header,
    )
    write_file(
        b,
        "customers",
        "20240105-000000000002.csv.gz",
        [
            customer("U", 2, ts=ts, s=None, first_name="a"),
        ]
        + [customer("U", 2, ts=ts, s=None, first_name=f"row {i}") for i in range(200)],
        header=header,
    )
    write_file(
        b,
        "customers",
        "20240105-000000000000.csv.gz",
        [
            customer("I", 2, ts=ts, s=None, first_name="earlier file"),
        ],
        header=header,
    )
    run_job(spark, lake)
    got = by_id(silver(spark, lake))
    assert got[cid(1)]["first_name"] == "third in file 1"
    assert got[cid(2)]["first_name"] == "row 199"


def _without_processed_at(df: DataFrame) -> DataFrame:
    return df.drop("processed_at")


def _changes() -> list[tuple[str, list[dict[str, str | None]]]]:
    return [
        (
            "LOAD00000001.csv.gz",
            [customer("I", n, tenant=T1 if n % 2 else T2) for n in range(1, 9)],
        ),
        (
            "20240102-000000000001.csv.gz",
            [
                customer("U", 1, s=10, ts="2024-01-02 00:00:00.000000", notes="one"),
                customer("D", 2, tenant=T2, s=11, ts="2024-01-02 00:00:00.000000"),
                customer("I", 9, s=12, ts="2024-01-02 00:00:00.000000"),
            ],
        ),
        (
            "20240103-000000000001.csv.gz",
            [
                customer("U", 1, s=20, ts="2024-01-03 00:00:00.000000", notes=""),
                customer("D", 9, s=21, ts="2024-01-03 00:00:00.000000"),
                customer("U", 4, tenant=T2, s=22, ts="2024-01-03 00:00:00.000000", city=None),
            ],
        ),
    ]


def test_incremental_equals_full_refresh_and_replay_is_a_no_op(
    spark: SparkSession, tmp_path: Path
) -> None:
    inc = Settings(lake=str(tmp_path / "inc"), state_dir=tmp_path / "s1")
    for name, rows in _changes():
        write_file(bronze(inc), "customers", name, rows)
        run = run_job(spark, inc)
        assert run.report["files"]["processed"] == 1  # the bookmark hands out only the new file
    incremental = _without_processed_at(silver(spark, inc)).collect()
    assert len(incremental) == 7

    # Same files written in the opposite order (other modification times), one full run.
    full = Settings(lake=str(tmp_path / "full"), state_dir=tmp_path / "s2")
    for name, rows in reversed(_changes()):
        write_file(bronze(full), "customers", name, rows)
    run_job(spark, full, full_refresh=True)
    assert_frames_equal(_without_processed_at(silver(spark, full)), incremental)

    # Replaying every file (full refresh twice) gives the same silver again.
    run_job(spark, full, full_refresh=True)
    assert_frames_equal(_without_processed_at(silver(spark, full)), incremental)

    # A run with no new files reads nothing and rewrites nothing.
    before = silver(spark, inc).collect()
    run = run_job(spark, inc)
    assert run.report["files"]["processed"] == 0
    assert run.report["rows_out"] == 0
    assert_frames_equal(silver(spark, inc), before)

    # History built file by file equals history rebuilt from every file at once.
    versions = history(spark, inc).collect()
    assert_frames_equal(history(spark, full), versions)
    at = {(r["id"], r["source_change_seq"]): r for r in versions}
    assert len(versions) == 8 + 4  # 8 loaded rows, updates of 1 (twice) and 4, insert of 9
    day2, day3 = datetime(2024, 1, 2), datetime(2024, 1, 3)
    first, mid, last = at[(cid(1), seq(0))], at[(cid(1), seq(10))], at[(cid(1), seq(20))]
    assert (first["valid_to"], first["valid_to_change_seq"], first["is_current"]) == (
        day2,
        seq(10),
        False,
    )
    assert (mid["valid_from"], mid["valid_to"], mid["notes"], mid["operation"]) == (
        day2,
        day3,
        "one",
        "U",
    )
    assert (last["valid_from"], last["valid_to"], last["notes"], last["is_current"]) == (
        day3,
        None,
        "",
        True,
    )
    # A delete closes the last version and makes none of its own.
    deleted = at[(cid(9), seq(12))]
    assert (deleted["valid_to"], deleted["valid_to_change_seq"], deleted["is_current"]) == (
        day3,
        seq(21),
        False,
    )
    assert at[(cid(2), seq(0))]["valid_to_change_seq"] == seq(11)
    assert {r["id"] for r in versions if r["is_current"]} == {r["id"] for r in incremental}

    # A run killed after its commits but before the bookmark's replays every file: nothing
    # changes, in silver (processed_at included) or in history.
    replay = start_job_run(
        inc,
        load_declaration().entity("customers").silver_job_name,
        {"--job-bookmark-option": "job-bookmark-disable"},
        spark=spark,
    )
    assert replay.state == "SUCCEEDED", replay.error
    assert replay.report is not None
    assert replay.report["files"]["processed"] == 3
    assert_frames_equal(silver(spark, inc), before)
    assert_frames_equal(history(spark, inc), versions)


def _data_files(spark: SparkSession, settings: Settings) -> dict[str, set[str]]:
    return tables.files_by_tenant(spark, tables.silver_table(spark, settings, "customers"))


def test_only_affected_tenant_buckets_are_rewritten(spark: SparkSession, lake: Settings) -> None:
    # Two tenants in two buckets of bucket(N, tenant_id): a change to one rewrites only its own.
    assert tables.bucket_of(T1) != tables.bucket_of(T2)
    b = bronze(lake)
    write_file(
        b,
        "customers",
        "LOAD00000001.csv.gz",
        [customer("I", 1, tenant=T1), customer("I", 2, tenant=T2)],
    )
    run_job(spark, lake)
    before = _data_files(spark, lake)
    assert sorted(before) == [T1, T2]
    write_file(
        b,
        "customers",
        "20240102-000000000001.csv.gz",
        [customer("D", 1, tenant=T1, s=5, ts="2024-01-02 00:00:00.000000")],
    )
    run = run_job(spark, lake)
    assert run.report["buckets_rewritten"] == 1
    after = _data_files(spark, lake)
    # No row of the deleted tenant is left (its file's row is deleted by position); the other
    # bucket's file was not touched.
    assert after == {T2: before[T2]}
    assert list(by_id(silver(spark, lake))) == [cid(2)]


def test_bad_input_is_quarantined_and_the_rest_goes_on(spark: SparkSession, lake: Settings) -> None:
    b = bronze(lake)
    write_file(
        b,
        "customers",
        "LOAD00000001.csv.gz",
        [
            customer("I", 1),
            customer("X", 2),  # unknown Op
            customer("I", 3, is_marketing_opt_in="maybe"),  # unparsable value
            customer("I", 4, status="zombie"),  # not an accepted value
            customer("I", 5, email=None),  # NULL in a NOT NULL column
            customer("I", 6, created_at="2024-02-30 00:00:00"),  # no such day
        ],
    )
    # A truncated gzip file (its header intact, the rest cut off): quarantined as a whole.
    many = [customer("I", 100 + n, s=1, notes=f"{n * 7919:x}" * 40) for n in range(2000)]
    path = write_file(b, "customers", "20240102-000000000001.csv.gz", many)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    folder = table_dir(b, "customers")
    # A file without a required column.
    header = [h for h in default_header("customers") if h != "email"]
    write_file(
        b, "customers", "20240102-000000000002.csv.gz", [customer("I", 7, s=7)], header=header
    )
    # A record with too many fields.
    good = ",".join(
        f'"{v}"' if v is not None else NULL_MARKER for v in customer("I", 8, s=8).values()
    )
    text = ",".join(default_header("customers")) + "\n" + good + "\n" + good + ',"extra"\n'
    write_raw = folder / "20240102-000000000003.csv.gz"
    write_raw.write_bytes(gzip.compress(text.encode()))

    run = run_job(spark, lake)
    r = run.report
    assert sorted(by_id(silver(spark, lake))) == [cid(1), cid(8)]
    assert r["status"] == "quarantined"
    assert r["files"] == {"processed": 4, "resumed": 0, "read": 2, "quarantined": 2}
    rules = {k: v["violations"] for k, v in r["rules"].items() if v["violations"]}
    assert rules == {
        "unreadable_file": 1,
        "missing_column": 1,
        "malformed_row": 1,
        "unknown_op": 1,
        "unparsable_value": 2,
        "accepted_values": 1,
        "not_null": 1,
    }
    assert r["rows_in"] == 8
    assert r["rows_quarantined"] == 6
    assert r["rows_out"] == 2
    assert run.quarantined == 8

    q = spark.read.parquet(f"{lake.quarantine_uri}/customers")
    got = {(row["id"], row["quarantine_rule"]) for row in q.collect()}
    assert got == {
        (cid(2), "unknown_op"),
        (cid(3), "unparsable_value"),
        (cid(4), "accepted_values"),
        (cid(5), "not_null"),
        (cid(6), "unparsable_value"),
        (cid(8), "malformed_row"),
        (None, "unreadable_file"),
        (None, "missing_column"),
    }
    reasons = {row["id"]: row["quarantine_reason"] for row in q.collect() if row["id"]}
    assert reasons[cid(3)] == "is_marketing_opt_in: cannot parse maybe as boolean"
    assert reasons[cid(2)] == "Op is X"
    raw = {row["id"]: row for row in q.collect() if row["id"]}
    assert raw[cid(3)]["is_marketing_opt_in"] == "maybe"  # raw text kept as it was
    assert raw[cid(8)]["raw_record"].endswith(',"extra"')

    # The bad files are remembered by the bookmark like the good ones: nothing is re-read.
    again = run_job(spark, lake)
    assert again.report["files"]["processed"] == 0
    assert again.quarantined == 0


def test_a_corrupt_gzip_is_set_aside_once_and_never_stalls_the_job(
    spark: SparkSession, lake: Settings
) -> None:
    """The bookmarked discovery read fails on a corrupt gzip (as on Glue); the job sets the
    file aside with its reason, goes on with the rest, and later runs exclude it."""
    b = bronze(lake)
    write_file(b, "customers", "LOAD00000001.csv.gz", [customer("I", 1)])
    broken = write_file(
        b, "customers", "20240102-000000000001.csv.gz", [customer("I", 2, s=2)] * 50
    )
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) - 12])  # the gzip trailer and some data cut off
    first = run_job(spark, lake).report
    assert sorted(by_id(silver(spark, lake))) == [cid(1)]
    assert first["files"] == {"processed": 2, "resumed": 0, "read": 1, "quarantined": 1}
    assert [(q["file"].rsplit("/", 1)[-1], q["rule"]) for q in first["quarantined_files"]] == [
        ("20240102-000000000001.csv.gz", "unreadable_file")
    ]
    assert "gzip" in first["quarantined_files"][0]["reason"]

    write_file(b, "customers", "20240102-000000000002.csv.gz", [customer("I", 3, s=3)])
    second = run_job(spark, lake).report
    assert sorted(by_id(silver(spark, lake))) == [cid(1), cid(3)]
    assert second["files"] == {"processed": 1, "resumed": 0, "read": 1, "quarantined": 0}
    assert second["status"] == "ok"


def test_tables_dropped_since_the_last_run_are_rebuilt_from_every_file(
    spark: SparkSession, lake: Settings
) -> None:
    """Tables with no data are built from the whole folder, not only from what the bookmark
    hands out: after a drop, the bookmarked read alone would leave out every earlier file."""
    b = bronze(lake)
    write_file(b, "customers", "LOAD00000001.csv.gz", [customer("I", 1), customer("I", 2)])
    first = run_job(spark, lake).report
    assert first["slices_rebuilt"] == 1
    for table in (
        tables.silver_table(spark, lake, "customers"),
        tables.history_table(spark, lake, "customers"),
    ):
        spark.sql(f"drop table {table.ident} purge")
    write_file(b, "customers", "20240102-000000000001.csv.gz", [customer("U", 2, s=5, notes="new")])
    again = run_job(spark, lake).report
    assert again["files"]["processed"] == 2
    assert again["slices_rebuilt"] == 1
    rows = by_id(silver(spark, lake))
    assert sorted(rows) == [cid(1), cid(2)]
    assert rows[cid(2)]["notes"] == "new"
    assert history(spark, lake).count() == 3

    # Then incremental again: the bookmark hands out only what is new.
    write_file(b, "customers", "20240103-000000000001.csv.gz", [customer("D", 1, s=6)])
    third = run_job(spark, lake).report
    assert third["files"]["processed"] == 1
    assert third["slices_rebuilt"] == 0
    assert sorted(by_id(silver(spark, lake))) == [cid(2)]


def test_a_rebuild_spreads_a_read_of_few_files_and_types_many_where_read(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A full refresh gives the same tables whether its read is spread over the cores first (a
    read of fewer partitions than the default parallelism) or typed where it is read (as many
    partitions or more: each file here is a partition of its own)."""
    few = Settings(lake=str(tmp_path / "few"), state_dir=tmp_path / "s1")
    many = Settings(lake=str(tmp_path / "many"), state_dir=tmp_path / "s2")
    (load_name, load_rows), *cdc = _changes()
    write_file(bronze(few), "customers", load_name, load_rows)
    # The same full load cut into three files, as DMS cuts a large table.
    for part in range(3):
        write_file(bronze(many), "customers", f"LOAD0000000{part + 1}.csv.gz", load_rows[part::3])
    for name, rows in cdc:
        write_file(bronze(few), "customers", name, rows)
        write_file(bronze(many), "customers", name, rows)

    entity = load_declaration().entity("customers")
    parallelism = spark.sparkContext.defaultParallelism
    assert 3 < parallelism <= 5, "the fixture's default parallelism must split 3 from 5 files"
    # Each file a read partition of its own (as files of 20 MiB are): Spark packs small files
    # by their size plus this open cost, up to a split of at most 128 MiB (its default).
    open_cost = "spark.sql.files.openCostInBytes"
    saved = spark.conf.get(open_cost)
    spark.conf.set(open_cost, str(128 * 1024 * 1024))
    try:
        for settings, files, spread in ((few, 3, True), (many, 5, False)):
            folder = table_dir(bronze(settings), "customers")
            uris = sorted(p.resolve().as_uri() for p in folder.glob("*.csv.gz"))
            read = read_files(spark, inspect_headers(spark, uris, ".csv.gz"), entity, CONTRACT)
            assert read.rows is not None
            assert read.rows.rdd.getNumPartitions() == files
            got = _spread(read.rows, spark)
            assert (got is not read.rows) == spread
            assert got.rdd.getNumPartitions() == (parallelism if spread else files)
            run_job(spark, settings, full_refresh=True)
    finally:
        spark.conf.set(open_cost, saved)

    assert_frames_equal(
        _without_processed_at(silver(spark, many)),
        _without_processed_at(silver(spark, few)).collect(),
    )
    assert_frames_equal(history(spark, many), history(spark, few).collect())
    assert silver(spark, many).count() == 7


@pytest.mark.parametrize("bucket_per_file", [True, False])
def test_a_full_refresh_writes_current_as_one_sorted_file_per_bucket(
    spark: SparkSession, lake: Settings, monkeypatch: pytest.MonkeyPatch, bucket_per_file: bool
) -> None:
    """The current table is taken from the history just written without a shuffle or a sort
    of its own: its rows must still land one file per bucket, sorted by tenant and key, and be
    the last version of every key. When history holds a bucket in several files (as if one
    rolled over its target size) the rows are sorted within each task first: the same result,
    from rows that reach the write out of order (this case fails if that path writes as read)."""
    # As a large table: read from history's files and written as read (a small one is
    # written by one task, sorted: ice.small_write).
    monkeypatch.setattr(ice, "SMALL_WRITE_BYTES", -1)
    seen: list[bool] = []
    real = ice.one_file_per_partition

    def one_file_per_partition(spark: SparkSession, table: ice.Table) -> bool:
        seen.append(real(spark, table))
        return seen[-1] and bucket_per_file

    monkeypatch.setattr(ice, "one_file_per_partition", one_file_per_partition)
    if not bucket_per_file:
        # A task holding two files of one bucket with another bucket between them hands the
        # write its rows out of bucket and key order; here every task's rows come reversed
        # (the same tasks, so each bucket is still read by one task), which only a sort undoes.
        by_file = silver_job._history_by_file

        def reversed_by_file(spark: SparkSession, table: ice.Table) -> DataFrame:
            return by_file(spark, table).sortWithinPartitions(F.col("tenant_id").desc())

        monkeypatch.setattr(silver_job, "_history_by_file", reversed_by_file)
    b = bronze(lake)
    ks = range(1, 5)
    # Two full-load files, each holding some of every tenant's rows (as DMS splits a table).
    write_file(
        b,
        "customers",
        "LOAD00000001.csv.gz",
        [customer_of(n, k) for n in range(40) for k in ks[:2]],
    )
    write_file(
        b,
        "customers",
        "LOAD00000002.csv.gz",
        [customer_of(n, k) for n in range(40) for k in ks[2:]],
    )
    changes = [
        customer("U", n * 100 + 1, tenant=tenant_id(n), s=n + 1, notes=f"new {n}")
        for n in range(0, 40, 3)
    ]
    write_file(b, "customers", "20240102-000000000001.csv.gz", changes)
    run_job(spark, lake, full_refresh=True)
    assert seen == [True]  # the rebuilt history holds each bucket in one file

    rows = by_id(silver(spark, lake))
    assert sorted(rows) == sorted(cid(n * 100 + k) for n in range(40) for k in ks)
    assert {i: r["notes"] for i, r in rows.items() if r["notes"]} == {
        cid(n * 100 + 1): f"new {n}" for n in range(0, 40, 3)
    }
    assert history(spark, lake).count() == 40 * len(ks) + len(changes)

    buckets = {tables.bucket_of(tenant_id(n)) for n in range(40)}
    assert len(buckets) < 40  # some buckets hold several tenants
    for table in (
        tables.silver_table(spark, lake, "customers"),
        tables.history_table(spark, lake, "customers"),
    ):
        files = spark.sql(
            f"select file_path, partition from {table.metadata_table('files')}"
        ).collect()
        assert sorted(f.partition[0] for f in files) == sorted(buckets)  # one file per bucket
        for f in files:
            written = pq.read_table(f.file_path.removeprefix("file:"), columns=["tenant_id", "id"])
            keys = list(
                zip(written["tenant_id"].to_pylist(), written["id"].to_pylist(), strict=True)
            )
            assert keys == sorted(keys)
            assert {tables.bucket_of(t) for t, _ in keys} == {f.partition[0]}
    # It was read from history's small bucket files whole, up to HISTORY_FILES_PER_TASK in a
    # task: on several cores (Iceberg's default put every bucket of a table of many tenants
    # in one task), without a task per file.
    hist = tables.history_table(spark, lake, "customers")
    hist_files = spark.sql(f"select count(*) from {hist.metadata_table('files')}").first()
    assert hist_files is not None
    assert hist_files[0] > HISTORY_FILES_PER_TASK
    tasks = -(-hist_files[0] // HISTORY_FILES_PER_TASK)
    assert _history_by_file(spark, hist).rdd.getNumPartitions() == tasks


def test_a_bookmarked_read_without_file_names_is_an_error(
    spark: SparkSession, lake: Settings, tmp_path: Path
) -> None:
    """If the frame carries rows but no attachFilename column, the job must not commit."""
    (tmp_path / "t").mkdir()

    class NoFileNames:
        def __init__(self) -> None:
            self.spark_session = spark
            self.create_dynamic_frame = self

        def from_options(self, **_: Any) -> Any:
            rows = spark.createDataFrame([("a",)], "col0 string")
            return type("Frame", (), {"toDF": lambda _self: rows})()

    with pytest.raises(RuntimeError, match="no 'source_file' column"):
        discover_new_files(
            NoFileNames(),
            str(tmp_path / "t"),
            "ctx",
            suffix=".csv.gz",
            damaged_list=str(tmp_path / "damaged.json"),
        )
