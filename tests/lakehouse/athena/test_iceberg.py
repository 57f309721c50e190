"""Athena SQL on Iceberg tables: current and time-travelled snapshots, metadata tables, tenants,
and readers that never fail while another process commits."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from lakehouse.catalog import iceberg
from lakehouse.catalog.crawler import crawl
from tests.support.lake import build_lake
from tests.support.lake_iceberg import (
    BUCKET_FIELD,
    ORDERS_ARROW,
    TENANTS,
    IcebergLake,
    bucket_of,
    order_rows,
)

ACME = TENANTS["acme"]


def rows(iceberg_lake: IcebergLake, sql: str, tenant: str | None = None) -> list[tuple[Any, ...]]:
    with AthenaEngine(iceberg_lake.settings, tenant=tenant, save_results=False) as engine:
        return engine.execute(sql)[-1].rows


def one(iceberg_lake: IcebergLake, sql: str, tenant: str | None = None) -> tuple[Any, ...]:
    got = rows(iceberg_lake, sql, tenant)
    assert len(got) == 1
    return got[0]


COUNT_SUM = "select count(*), sum(amount) from silver.orders"


def test_the_current_snapshot_has_the_right_counts_and_sums(iceberg_lake: IcebergLake) -> None:
    assert one(iceberg_lake, COUNT_SUM) == iceberg_lake.expected("third")
    per_tenant = rows(
        iceberg_lake,
        "select tenant_id, count(*), sum(amount) from silver.orders group by tenant_id "
        "order by tenant_id",
    )
    assert per_tenant == sorted(
        (TENANTS[slug], *iceberg_lake.expected("third", slug)) for slug in TENANTS
    )
    # Timestamps read as UTC timestamps, as Athena shows them.
    first = one(
        iceberg_lake, "select min(ordered_at) from silver.orders where tenant_id <> '" + ACME + "'"
    )
    assert first[0].tzinfo is None


def test_a_new_commit_is_seen_without_crawling(iceberg_lake: IcebergLake) -> None:
    more = order_rows(7000, 4, "globex", 100)
    iceberg_lake.orders().append(pa.Table.from_pylist(more, schema=ORDERS_ARROW))
    count, total = iceberg_lake.expected("third")
    assert one(iceberg_lake, COUNT_SUM) == (count + 4, total + sum(r["amount"] for r in more))


def test_a_tenant_session_reads_only_its_rows(iceberg_lake: IcebergLake) -> None:
    assert one(iceberg_lake, COUNT_SUM, tenant="acme") == iceberg_lake.expected("third", "acme")
    assert rows(iceberg_lake, "select distinct tenant_id from silver.orders", tenant="acme") == [
        (ACME,)
    ]
    # initech shares acme's bucket: its rows sit in files acme's plan may hold, and never show.
    for other in ("globex", "initech"):
        sql = f"select count(*) from silver.orders where tenant_id = '{TENANTS[other]}'"
        assert one(iceberg_lake, sql, "acme") == (0,)
    # Time travel to a snapshot whose files mix acme and initech: still acme's rows only.
    second = f"{COUNT_SUM} for version as of {iceberg_lake.snapshots['second']}"
    assert one(iceberg_lake, second, "acme") == iceberg_lake.expected("second", "acme")
    assert one(iceberg_lake, second, "initech") == iceberg_lake.expected("second", "initech")
    files = rows(iceberg_lake, 'select file_path, record_count from silver."orders$files"', "acme")
    assert files
    table = iceberg.load_table(iceberg_lake.root / "silver" / "orders")
    acme_bucket = {
        f.file.file_path
        for f in iceberg.live_files(table, table.current_snapshot())
        if f.partition[BUCKET_FIELD] == bucket_of(ACME)
    }
    assert {path for path, _ in files} <= acme_bucket
    assert sum(n for _, n in files) == iceberg_lake.expected("third", "acme")[0]


def test_a_tenant_session_cannot_open_another_tenants_files(iceberg_lake: IcebergLake) -> None:
    table = iceberg.load_table(iceberg_lake.root / "silver" / "orders")
    other = next(
        f.path
        for f in iceberg.live_files(table, table.current_snapshot())
        if f.partition[BUCKET_FIELD] == bucket_of(TENANTS["globex"])
    )
    with AthenaEngine(iceberg_lake.settings, tenant="acme", save_results=False) as engine:
        engine.execute(COUNT_SUM)
        # The first wall: no file functions in Athena SQL.
        with pytest.raises(AthenaQueryError) as refused:
            engine.execute(f"select count(*) from read_parquet('{other}')")
        assert refused.value.code == "NOT_SUPPORTED"
        # The second wall: the locked DuckDB session has no file functions, and even the
        # system's own, named in full, may open no file.
        with pytest.raises(duckdb.Error, match=r"(?i)macro read_parquet"):
            engine._con.execute(f"select count(*) from read_parquet('{other}')").fetchall()
        with pytest.raises(duckdb.Error, match=r"(?i)permission|not allowed|disabled"):
            engine._con.execute(
                f"select count(*) from system.main.read_parquet('{other}')"
            ).fetchall()


def test_time_travel_returns_the_older_snapshots_answer(iceberg_lake: IcebergLake) -> None:
    first = iceberg_lake.snapshots["first"]
    assert one(iceberg_lake, f"{COUNT_SUM} for version as of {first}") == iceberg_lake.expected(
        "first"
    )
    second_at = iceberg.ms_time(iceberg_lake.committed_at["second"]).astimezone(UTC)
    stamp = second_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    sql = f"{COUNT_SUM} for timestamp as of timestamp '{stamp} UTC'"
    assert one(iceberg_lake, sql) == iceberg_lake.expected("second")
    assert one(
        iceberg_lake, f"{COUNT_SUM} for timestamp as of current_timestamp"
    ) == iceberg_lake.expected("third")
    # With a tenant, the older snapshot is scoped too.
    assert one(
        iceberg_lake, f"{COUNT_SUM} for version as of {first}", "acme"
    ) == iceberg_lake.expected("first", "acme")
    # Two snapshots of one table in one query (an alias each).
    diff = one(
        iceberg_lake,
        f"select (select count(*) from silver.orders) - (select count(*) from silver.orders "
        f"for version as of {first} as old)",
    )
    assert diff == (iceberg_lake.expected("third")[0] - iceberg_lake.expected("first")[0],)


@pytest.mark.parametrize(
    ("clause", "code", "message"),
    [
        ("for version as of 42", "INVALID_ARGUMENTS", "snapshot id does not exist: 42"),
        ("for version as of 'no-such-tag'", "INVALID_ARGUMENTS", "branch or tag does not exist"),
        (
            "for timestamp as of timestamp '2000-01-01 00:00:00 UTC'",
            "INVALID_ARGUMENTS",
            "no snapshot of the table at or before 2000-01-01",
        ),
        (
            "for timestamp as of (select max(ordered_at) from silver.orders)",
            "INVALID_ARGUMENTS",
            "must be a constant expression",
        ),
        (
            "for timestamp as of cast(getenv('HOME') as timestamp)",
            "INVALID_ARGUMENTS",
            "must be a constant expression",
        ),
        (
            "for timestamp as of cast(repeat('x', 1000000000) as timestamp)",
            "INVALID_ARGUMENTS",
            "must be a constant expression",
        ),
        (
            "for timestamp as of 'not a time'",
            "INVALID_ARGUMENTS",
            "FOR TIMESTAMP AS OF needs a timestamp",
        ),
    ],
)
def test_bad_time_travel_is_refused_clearly(
    iceberg_lake: IcebergLake, clause: str, code: str, message: str
) -> None:
    with pytest.raises(AthenaQueryError) as refused:
        rows(iceberg_lake, f"select count(*) from silver.orders {clause}")
    assert refused.value.code == code
    assert message in str(refused.value)


def test_metadata_tables_describe_the_table(iceberg_lake: IcebergLake) -> None:
    snapshots = rows(
        iceberg_lake,
        'select snapshot_id, parent_id, operation, summary from silver."orders$snapshots" '
        "order by committed_at, snapshot_id",
    )
    ids = [s[0] for s in snapshots]
    assert {iceberg_lake.snapshots[n] for n in ("first", "second", "third")} <= set(ids)
    assert snapshots[0][1] is None
    assert ids[-1] == iceberg_lake.snapshots["third"]
    assert snapshots[-1][3]["total-records"] == str(iceberg_lake.expected("third")[0])
    history = rows(
        iceberg_lake,
        'select snapshot_id, is_current_ancestor from silver."orders$history" '
        "order by made_current_at",
    )
    assert history[-1] == (iceberg_lake.snapshots["third"], True)
    files = one(iceberg_lake, 'select count(*), sum(record_count) from silver."orders$files"')
    assert files[1] == iceberg_lake.expected("third")[0]
    partitions = rows(
        iceberg_lake,
        f"select partition.{BUCKET_FIELD}, record_count, file_count "
        'from silver."orders$partitions" order by 1',
    )
    per_bucket: dict[int, int] = {}
    for slug, tenant_id in TENANTS.items():
        bucket = bucket_of(tenant_id)
        per_bucket[bucket] = per_bucket.get(bucket, 0) + iceberg_lake.expected("third", slug)[0]
    assert [(p[0], p[1]) for p in partitions] == sorted(per_bucket.items())
    assert sum(p[2] for p in partitions) == files[0]


def test_metadata_tables_have_athenas_columns(iceberg_lake: IcebergLake) -> None:
    expected = {
        "snapshots": [
            "committed_at",
            "snapshot_id",
            "parent_id",
            "operation",
            "manifest_list",
            "summary",
        ],
        "history": ["made_current_at", "snapshot_id", "parent_id", "is_current_ancestor"],
        "partitions": ["partition", "record_count", "file_count", "total_size"],
    }
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        for kind, columns in expected.items():
            result = engine.execute(f'select * from silver."orders${kind}"')[0]
            assert list(result.columns) == columns
        files = engine.execute('select * from silver."orders$files"')[0]
    assert list(files.columns)[:5] == [
        "content",
        "file_path",
        "file_format",
        "record_count",
        "file_size_in_bytes",
    ]


def test_other_metadata_tables_are_refused_by_name(iceberg_lake: IcebergLake) -> None:
    with pytest.raises(AthenaQueryError) as refused:
        rows(iceberg_lake, 'select * from silver."orders$manifests"')
    assert refused.value.code == "NOT_SUPPORTED"
    assert '"orders$manifests" is not available' in str(refused.value)


def test_a_tenant_sees_only_its_own_figures_in_metadata_tables(iceberg_lake: IcebergLake) -> None:
    # acme's bucket holds initech's rows too: acme sees its bucket with its own row count,
    # never the bucket's totals, sizes or bounds.
    partitions = rows(
        iceberg_lake,
        f"select partition.{BUCKET_FIELD}, record_count, file_count, total_size "
        'from silver."orders$partitions"',
        "acme",
    )
    assert len(partitions) == 1
    bucket, records, file_count, size = partitions[0]
    assert (bucket, records, size) == (
        bucket_of(ACME),
        iceberg_lake.expected("third", "acme")[0],
        None,
    )
    files = rows(
        iceberg_lake,
        "select record_count, file_size_in_bytes, value_counts, lower_bounds, upper_bounds "
        'from silver."orders$files"',
        "acme",
    )
    assert len(files) == file_count
    assert sum(f[0] for f in files) == iceberg_lake.expected("third", "acme")[0]
    assert {f[1:] for f in files} == {(None, None, None, None)}
    # Snapshot ids and times (for time travel) but not the table-wide totals of other tenants.
    snapshots = rows(
        iceberg_lake,
        'select snapshot_id, manifest_list, summary from silver."orders$snapshots"',
        "acme",
    )
    assert iceberg_lake.snapshots["third"] in {s[0] for s in snapshots}
    assert {(s[1], s[2]) for s in snapshots} == {(None, None)}


def test_plain_parquet_tables_still_read_and_cannot_time_travel(iceberg_lake: IcebergLake) -> None:
    # A lake written before silver became Iceberg: Hive-partitioned Parquet, dispatched by type.
    folder = iceberg_lake.root / "silver" / "legacy" / f"tenant_id={ACME}"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.table({"id": ["a", "b"], "amount": pa.array([Decimal("1.10"), Decimal("2.20")])}),
        folder / "part-0.parquet",
    )
    crawl(iceberg_lake.settings, ["silver"])
    assert one(iceberg_lake, "select count(*), sum(amount) from silver.legacy") == (
        2,
        Decimal("3.30"),
    )
    assert one(iceberg_lake, COUNT_SUM) == iceberg_lake.expected("third")
    with pytest.raises(AthenaQueryError) as refused:
        rows(iceberg_lake, "select count(*) from silver.legacy for version as of 1")
    assert refused.value.code == "NOT_SUPPORTED"
    with pytest.raises(AthenaQueryError) as missing:
        rows(iceberg_lake, 'select count(*) from silver."legacy$files"')
    assert missing.value.code == "TABLE_NOT_FOUND"


def test_metadata_listing_files_outside_the_table_is_refused(iceberg_lake: IcebergLake) -> None:
    # A table folder whose metadata points at another table's files (copied metadata, or a
    # hostile one): the engine reads only files inside the table's own location.
    shutil.copytree(
        iceberg_lake.root / "silver" / "orders" / "metadata",
        iceberg_lake.root / "silver" / "evil" / "metadata",
    )
    crawl(iceberg_lake.settings, ["silver"])
    with pytest.raises(AthenaQueryError) as refused:
        rows(iceberg_lake, "select count(*) from silver.evil")
    assert refused.value.code == "ACCESS_DENIED"
    assert "outside its location" in str(refused.value)


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import pyarrow as pa
    from pyiceberg.expressions import EqualTo
    from tests.support.iceberg_catalog import HadoopCatalog
    from tests.support.lake_iceberg import ORDERS_ARROW, TENANTS, order_rows

    catalog = HadoopCatalog(Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        # Each commit replaces acme's partition with 3 rows of the same sum but new ids: a
        # reader that saw two commits at once would count 0 or 6.
        batch = order_rows(100_000 + 10 * i, 3, "acme", 10000)
        catalog.load_table("silver.orders").overwrite(
            pa.Table.from_pylist(batch, schema=ORDERS_ARROW),
            overwrite_filter=EqualTo("tenant_id", TENANTS["acme"]),
        )
    print("done", flush=True)
    """
)


def test_readers_never_fail_while_another_process_commits(iceberg_lake: IcebergLake) -> None:
    commits = 25
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(iceberg_lake.root), str(commits)],
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acme_answer = iceberg_lake.expected("third", "acme")  # 3 rows, the same sum every commit
    others = tuple(x - y for x, y in zip(iceberg_lake.expected("third"), acme_answer, strict=True))
    answers: list[tuple[Any, ...]] = []
    snapshots: set[int] = set()
    try:
        while writer.poll() is None or len(answers) < 5:
            with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
                result = engine.execute(
                    f"select tenant_id = '{ACME}', count(*), sum(amount), "
                    "count(distinct order_id - order_id % 10) from silver.orders "
                    "group by 1 order by 1"
                )[0]
                snap = engine.execute(
                    'select max_by(snapshot_id, committed_at) from silver."orders$snapshots"'
                )[0]
            answers.append(tuple(result.rows))
            snapshots.add(snap.rows[0][0])
            if writer.poll() is not None and len(answers) >= 5:
                break
    finally:
        out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert out.strip() == "done"
    for answer in answers:
        # Every read is one whole snapshot: acme's 3 rows of one commit, the others untouched.
        (_, *rest), (_, *mine) = answer
        assert tuple(rest[:2]) == others
        assert tuple(mine[:2]) == acme_answer
        assert mine[2] == 1  # the 3 rows come from one commit (ids 10*i .. 10*i+2)
    assert len(answers) >= 5
    assert len(snapshots) >= 2, "the reader should have seen the writer's commits"


def test_an_added_column_reads_null_for_older_rows(iceberg_lake: IcebergLake) -> None:
    from pyiceberg.types import StringType

    with iceberg_lake.orders().update_schema() as update:
        update.add_column("channel", StringType())
    schema = ORDERS_ARROW.append(pa.field("channel", pa.string()))
    more = [{**r, "channel": "web"} for r in order_rows(8000, 5, "initech", 700)]
    iceberg_lake.orders().append(pa.Table.from_pylist(more, schema=schema))
    count = iceberg_lake.expected("third")[0]
    assert one(iceberg_lake, "select count(*), count(channel) from silver.orders") == (count + 5, 5)
    assert rows(
        iceberg_lake, "select distinct channel from silver.orders order by 1 nulls first"
    ) == [
        (None,),
        ("web",),
    ]
    # The older snapshot has the older schema, as Athena's time travel does.
    third = iceberg_lake.snapshots["third"]
    with pytest.raises(AthenaQueryError) as refused:
        rows(iceberg_lake, f"select channel from silver.orders for version as of {third}")
    assert refused.value.code == "COLUMN_NOT_FOUND"


def test_crawl_and_athena_commands_on_an_iceberg_lake(tmp_path: Path) -> None:
    built = build_lake(tmp_path / "lake", "iceberg", crawled=False)
    env = {**os.environ, "LAKEHOUSE_LAKE": built.settings.lake_uri, "COLUMNS": "200"}

    def lakehouse(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lakehouse.cli.main", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    crawled = lakehouse("crawl", "--database", "silver")
    assert crawled.returncode == 0, crawled.stderr
    line = next(x for x in crawled.stdout.splitlines() if "silver.orders" in x)
    # format iceberg, 5 columns, no partitions to register
    # Rich draws the table with box characters on a terminal, with | in a pipe.
    cells = [c.strip() for c in re.split(r"[│|]", line.strip("│| "))]
    assert cells[1:4] == ["iceberg", "5", "-"]
    first = built.snapshots["first"]
    done = lakehouse(
        "athena",
        "--tenant",
        "acme",
        "--format",
        "csv",
        f"select count(*) as n from silver.orders for version as of {first}",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].strip('"') == str(built.expected("first", "acme")[0])
    bad = lakehouse("athena", "select count(*) from silver.orders for version as of 42")
    assert bad.returncode == 1
    assert "INVALID_ARGUMENTS" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr


def test_a_table_without_snapshots_reads_empty(iceberg_lake: IcebergLake) -> None:
    # As Terraform creates them on AWS before the first job run: columns, no snapshot.
    from tests.support.lake_iceberg import ORDERS_SCHEMA, tenant_spec

    iceberg_lake.catalog.create_table(
        "silver.refunds", ORDERS_SCHEMA, partition_spec=tenant_spec(ORDERS_SCHEMA)
    )
    crawl(iceberg_lake.settings, ["silver"])
    assert one(iceberg_lake, "select count(*), sum(amount) from silver.refunds") == (0, None)
    assert one(iceberg_lake, "select count(*) from silver.refunds", tenant="acme") == (0,)
    assert rows(iceberg_lake, 'select * from silver."refunds$snapshots"') == []
