"""The pipeline daemon's warm-up: the real pipeline on a scratch sample, never the lake."""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Callable
from pathlib import Path

import boto3
import psycopg
import pytest
from lakehouse_glue.model import load_bronze_contract
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.pipeline.warmup import HEAD_BYTES, SCRATCH, _samples, head_records, warm_up
from lakehouse.replicate.bronze import csv_field
from lakehouse.source.seed import seed
from tests.support.lake import drop_slot, file_fingerprints, lake_settings, replicate_once
from tests.support.moto import MotoS3

CONTRACT = load_bronze_contract()
HEADER: list[str | None] = ["Op", "id", "notes"]
#: Awkward but valid records: a line break and a carriage return inside quotes, a doubled
#: quote, an empty field and the NULL marker.
RECORDS: list[list[str | None]] = [
    ["I", "1", "plain"],
    ["U", "2", "two\nlines"],
    ["D", "3", 'a "quoted" word'],
    ["I", "4", "carriage\rreturn"],
    ["I", "5", ""],
    ["U", "6", None],
    ["I", "7", "three\nmore\nlines"],
    ["I", "8", "last"],
]


def _csv(rows: list[list[str | None]]) -> str:
    """Records as the replicator writes them (quoted as PostgreSQL's CSV COPY quotes)."""
    null = CONTRACT.csv_null_value.encode()
    lines = [
        b",".join(csv_field(None if v is None else v.encode(), null) for v in row) for row in rows
    ]
    return b"".join(line + b"\n" for line in lines).decode()


def _records(text: str) -> list[list[str | None]]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=CONTRACT.csv_delimiter)
    return [[None if v == CONTRACT.csv_null_value else v for v in row] for row in rows]


def test_a_sample_is_whole_records_exactly_as_written() -> None:
    text = _csv([HEADER, *RECORDS])
    data = gzip.compress(text.encode())
    # The whole file: every record when fewer than asked, else the first ones.
    assert head_records(data, 100, CONTRACT, whole=True).decode() == text
    assert _records(head_records(data, 3, CONTRACT, whole=True).decode()) == [
        HEADER,
        *RECORDS[:3],
    ]
    # A head cut anywhere gives whole records only, a prefix of the file as written.
    for size in range(1, len(data)):
        sample = head_records(data[:size], 100, CONTRACT, whole=False).decode()
        assert text.startswith(sample)
        got = _records(sample)
        assert got == [HEADER, *RECORDS][: len(got)]


def test_a_cut_record_is_left_out_even_when_it_parses() -> None:
    text = _csv([HEADER, *RECORDS])
    cut = text[: text.index("three\nmore") + len("three\n")]  # inside record 7's quotes
    sample = head_records(gzip.compress(cut.encode()), 100, CONTRACT, whole=False).decode()
    assert _records(sample) == [HEADER, *RECORDS[:6]]
    only_header = head_records(gzip.compress(b"Op,id\n1"), 5, CONTRACT, whole=False)
    assert only_header == b""  # the header alone is no sample
    # Not RFC 4180 (a bare carriage return unquoted): the records before it are the sample.
    odd = b"Op,id\nI,1\nI,2\nI,x\ry\nI,3\n"
    assert head_records(gzip.compress(odd), 5, CONTRACT, whole=True) == b"Op,id\nI,1\nI,2\n"


@pytest.mark.slow
def test_the_warm_up_runs_the_pipeline_on_a_sample_and_never_writes_the_lake(
    spark: SparkSession, make_source_db: Callable[[], str], tmp_path: Path
) -> None:
    """An initial build of full-load samples, then an incremental run of change samples: every
    job succeeds on the sample; the lake (bronze, catalog, bookmarks) is byte for byte and
    time for time as it was; the scratch folder is gone, and a link put in its place is
    removed, not followed."""
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=8, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    try:
        replicate_once(settings)
        with psycopg.connect(dsn) as conn:
            conn.execute(
                "update customers set notes = 'warm' where id in (select id from "
                "customers order by id limit 5)"
            )
            conn.execute("delete from events where id in (select id from events limit 2)")
        replicate_once(settings)
        lake = Path(settings.lake)
        kept = tmp_path / "kept"
        kept.mkdir()
        (kept / "marker").write_text("not the warm-up's")
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        os.symlink(kept, settings.state_dir / SCRATCH)
        before = file_fingerprints(lake)
        lines: list[str] = []

        done = warm_up(settings, spark, rows=50, log=lines.append)

        assert done.skipped is None, lines
        assert done.failed == [], lines
        assert [line.split(" of the sample")[0] for line in lines] == [
            "warm-up: initial build",
            "warm-up: incremental run",
        ]
        assert done.jobs > 2 * 8  # every silver job, then those of the changed entities and gold
        assert file_fingerprints(lake) == before
        assert not os.path.lexists(settings.state_dir / SCRATCH)
        assert (kept / "marker").read_text() == "not the warm-up's"
    finally:
        drop_slot(dsn, settings.slot_name)


def test_no_full_load_yet_is_no_warm_up(spark: SparkSession, tmp_path: Path) -> None:
    settings = lake_settings(tmp_path / "lake")
    done = warm_up(settings, spark)
    assert done.skipped == "the lake's bronze has no full-load file yet"
    assert done.jobs == 0
    assert not (settings.state_dir / SCRATCH).exists()


def test_an_s3_bronze_is_sampled_from_each_tables_first_load_and_newest_change(
    s3_env: MotoS3, tmp_path: Path
) -> None:
    """On S3 (heads read by ranged GETs) the sample is the first full-load file and the newest
    change file of each table, whole records only, also of a file larger than the head read."""
    bucket = s3_env.new_bucket()
    settings = Settings(lake=f"s3://{bucket}/lake", state_dir=tmp_path / "state", _env_file=None)  # type: ignore[call-arg]
    client = boto3.client("s3")
    folder = f"lake/bronze/{CONTRACT.table_folder('public', 'orders')}"
    big = [HEADER, *[["I", str(n), "x" * 40 + str(n)] for n in range(60_000)]]
    text = _csv(big)
    assert len(gzip.compress(text.encode())) > HEAD_BYTES  # more than the head is read
    files = {
        "LOAD00000001.csv.gz": text,
        "LOAD00000002.csv.gz": _csv([HEADER, ["I", "second", "load"]]),
        "20261205-000000000001.csv.gz": _csv([HEADER, ["U", "1", "older"]]),
        "20261205-000000000002.csv.gz": _csv([HEADER, *RECORDS]),
    }
    for name, body in files.items():
        client.put_object(Bucket=bucket, Key=f"{folder}/{name}", Body=gzip.compress(body.encode()))

    got = {
        (table, name): gzip.decompress(data).decode()
        for table, name, data, _ in _samples(settings, 3)
    }

    table = CONTRACT.table_folder("public", "orders")
    assert got == {
        (table, "LOAD00000001.csv.gz"): _csv(big[:4]),
        (table, "20261205-000000000002.csv.gz"): _csv([HEADER, *RECORDS[:3]]),
    }
