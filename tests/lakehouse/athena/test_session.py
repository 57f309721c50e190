"""Sessions (lakehouse.athena.session): an all-tenant session keeps a snapshot it reads again
in memory, and only while it is the table's current snapshot.

Hostile first: a commit after the copy is read at the next call (the copy is dropped), a tenant
session never holds another tenant's rows however often it is asked, and a snapshot above the
size limit is never copied. Every expected answer is computed from the Python rows.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from lakehouse.athena import session as session_module
from lakehouse.athena.engine import AthenaEngine
from tests.support.lake_iceberg import ORDERS_ARROW, TENANTS, IcebergLake, order_rows

PER_TENANT = "select tenant_id, count(*), sum(amount) from silver.orders group by 1 order by 1"


def _per_tenant(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    out: dict[str, tuple[int, Decimal]] = {}
    for r in rows:
        count, total = out.get(str(r["tenant_id"]), (0, Decimal("0.00")))
        out[str(r["tenant_id"])] = (count + 1, total + Decimal(str(r["amount"])))
    return [(t, c, s) for t, (c, s) in sorted(out.items())]


def _kind(engine: AthenaEngine, name: str) -> str:
    """Whether the engine's session reads ``silver.<name>`` through a view or a kept table."""
    kinds = engine._con.execute(
        "select 'view' from duckdb_views() where schema_name = 'silver' and view_name = $1 "
        "union all "
        "select 'table' from duckdb_tables() where schema_name = 'silver' and table_name = $1",
        [name],
    ).fetchall()
    assert len(kinds) == 1, kinds
    return str(kinds[0][0])


def test_a_snapshot_read_again_is_kept_in_memory_until_a_commit(
    iceberg_lake: IcebergLake,
) -> None:
    rows = list(iceberg_lake.rows["third"])
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        assert engine.execute(PER_TENANT)[0].rows == _per_tenant(rows)
        assert _kind(engine, "orders") == "view"  # a one-off read copies nothing
        assert engine.execute(PER_TENANT)[0].rows == _per_tenant(rows)
        assert _kind(engine, "orders") == "table"
        assert engine.execute(PER_TENANT)[0].rows == _per_tenant(rows)
        # A commit between two calls: the kept copy is the old snapshot; it must not answer.
        more = order_rows(7000, 4, "globex", 100)
        iceberg_lake.orders().append(pa.Table.from_pylist(more, schema=ORDERS_ARROW))
        rows += more
        assert engine.execute(PER_TENANT)[0].rows == _per_tenant(rows)
        assert _kind(engine, "orders") == "view"
        assert engine.execute(PER_TENANT)[0].rows == _per_tenant(rows)
        assert _kind(engine, "orders") == "table"


def test_a_snapshot_above_the_size_limit_is_never_kept(
    iceberg_lake: IcebergLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "KEEP_TABLE_BYTES", 1)
    rows = iceberg_lake.rows["third"]
    with AthenaEngine(iceberg_lake.settings, save_results=False) as engine:
        for _ in range(3):
            assert engine.execute(PER_TENANT)[0].rows == _per_tenant(rows)
            assert _kind(engine, "orders") == "view"


def test_a_tenant_session_asked_again_and_again_holds_only_its_tenants_rows(
    iceberg_lake: IcebergLake,
) -> None:
    # acme shares its bucket with initech: the files planned for acme hold initech's rows.
    rows = [r for r in iceberg_lake.rows["third"] if r["tenant_id"] == TENANTS["acme"]]
    with AthenaEngine(iceberg_lake.settings, tenant="acme", save_results=False) as engine:
        for _ in range(3):
            assert engine.execute(PER_TENANT)[0].rows == _per_tenant(rows)
            held = engine._con.execute("select distinct tenant_id from silver.orders").fetchall()
            assert held == [(TENANTS["acme"],)]


# Every order twice (more rows than the 64 an engine fetches one by one), of the types kept as
# Arrow columns: integers, text, decimals, dates.
TWICE = (
    "select o.order_id, o.tenant_id, o.status, o.amount, cast(o.ordered_at as date) as day, "
    "s.k from silver.orders as o cross join unnest(sequence(1, 2)) as s(k) "
    "order by o.order_id, s.k"
)


def _twice(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    out = []
    for r in sorted(rows, key=lambda r: int(str(r["order_id"]))):
        day = r["ordered_at"].date()  # type: ignore[attr-defined]
        for k in (1, 2):
            out.append((r["order_id"], r["tenant_id"], r["status"], r["amount"], day, k))
    return out


def test_a_large_result_asked_again_is_fetched_as_arrow_with_the_same_csv(
    iceberg_lake: IcebergLake,
) -> None:
    # The session remembers that the statement's result was large: the next call fetches it as
    # Arrow columns from the first row, and its result CSV is the same, byte for byte.
    expected = _twice(iceberg_lake.rows["third"])
    assert len(expected) > 64
    with AthenaEngine(iceberg_lake.settings) as engine:
        results = [engine.execute(TWICE)[0] for _ in range(3)]
    assert [len(r.values._first) for r in results] == [64, 0, 0]
    csvs = [r.result_path.read_bytes() for r in results if r.result_path is not None]
    assert csvs == [csvs[0]] * 3
    assert csvs[0].count(b"\n") == len(expected) + 1
    for result in results:
        assert result.rows == expected
