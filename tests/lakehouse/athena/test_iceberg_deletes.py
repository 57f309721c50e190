"""Merge-on-read: every local reader applies the position deletes the silver ``MERGE`` writes.

``silver.invoices`` is written by the jobs' own writers (``lakehouse_glue.iceberg.replace`` and
``merge``, with the jobs' table properties) in a Spark session: 12 invoices for each of three
tenants, then two ``MERGE`` commits that update, delete and insert rows, the second deleting and
updating rows the first had updated (so deletes land on data files of two commits). The expected
rows are kept here in Python. A reader that ignored the delete files would show a deleted row, or
an updated row twice (its old and new version), and fail these tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue.maintenance import maintain
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog import iceberg
from lakehouse.catalog.crawler import crawl
from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import ensure_stubs_on_path
from lakehouse.reconcile import silver_metrics

TENANTS = (
    "00000000-0000-4000-8000-0000000000a1",
    "00000000-0000-4000-8000-0000000000b2",
    "00000000-0000-4000-8000-0000000000c3",
)
COLUMNS = (
    "id string, tenant_id string, status string, amount decimal(12,2), "
    "subscription_id string, order_id string, paid_at timestamp, updated_at timestamp"
)
NAMES = [c.split()[0] for c in COLUMNS.split(", ")]
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
Row = tuple[Any, ...]

MERGE = (
    "merge into {target} t using {source} s "
    "on t.tenant_id = s.tenant_id and t.id = s.id "
    "when matched and s.op = 'D' then delete "
    f"when matched then update set {', '.join(f't.{n} = s.{n}' for n in NAMES)} "
    f"when not matched and s.op <> 'D' then insert ({', '.join(NAMES)}) "
    f"values ({', '.join(f's.{n}' for n in NAMES)})"
)


def _invoice(tenant: int, n: int, amount: str, status: str = "open") -> Row:
    paid = AT if n % 3 == 0 else None
    return (
        f"inv-{tenant}-{n:02d}",
        TENANTS[tenant],
        status,
        Decimal(amount),
        None if n % 2 else f"sub-{n}",
        f"ord-{n}",
        paid,
        AT.replace(day=1 + n % 27),
    )


@dataclass
class MorLake:
    settings: Settings
    table: ice.Table
    snapshots: dict[str, int]
    rows: dict[str, dict[str, Row]]  # state name -> id -> row

    @property
    def folder(self) -> Path:
        return Path(self.settings.silver_uri) / "invoices"


def _apply(spark: SparkSession, lake: MorLake, name: str, changes: list[tuple[str, Row]]) -> None:
    source = spark.createDataFrame([(op, *row) for op, row in changes], f"op string, {COLUMNS}")
    ice.merge(spark, lake.table, source, MERGE)
    state = dict(lake.rows[list(lake.rows)[-1]])
    for op, row in changes:
        if op == "D":
            state.pop(row[0], None)
        else:
            state[row[0]] = row
    lake.rows[name] = state
    lake.snapshots[name] = int(ice.current_snapshot_id(spark, lake.table) or 0)


@pytest.fixture(scope="module")
def mor_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> MorLake:
    root = tmp_path_factory.mktemp("mor")
    settings = Settings(lake=str(root / "lake"), state_dir=root / "state")
    catalog = register_lake_catalog(spark, settings)
    # A tenant session resolves its tenant in silver.tenants.
    ice.replace(
        spark,
        ice.silver_table(catalog, settings.silver_uri, "tenants", "id"),
        spark.createDataFrame(
            [(t, t, f"tenant-{n}") for n, t in enumerate(TENANTS)],
            "id string, tenant_id string, slug string",
        ),
    )
    table = ice.silver_table(catalog, settings.silver_uri, "invoices", "id")
    initial = [_invoice(t, n, f"{100 * t + n}.25") for t in range(3) for n in range(12)]
    ice.replace(spark, table, spark.createDataFrame(initial, COLUMNS))
    lake = MorLake(
        settings,
        table,
        {"initial": int(ice.current_snapshot_id(spark, table) or 0)},
        {"initial": {r[0]: r for r in initial}},
    )
    _apply(
        spark,
        lake,
        "first",
        [
            *[("U", _invoice(0, n, f"{n}.99", "paid")) for n in (1, 4, 7)],
            *[("D", _invoice(1, n, "0")) for n in (2, 3, 11)],
            ("I", _invoice(2, 40, "4000.40")),
            ("U", _invoice(2, 5, "555.55", "void")),
        ],
    )
    _apply(
        spark,
        lake,
        "second",
        [
            ("D", _invoice(0, 4, "0")),  # updated by the first merge: its new file's row goes
            ("U", _invoice(0, 7, "77.77", "refunded")),  # updated twice
            ("D", _invoice(2, 40, "0")),  # inserted by the first merge
            ("U", _invoice(1, 0, "10.01")),
            ("I", _invoice(1, 41, "41.41")),
        ],
    )
    crawl(settings, ["silver"])
    return lake


def _query(lake: MorLake, sql: str, tenant: str | None = None) -> list[Row]:
    with AthenaEngine(lake.settings, tenant=tenant, save_results=False) as engine:
        return engine.execute(sql)[-1].rows


def _expected(lake: MorLake, state: str, tenant: str | None = None) -> list[Row]:
    rows = lake.rows[state].values()
    return sorted((r[0], r[1], r[2], r[3]) for r in rows if tenant is None or r[1] == tenant)


SELECT = "select id, tenant_id, status, amount from silver.invoices"


def test_the_merges_wrote_position_deletes_not_whole_files(mor_lake: MorLake) -> None:
    table = iceberg.load_table(mor_lake.folder)
    planned = list(iceberg.scan_files(table, table.current_snapshot()))
    assert any(task.deletes for task in planned)
    # The deleted and replaced rows are still in the data files: only the deletes hide them.
    stored = sum(task.data.file.record_count for task in planned)
    assert stored > len(mor_lake.rows["second"])


def test_the_engine_applies_deletes_to_the_current_snapshot(mor_lake: MorLake) -> None:
    expected = _expected(mor_lake, "second")
    assert _query(mor_lake, f"{SELECT} order by id") == expected
    # Planned once, then read from the kept plan: the same rows.
    assert _query(mor_lake, f"{SELECT} order by id") == expected
    total = sum((r[3] for r in expected), Decimal("0.00"))
    assert _query(mor_lake, "select count(*), sum(amount) from silver.invoices") == [
        (len(expected), total)
    ]


def test_time_travel_applies_the_deletes_of_that_snapshot(mor_lake: MorLake) -> None:
    for state in ("initial", "first", "second"):
        sql = f"{SELECT} for version as of {mor_lake.snapshots[state]} order by id"
        assert _query(mor_lake, sql) == _expected(mor_lake, state)


def test_a_tenant_session_applies_deletes_to_its_rows_only(mor_lake: MorLake) -> None:
    for tenant in TENANTS:
        got = _query(mor_lake, f"{SELECT} order by id", tenant=tenant)
        assert got == _expected(mor_lake, "second", tenant)
        sql = f"{SELECT} for version as of {mor_lake.snapshots['first']} order by id"
        assert _query(mor_lake, sql, tenant=tenant) == _expected(mor_lake, "first", tenant)


def test_reconcile_counts_the_rows_after_deletes(mor_lake: MorLake) -> None:
    entity = load_declaration().entity("invoices")
    got = silver_metrics(mor_lake.settings.silver_uri, entity)
    rows = mor_lake.rows["second"].values()
    for tenant in TENANTS:
        mine = [r for r in rows if r[1] == tenant]
        assert got[tenant][0] == len(mine)
        assert got[tenant][1] == sum((r[3] for r in mine), Decimal("0.00"))
    assert set(got) == set(TENANTS)


def test_the_glue_stub_applies_deletes_to_a_file_read(
    spark: SparkSession, mor_lake: MorLake
) -> None:
    ensure_stubs_on_path()
    from awsglue.context import _without_deleted

    table = iceberg.load_table(mor_lake.folder)
    planned = list(iceberg.scan_files(table, table.current_snapshot()))
    data = spark.read.parquet(*[str(t.data.path) for t in planned])
    deletes = sorted({str(d.path) for t in planned for d in t.deletes})
    got = _without_deleted(spark, data, deletes).select("id", "tenant_id", "status", "amount")
    assert sorted(tuple(r) for r in got.collect()) == _expected(mor_lake, "second")


def test_compaction_folds_the_deletes_in_and_keeps_the_answer(
    spark: SparkSession, mor_lake: MorLake
) -> None:
    before = _query(mor_lake, f"{SELECT} order by id")
    now = datetime.now(UTC).replace(tzinfo=None)
    maintain(
        spark,
        mor_lake.table,
        expire_before=now.replace(year=2000),
        retain_last=100,
        orphans_before=now.replace(year=2000),
    )
    table = iceberg.load_table(mor_lake.folder)
    planned = list(iceberg.scan_files(table, table.current_snapshot()))
    assert not any(task.deletes for task in planned)
    # No delete file is left at all, not even one that applies to no live data file.
    live = list(iceberg.live_files(table, table.current_snapshot()))
    assert len(live) == len(planned), [f.path for f in live]
    assert sum(t.data.file.record_count for t in planned) == len(mor_lake.rows["second"])
    assert _query(mor_lake, f"{SELECT} order by id") == before == _expected(mor_lake, "second")
