"""The seed against a real PostgreSQL: counts, determinism, consistency and the hard cases."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from lakehouse_glue.model import load_declaration

from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.source.hardcases import HARD_TEXTS, LARGE_TEXT_MIN_BYTES
from lakehouse.source.seed import REFERENCE_TIME, apportion, planned_counts, row_counts, seed
from tests.lakehouse.source.conftest import SEED, SMALL_SCALE, table_digests

TABLES = load_declaration().names


def _one(dsn: str, query: str, params: tuple[object, ...] = ()) -> object:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def test_counts_at_small_scale(seeded_db: str) -> None:
    counts = row_counts(seeded_db)
    assert counts["tenants"] == 8
    assert counts["customers"] == 128
    assert counts["products"] == 40
    assert counts["orders"] == 1024
    assert counts["events"] == 6400
    # Every order has one invoice; subscriptions add monthly invoices.
    order_invoices = _one(seeded_db, "select count(*) from invoices where order_id is not null")
    assert order_invoices == 1024
    assert counts["invoices"] > 1024
    assert counts["subscriptions"] > 0
    assert counts["order_items"] > 2 * counts["orders"]


def test_scale_one_plan_has_the_promised_sizes() -> None:
    plan = planned_counts(1)
    assert plan == {
        "tenants": 8,
        "customers": 6_400,
        "products": 1_600,
        "orders": 51_200,
        "events": 320_000,
    }
    assert planned_counts(10)["orders"] == 512_000
    assert sum(apportion(51_200, (0.5, 0.3, 0.2))) == 51_200


def test_same_seed_gives_identical_data(seeded_db: str, source_db: str) -> None:
    counts = seed(source_db, scale=SMALL_SCALE, seed=SEED, reset=False)
    assert counts == row_counts(seeded_db)
    assert table_digests(source_db, TABLES) == table_digests(seeded_db, TABLES)
    # ... and another seed gives other data.
    seed(source_db, scale=SMALL_SCALE, seed=SEED + 1, reset=True)
    other = table_digests(source_db, TABLES)
    assert all(other[t] != d for t, d in table_digests(seeded_db, TABLES).items())


def test_refuses_a_non_empty_database_without_reset(seeded_db: str) -> None:
    before = table_digests(seeded_db, TABLES)
    with pytest.raises(LakehouseError, match=r"not empty.*--reset"):
        seed(seeded_db, scale=SMALL_SCALE, seed=1, reset=False)
    assert table_digests(seeded_db, TABLES) == before


@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf"), 1e9])
def test_bad_scale_is_a_config_error(source_db: str, scale: float) -> None:
    with pytest.raises(ConfigError) as info:
        seed(source_db, scale=scale, seed=1, reset=False)
    assert info.value.exit_code == 2
    assert "scale" in str(info.value)


def test_constraints_and_indexes_survive_the_bulk_load(seeded_db: str, source_db: str) -> None:
    """The seed drops keys and indexes for speed; every one must be back, validated."""
    query = """
        select conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated
        from pg_constraint where conrelid::regclass::text = any(%s) order by 1, 2
    """
    indexes = """
        select tablename, indexname, indexdef from pg_indexes
        where schemaname = 'public' and tablename = any(%s) order by 1, 2
    """
    with psycopg.connect(seeded_db) as a, psycopg.connect(source_db) as b:
        assert a.execute(query, (TABLES,)).fetchall() == b.execute(query, (TABLES,)).fetchall()
        assert a.execute(indexes, (TABLES,)).fetchall() == b.execute(indexes, (TABLES,)).fetchall()
        assert all(r[3] for r in a.execute(query, (TABLES,)).fetchall())


def test_orders_are_internally_consistent(seeded_db: str) -> None:
    with psycopg.connect(seeded_db) as conn:
        mismatched = conn.execute(
            """
            select o.id, o.subtotal, coalesce(sum(i.line_total), 0)
            from orders o left join order_items i on i.order_id = o.id
            where o.status <> 'cancelled'
            group by o.id, o.subtotal
            having o.subtotal <> coalesce(sum(i.line_total), 0)
            """
        ).fetchall()
        cancelled_with_items = conn.execute(
            "select count(*) from orders o join order_items i on i.order_id = o.id "
            "where o.status = 'cancelled'"
        ).fetchone()
        statuses = dict(conn.execute("select status, count(*) from orders group by 1").fetchall())
        invoice_mismatch = conn.execute(
            """
            select count(*) from invoices v join orders o on o.id = v.order_id
            where v.amount <> o.total or v.customer_id <> o.customer_id
               or (o.status = 'cancelled') <> (v.status = 'void')
               or (o.status in ('paid', 'shipped', 'completed', 'refunded'))
                  <> (v.status = 'paid')
            """
        ).fetchone()
        latest = conn.execute(
            "select max(greatest(placed_at, paid_at, shipped_at, completed_at, cancelled_at, "
            "refunded_at, updated_at)) from orders"
        ).fetchone()
        order_total = conn.execute("select sum(total) from orders").fetchone()
        ahead_of_status = conn.execute(
            """
            select count(*) from orders
            where (status in ('pending', 'cancelled')
                   and (paid_at is not null or shipped_at is not null
                        or completed_at is not null))
               or (status = 'paid' and (shipped_at is not null or completed_at is not null))
               or (status = 'shipped' and completed_at is not null)
               or paid_at < placed_at or shipped_at < paid_at or completed_at < shipped_at
            """
        ).fetchone()
    assert mismatched == []
    assert cancelled_with_items == (0,)
    assert set(statuses) == {"pending", "paid", "shipped", "completed", "cancelled", "refunded"}
    assert invoice_mismatch == (0,)
    assert ahead_of_status == (0,)
    assert latest is not None
    assert latest[0] <= REFERENCE_TIME
    assert order_total is not None
    assert isinstance(order_total[0], Decimal)


def test_subscriptions_and_their_invoices(seeded_db: str) -> None:
    with psycopg.connect(seeded_db) as conn:
        statuses = dict(
            conn.execute("select status, count(*) from subscriptions group by 1").fetchall()
        )
        invoice_statuses = dict(
            conn.execute(
                "select status, count(*) from invoices where subscription_id is not null group by 1"
            ).fetchall()
        )
        wrong_amount = conn.execute(
            "select count(*) from invoices v join subscriptions s on s.id = v.subscription_id "
            "where v.amount <> s.monthly_amount or v.customer_id <> s.customer_id"
        ).fetchone()
        past_due_without_overdue = conn.execute(
            "select count(*) from subscriptions s where status = 'past_due' and not exists "
            "(select 1 from invoices v where v.subscription_id = s.id and v.status = 'overdue')"
        ).fetchone()
    assert {"active", "cancelled"} <= set(statuses)
    assert {"paid", "overdue"} <= set(invoice_statuses)
    assert wrong_amount == (0,)
    assert past_due_without_overdue == (0,)


def test_hard_cases_are_present(seeded_db: str) -> None:
    with psycopg.connect(seeded_db) as conn:
        notes = {r[0] for r in conn.execute("select notes from customers").fetchall()}
        descriptions = {r[0] for r in conn.execute("select description from products")}
        queries = {r[0] for r in conn.execute("select properties->>'note' from events").fetchall()}
        null_and_empty = conn.execute(
            "select count(*) filter (where company is null), count(*) filter (where company = '')"
            " from customers"
        ).fetchone()
        large = conn.execute(
            "select (select count(*) from customers where octet_length(notes) > %(n)s), "
            "(select count(*) from events where octet_length(properties::text) > %(n)s)",
            {"n": LARGE_TEXT_MIN_BYTES},
        ).fetchone()
        toasted = conn.execute(
            "select pg_relation_size(reltoastrelid) from pg_class where relname = 'customers'"
        ).fetchone()
    for text in HARD_TEXTS:
        assert text in notes, repr(text)
        assert text in queries, repr(text)
    assert None in notes
    assert set(HARD_TEXTS[:5]) <= descriptions  # the small scale has 5 products per tenant
    assert null_and_empty is not None
    assert all(n > 0 for n in null_and_empty)
    assert large is not None
    assert all(n > 0 for n in large)
    assert toasted is not None
    assert toasted[0] > 0  # stored out of line
