"""Kept tenant sessions (lakehouse.athena.pool): reused for the same tenant and snapshots only.

Hostile first: a session kept for one tenant never answers for another, never outlives a commit
to a table it copied, is retired when its tenant leaves the tenants table, lets nothing a
request does reach the next request, and is as locked as a new session. Then the point of it:
a second request of the same tenant builds nothing. The lake is the pyiceberg one of the plan
tests (three tenants, acme and initech sharing a bucket) plus a gold table; every expected
answer is computed from the Python rows.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.expressions import EqualTo
from pyiceberg.schema import Schema
from pyiceberg.types import DecimalType, NestedField, StringType

from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from lakehouse.athena.pool import SessionKey, SessionPool
from lakehouse.athena.session import Limits, Session
from lakehouse.catalog.crawler import crawl
from lakehouse.errors import LakehouseError
from tests.support.lake import Lake as AthenaLake
from tests.support.lake import build_lake
from tests.support.lake_iceberg import (
    TENANTS,
    IcebergLake,
    bucket_of,
    tenant_spec,
)

REVENUE_SCHEMA = Schema(
    NestedField(1, "tenant_id", StringType(), required=False),
    NestedField(2, "revenue_date", StringType(), required=False),
    NestedField(3, "net_revenue", DecimalType(12, 2), required=False),
)
REVENUE_ARROW = pa.schema(
    [
        pa.field("tenant_id", pa.string()),
        pa.field("revenue_date", pa.string()),
        pa.field("net_revenue", pa.decimal128(12, 2)),
    ]
)
PAGE = "select count(*), sum(net_revenue) from gold.revenue"


@dataclass
class Lake:
    """The Iceberg lake with ``gold.revenue``, whose rows per tenant are kept here."""

    iceberg: IcebergLake
    revenue: dict[str, list[dict[str, Any]]]

    def expected(self, slug: str) -> list[tuple[int, Decimal | None]]:
        rows = self.revenue[slug]
        return [(len(rows), sum((r["net_revenue"] for r in rows), Decimal("0.00")) or None)]

    def rewrite(self, slug: str, rows: list[dict[str, Any]]) -> None:
        """Replace a tenant's gold rows in one commit, as a gold job's rerun does."""
        table = self.iceberg.catalog.load_table("gold.revenue")
        table.overwrite(
            pa.Table.from_pylist(rows, schema=REVENUE_ARROW),
            overwrite_filter=EqualTo("tenant_id", TENANTS[slug]),
        )
        self.revenue[slug] = rows


def revenue_rows(slug: str, days: int, cents: int) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": TENANTS[slug],
            "revenue_date": f"2026-01-{d + 1:02d}",
            "net_revenue": Decimal(cents + d) / 100,
        }
        for d in range(days)
    ]


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    built = build_lake(tmp_path / "lake", "iceberg", crawled=False)
    gold = built.catalog.create_table(
        "gold.revenue",
        REVENUE_SCHEMA,
        partition_spec=tenant_spec(REVENUE_SCHEMA),
        properties={
            "format-version": "2",
            "write.merge.mode": "copy-on-write",
            "write.metadata.metrics.column.tenant_id": "full",
        },
    )
    revenue = {slug: revenue_rows(slug, 3 + i, 1000 * (i + 1)) for i, slug in enumerate(TENANTS)}
    gold.append(
        pa.Table.from_pylist([r for rows in revenue.values() for r in rows], schema=REVENUE_ARROW)
    )
    crawl(built.settings, ["silver", "gold"])
    return Lake(iceberg=built, revenue=revenue)


def ask(lake: Lake, pool: SessionPool, slug: str, sql: str = PAGE) -> list[tuple[Any, ...]]:
    with AthenaEngine(
        lake.iceberg.settings, tenant=slug, save_results=False, sessions=pool
    ) as engine:
        return engine.execute(sql)[0].rows


def kept_session(pool: SessionPool, slug: str) -> Session:
    (session,) = [e.session for k, e in pool._entries.items() if k.tenant_id == TENANTS[slug]]
    return session


# -- never the wrong tenant, never stale, never leaking --------------------------------------


def test_a_kept_session_never_answers_for_another_tenant(lake: Lake) -> None:
    pool = SessionPool()
    for slug in ("acme", "globex", "initech", "acme", "globex", "initech"):
        with AthenaEngine(
            lake.iceberg.settings, tenant=slug, save_results=False, sessions=pool
        ) as engine:
            assert engine.execute(PAGE)[0].rows == lake.expected(slug), slug
            (own,) = engine.execute("select distinct tenant_id from gold.revenue")[0].rows
            assert own == (TENANTS[slug],)
            assert engine._lease is not None
            assert engine._lease.session.tenant_id == TENANTS[slug]
    assert pool.builds == 3
    assert pool.kept_tenants() == set(TENANTS.values())


def test_a_key_for_one_tenant_never_lends_another_tenants_session(lake: Lake) -> None:
    """Even if a caller built the wrong session for a key, the pool refuses to keep it."""
    pool = SessionPool()
    root = Path(lake.iceberg.settings.lake_uri)
    wrong = Session(TENANTS["acme"], root, Limits())
    wrong.lock_down()
    key = SessionKey(root, TENANTS["globex"], Limits().memory_limit, False, ())
    with pytest.raises(AthenaQueryError) as refused:
        pool.lease(key, lambda: wrong)
    assert refused.value.code == "ACCESS_DENIED"
    assert not wrong.temp_dir.exists()  # closed, not kept
    assert len(pool) == 0
    unlocked = Session(TENANTS["globex"], root, Limits())
    with pytest.raises(AthenaQueryError):
        pool.lease(key, lambda: unlocked)
    assert len(pool) == 0


def test_a_gold_table_rewritten_between_two_requests_gives_the_new_numbers(lake: Lake) -> None:
    pool = SessionPool()
    assert ask(lake, pool, "acme") == lake.expected("acme")
    before = kept_session(pool, "acme")
    lake.rewrite("acme", revenue_rows("acme", 5, 77_700))
    assert ask(lake, pool, "acme") == lake.expected("acme") == [(5, Decimal("3885.10"))]
    assert pool.builds == 2
    # The stale session is retired and closed, not kept beside the new one.
    assert len(pool) == 1
    assert kept_session(pool, "acme") is not before
    assert not before.temp_dir.exists()


def test_an_all_tenant_engine_reads_a_commit_made_between_two_of_its_calls(lake: Lake) -> None:
    # The all-tenant session serves every call of its engine: its views must follow the
    # table's current snapshot, never stay on the files of the first call's snapshot.
    every = "select count(*), sum(net_revenue) from gold.revenue"

    def expected() -> list[tuple[int, Decimal]]:
        rows = [r for tenant_rows in lake.revenue.values() for r in tenant_rows]
        return [(len(rows), sum((r["net_revenue"] for r in rows), Decimal("0.00")))]

    with AthenaEngine(lake.iceberg.settings, save_results=False) as engine:
        assert engine.execute(every)[0].rows == expected()
        lake.rewrite("acme", revenue_rows("acme", 5, 77_700))
        assert engine.execute(every)[0].rows == expected() == [(14, Decimal("4115.26"))]
        # An unchanged table is not made again; the same engine still reads it.
        assert engine.execute(f"{every} where tenant_id <> ''")[0].rows == expected()


def test_a_commit_that_leaves_a_tenants_files_alone_keeps_its_session(lake: Lake) -> None:
    """acme's plan names the same files after a commit to globex's bucket: same rows."""
    assert bucket_of(TENANTS["acme"]) != bucket_of(TENANTS["globex"])
    pool = SessionPool()
    assert ask(lake, pool, "acme") == lake.expected("acme")
    assert ask(lake, pool, "globex") == lake.expected("globex")
    lake.rewrite("globex", revenue_rows("globex", 9, 5))
    assert ask(lake, pool, "acme") == lake.expected("acme")
    assert pool.builds == 2
    assert ask(lake, pool, "globex") == lake.expected("globex") == [(9, Decimal("0.81"))]
    assert pool.builds == 3


def test_an_offboarded_tenant_is_never_served_from_a_kept_session(lake: Lake) -> None:
    """acme's rows leave the tenants and gold tables (as `lakehouse tenants offboard` does):
    acme no longer resolves, and its kept session is closed, even one still lent out."""
    pool = SessionPool()
    assert ask(lake, pool, "acme") == lake.expected("acme")
    assert ask(lake, pool, "globex") == lake.expected("globex")
    acme = kept_session(pool, "acme")
    holder = AthenaEngine(lake.iceberg.settings, tenant="acme", save_results=False, sessions=pool)
    holder.execute(PAGE)  # a request of acme still running while it is offboarded
    catalog = lake.iceberg.catalog
    for name in ("silver.tenants", "gold.revenue"):
        catalog.load_table(name).delete(EqualTo("tenant_id", TENANTS["acme"]))
    lake.revenue["acme"] = []
    with pytest.raises(LakehouseError, match="no tenant with slug or id 'acme'"):
        AthenaEngine(lake.iceberg.settings, tenant="acme", save_results=False, sessions=pool)
    assert TENANTS["acme"] not in pool.kept_tenants()
    assert acme.temp_dir.exists()  # still lent out: closed when the request ends
    holder.close()
    assert not acme.temp_dir.exists()
    assert ask(lake, pool, "globex") == lake.expected("globex")


def test_a_kept_session_is_as_locked_as_a_new_one(lake: Lake, tmp_path: Path) -> None:
    pool = SessionPool()
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    leak = pa.table({"secret": ["every tenant"]})  # a Python object DuckDB could scan by name
    gold_file = next(Path(lake.iceberg.settings.gold_uri).rglob("*.parquet"))
    ask(lake, pool, "acme")
    with AthenaEngine(
        lake.iceberg.settings, tenant="acme", save_results=False, sessions=pool
    ) as engine:
        engine.execute(PAGE)
        assert pool.builds == 1  # this is the kept session, lent out again
        con = engine._con

        def refused(attack: str, error: type[duckdb.Error]) -> None:
            # Each attack in a transaction of its own: a failed statement aborts the lease's
            # transaction, and every later statement would fail for that reason alone.
            con.rollback()
            con.begin()
            with pytest.raises(error) as caught:
                con.execute(attack).fetchall()
            assert "transaction is aborted" not in str(caught.value), attack

        for attack in (
            f"select * from read_csv('{secret}')",
            f"select * from system.main.read_parquet('{gold_file}')",
            f"select * from system.main.read_csv('{secret}')",
            "select * from glob('/*')",
            "select * from duckdb_settings()",
            "select * from query('select 1')",
            "select getenv('HOME')",
            f"select * from {leak.column_names[0]}",
            "select * from leak",
            f"attach '{tmp_path / 'evil.db'}' as evil",
        ):
            refused(attack, duckdb.Error)
        for attack in (
            "set enable_external_access = true",
            "set lock_configuration = false",
            "set python_enable_replacements = true",
        ):
            refused(attack, duckdb.InvalidInputException)


def test_nothing_a_request_does_reaches_the_next_request(lake: Lake) -> None:
    pool = SessionPool()
    with AthenaEngine(
        lake.iceberg.settings, tenant="acme", save_results=False, sessions=pool
    ) as engine:
        engine.execute(PAGE)
        # Below the guard (which lets only queries through): a write, and a planted macro.
        engine._con.execute("delete from gold.revenue")
        engine._con.execute("create macro main.planted() as 1")
        assert engine._con.execute("select count(*) from gold.revenue").fetchall() == [(0,)]
    with AthenaEngine(
        lake.iceberg.settings, tenant="acme", save_results=False, sessions=pool
    ) as engine:
        assert engine.execute(PAGE)[0].rows == lake.expected("acme")
        assert pool.builds == 1
        with pytest.raises(duckdb.Error):
            engine._con.execute("select main.planted()")
        # A statement that ends the lease's transaction itself: the session is not lent again.
        engine._con.execute("commit")
        session = engine._lease.session if engine._lease else None
    assert session is not None
    assert not session.temp_dir.exists()
    assert ask(lake, pool, "acme") == lake.expected("acme")
    assert pool.builds == 2


def test_concurrent_requests_of_several_tenants_each_get_their_own_rows(lake: Lake) -> None:
    pool = SessionPool()
    slugs = list(TENANTS) * 12
    answers: dict[int, list[tuple[Any, ...]]] = {}
    lock = threading.Lock()

    def request(i: int) -> None:
        rows = ask(lake, pool, slugs[i])
        with lock:
            answers[i] = rows

    with ThreadPoolExecutor(max_workers=6) as threads:
        list(threads.map(request, range(len(slugs))))
    for i, slug in enumerate(slugs):
        assert answers[i] == lake.expected(slug), slug
    assert pool.kept_tenants() == set(TENANTS.values())
    assert len(pool) == 3
    assert all(e.leases == 0 for e in pool._entries.values())


# -- reuse, and its bounds ----------------------------------------------------------------


def test_the_second_request_of_a_tenant_reuses_its_session(lake: Lake) -> None:
    pool = SessionPool()
    for _ in range(3):
        assert ask(lake, pool, "initech") == lake.expected("initech")
    assert pool.builds == 1
    assert pool.directory_reads == 1
    # Another page of the same tenant (other tables) is another session, kept too.
    orders = "select count(*) from silver.orders"
    count, _ = lake.iceberg.expected("third", "initech")
    assert ask(lake, pool, "initech", orders) == [(count,)]
    assert ask(lake, pool, "initech", orders) == [(count,)]
    assert pool.builds == 2


def test_the_pool_is_bounded_by_count_and_idle_time(lake: Lake) -> None:
    pool = SessionPool(max_sessions=1)
    ask(lake, pool, "acme")
    acme = kept_session(pool, "acme")
    ask(lake, pool, "globex")
    assert pool.kept_tenants() == {TENANTS["globex"]}
    assert not acme.temp_dir.exists()

    none_kept = SessionPool(max_sessions=0)
    for _ in range(2):
        assert ask(lake, none_kept, "acme") == lake.expected("acme")
    assert none_kept.builds == 2
    assert len(none_kept) == 0

    idle = SessionPool(idle_seconds=1e-6)
    ask(lake, idle, "acme")
    acme = kept_session(idle, "acme")
    ask(lake, idle, "globex")
    assert TENANTS["acme"] not in idle.kept_tenants()
    assert not acme.temp_dir.exists()


def test_reads_of_files_that_can_change_are_never_kept(athena_lake: AthenaLake) -> None:
    """Parquet folders and bronze CSV may change under the same name: a new session each."""
    pool = SessionPool()
    sql = "select count(*) from silver.orders, bronze.customers"
    with AthenaEngine(athena_lake.settings, tenant="acme", save_results=False) as engine:
        expected = engine.execute(sql)[0].rows
    for _ in range(2):
        with AthenaEngine(
            athena_lake.settings, tenant="acme", save_results=False, sessions=pool
        ) as engine:
            assert engine.execute(sql)[0].rows == expected
            assert engine._lease is None
    assert pool.builds == 0
    assert len(pool) == 0


def test_the_catalog_is_read_again_only_when_a_document_changed(lake: Lake) -> None:
    pool = SessionPool()
    for _ in range(3):
        assert ask(lake, pool, "acme") == lake.expected("acme")
    assert pool.catalog_reads == 1
    # A crawl rewrites the catalog's documents: read again, same answer.
    crawl(lake.iceberg.settings, ["gold"])
    assert ask(lake, pool, "acme") == lake.expected("acme")
    assert pool.catalog_reads == 2
    # Time travel through a kept catalog still finds the snapshot asked for.
    snapshot = lake.iceberg.snapshots["first"]
    travel = f"select count(*) from silver.orders for version as of {snapshot}"
    first, _ = lake.iceberg.expected("first", "acme")
    assert ask(lake, pool, "acme", travel) == [(first,)]


def test_a_table_removed_from_the_catalog_is_not_found_any_more(lake: Lake) -> None:
    pool = SessionPool()
    assert ask(lake, pool, "acme") == lake.expected("acme")
    (Path(lake.iceberg.settings.catalog_uri) / "gold" / "revenue.json").unlink()
    with pytest.raises(AthenaQueryError) as refused:
        ask(lake, pool, "acme")
    assert refused.value.code == "TABLE_NOT_FOUND"


def test_a_kept_session_answers_as_text_with_the_same_values(lake: Lake) -> None:
    # The CLI's way (execute(..., as_text=True)) through a kept, locked tenant session: DuckDB
    # casts the tenant's rows to text in the session's own cursor, and nothing else changes.
    from lakehouse.athena.fetch import ResultText

    pool = SessionPool()
    sql = "select tenant_id, revenue_date, net_revenue from gold.revenue order by revenue_date"
    for slug in TENANTS:
        with AthenaEngine(
            lake.iceberg.settings, tenant=slug, save_results=False, sessions=pool
        ) as engine:
            (values,) = engine.execute(sql)
            (text,) = engine.execute(sql, as_text=True)
        assert isinstance(text.values, ResultText)
        assert text.text_rows() == values.text_rows()
        assert text.rows == values.rows
        assert [r[2] for r in text.rows] == [r["net_revenue"] for r in lake.revenue[slug]]
        assert {r[0] for r in text.rows} == {TENANTS[slug]}
    assert pool.builds == len(TENANTS)


def test_a_kept_session_fetches_a_large_result_asked_again_as_arrow(lake: Lake) -> None:
    # A lease runs on the kept session's memory of large results: the second request of the
    # same statement gets every row as Arrow columns, the same values and text.
    pool = SessionPool()
    sql = (
        "select r.tenant_id, r.revenue_date, r.net_revenue, s.k from gold.revenue as r "
        "cross join unnest(sequence(1, 40)) as s(k) order by s.k, r.revenue_date"
    )
    slug = "acme"
    expected = [
        (TENANTS[slug], r["revenue_date"], r["net_revenue"], k)
        for k in range(1, 41)
        for r in sorted(lake.revenue[slug], key=lambda r: str(r["revenue_date"]))
    ]
    assert len(expected) > 64
    results = []
    for _ in range(2):
        with AthenaEngine(
            lake.iceberg.settings, tenant=slug, save_results=False, sessions=pool
        ) as engine:
            (result,) = engine.execute(sql)
        results.append(result)
    assert pool.builds == 1
    assert [len(r.values._first) for r in results] == [64, 0]
    assert results[0].text_rows() == results[1].text_rows()
    assert [r.rows for r in results] == [expected, expected]
