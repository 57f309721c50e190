"""The simulator against a real PostgreSQL: every constraint and business invariant holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import psycopg
import pytest
from lakehouse_glue.model import load_declaration
from psycopg import sql

from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.source.seed import REFERENCE_TIME, row_counts, seed
from lakehouse.source.simulate import simulate
from tests.lakehouse.source.conftest import SEED, SMALL_SCALE


def _all(dsn: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def simulated(source_db: str) -> tuple[str, dict[str, int], object]:
    seed(source_db, scale=SMALL_SCALE, seed=SEED, reset=False)
    before = row_counts(source_db)
    stats = simulate(source_db, changes=4_000, seconds=None, rate=None, seed=11)
    return source_db, before, stats


def test_counts_match_what_the_simulator_reports(
    simulated: tuple[str, dict[str, int], object],
) -> None:
    dsn, before, stats = simulated
    after = row_counts(dsn)
    by_change: Counter[tuple[str, str]] = stats.by_change  # type: ignore[attr-defined]
    for table in after:
        expected = before[table] + by_change[(table, "insert")] - by_change[(table, "delete")]
        assert after[table] == expected, table
    assert stats.changes >= 4_000  # type: ignore[attr-defined]
    assert stats.changes == sum(by_change.values())  # type: ignore[attr-defined]
    # The mix: inserts, updates and deletes, on the tables that see business activity.
    for key in [
        ("orders", "insert"),
        ("orders", "update"),
        ("order_items", "insert"),
        ("order_items", "delete"),
        ("invoices", "insert"),
        ("invoices", "update"),
        ("customers", "update"),
        ("events", "insert"),
        ("subscriptions", "update"),
    ]:
        assert by_change[key] > 0, key


def test_business_invariants_hold_after_simulation(
    simulated: tuple[str, dict[str, int], object],
) -> None:
    dsn, _before, _stats = simulated
    assert (
        _all(
            dsn,
            """
        select o.id from orders o left join order_items i on i.order_id = o.id
        where o.status <> 'cancelled' group by o.id, o.subtotal
        having o.subtotal <> coalesce(sum(i.line_total), 0)
        """,
        )
        == []
    )
    assert _all(
        dsn,
        "select count(*) from orders o join order_items i on i.order_id = o.id "
        "where o.status = 'cancelled'",
    ) == [(0,)]
    assert _all(
        dsn,
        """
        select count(*) from invoices v join orders o on o.id = v.order_id
        where v.amount <> o.total or v.customer_id <> o.customer_id
           or (o.status = 'cancelled') <> (v.status = 'void')
           or (o.status in ('paid', 'shipped', 'completed', 'refunded')) <> (v.status = 'paid')
        """,
    ) == [(0,)]
    assert _all(
        dsn,
        """
        select count(*) from orders
        where (status in ('pending', 'cancelled')
               and (paid_at is not null or shipped_at is not null or completed_at is not null))
           or (status = 'paid' and (shipped_at is not null or completed_at is not null))
           or (status = 'shipped' and completed_at is not null)
           or paid_at < placed_at or shipped_at < paid_at or completed_at < shipped_at
        """,
    ) == [(0,)]
    assert _all(
        dsn,
        "select count(*) from subscriptions s where status = 'past_due' and not exists "
        "(select 1 from invoices v where v.subscription_id = s.id and v.status = 'overdue')",
    ) == [(0,)]
    for table in ("customers", "orders", "order_items", "subscriptions", "invoices", "events"):
        assert _all(dsn, f"select count(*) from {table} where updated_at < created_at") == [(0,)]
    # The simulated world moved on from the seeded one.
    moved = _all(
        dsn,
        f"select status, count(*) from orders where updated_at > '{REFERENCE_TIME.isoformat()}' "
        "group by 1 order by 1",
    )
    assert {"paid", "shipped", "completed"} <= {r[0] for r in moved}


def test_every_constraint_still_validates(
    simulated: tuple[str, dict[str, int], object],
) -> None:
    """Re-create every foreign key and check constraint: PostgreSQL re-checks all rows."""
    dsn, _before, _stats = simulated
    with psycopg.connect(dsn) as conn:
        defs = conn.execute(
            """
            select conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            from pg_constraint
            where contype in ('f', 'c') and conrelid::regclass::text = any(%s)
            """,
            (list(row_counts(dsn)),),
        ).fetchall()
        assert len(defs) > 40
        for table, name, definition in defs:
            conn.execute(
                sql.SQL("alter table {} drop constraint {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
            conn.execute(
                sql.SQL("alter table {} add constraint {} {}").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
        conn.rollback()


def test_rate_limits_the_pace(source_db: str) -> None:
    seed(source_db, scale=SMALL_SCALE, seed=SEED, reset=False)
    stats = simulate(source_db, changes=None, seconds=1.0, rate=150, seed=3)
    # One transaction may overshoot the budget by its own size (at most a few dozen rows).
    assert 0 < stats.changes <= 150 * stats.seconds + 60


def test_bad_arguments_and_empty_database(source_db: str) -> None:
    with pytest.raises(ConfigError):
        simulate(source_db, changes=None, seconds=None, rate=None, seed=1)
    with pytest.raises(ConfigError):
        simulate(source_db, changes=10, seconds=None, rate=-5, seed=1)
    with pytest.raises(LakehouseError, match="seed it first"):
        simulate(source_db, changes=10, seconds=None, rate=None, seed=1)


def test_same_data_and_seed_make_the_same_changes(make_source_db: Callable[[], str]) -> None:
    """Apart from wall-clock timestamps, a simulation is repeatable on the same data."""
    dsns = [make_source_db(), make_source_db()]
    for dsn in dsns:
        seed(dsn, scale=SMALL_SCALE, seed=SEED, reset=False)
        simulate(dsn, changes=800, seconds=None, rate=None, seed=21)
    digests = []
    for dsn in dsns:
        with psycopg.connect(dsn) as conn:
            digest = {}
            for entity in load_declaration().entities:
                columns = [c.name for c in entity.columns if c.type != "timestamp"]
                query = sql.SQL(
                    "select md5(string_agg(row({})::text, E'\\n' order by id)) from {}"
                ).format(
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.Identifier(entity.name),
                )
                row = conn.execute(query).fetchone()
                assert row is not None
                digest[entity.name] = row[0]
            digests.append(digest)
    assert digests[0] == digests[1]
