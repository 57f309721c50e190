"""Every gold mart, computed by its transform, equals the same question asked of PostgreSQL."""

from __future__ import annotations

import inspect

import pytest
from lakehouse_glue.gold.marts import conform, load_marts
from lakehouse_glue.gold.transforms import TRANSFORMS
from pyspark.sql import DataFrame

from tests.support.marts import assert_same_rows
from tests.support.oracle import postgres_answer

MART_NAMES = [m.name for m in load_marts()]


def compute(name: str, inputs: dict[str, DataFrame]) -> DataFrame:
    """Call the transform of ``name`` with the silver tables its parameters name."""
    transform = TRANSFORMS[name]
    params = inspect.signature(transform).parameters
    return conform(transform(**{p: inputs[p] for p in params}), name)


@pytest.mark.parametrize("name", MART_NAMES)
def test_mart_equals_postgres(
    name: str, source_and_inputs: tuple[str, dict[str, DataFrame]]
) -> None:
    dsn, inputs = source_and_inputs
    expected = postgres_answer(dsn, name)
    assert expected, f"the data set gives {name} no rows: the comparison would prove nothing"
    assert_same_rows(compute(name, inputs), expected, name)


def test_data_set_reaches_the_edges(gold_source: str) -> None:
    """The hand-shaped data really contains the cases the definitions turn on."""
    import psycopg

    checks = {
        "refund in a later month than the sale": """
            select count(*) from orders where paid_at is not null
            and date_trunc('month', coalesce(refunded_at, cancelled_at) at time zone 'utc')
              > date_trunc('month', paid_at at time zone 'utc')""",
        "cancelled after payment": """
            select count(*) from orders where status = 'cancelled' and paid_at is not null""",
        "cancelled before payment": """
            select count(*) from orders where status = 'cancelled' and paid_at is null""",
        "subscription cancelled during its trial": """
            select count(*) from subscriptions where cancelled_at < trial_ends_at""",
        "customer with two subscriptions": """
            select count(*) from (select customer_id from subscriptions group by 1
            having count(*) > 1) x""",
        "product without a cost": "select count(*) from products where cost is null",
        "anonymous event": "select count(*) from events where customer_id is null",
        "event without customer or session": """
            select count(*) from events where customer_id is null and session_id is null""",
        "overdue invoice": "select count(*) from invoices where status = 'overdue'",
        "invoice paid late": "select count(*) from invoices where paid_at > due_at",
        "void invoice": "select count(*) from invoices where status = 'void'",
    }
    with psycopg.connect(gold_source) as conn, conn.cursor() as cur:
        for what, sql in checks.items():
            cur.execute(sql)
            row = cur.fetchone()
            assert row is not None
            assert row[0] > 0, f"data set has no {what}"
        # The second tenant has no activity at all in March 2025 (a gap month for growth).
        cur.execute(
            """select count(*) from orders o join tenants t on t.id = o.tenant_id
               where t.name = 'Tenant 2' and '2025-03-01' <= paid_at and paid_at < '2025-04-01'"""
        )
        row = cur.fetchone()
        assert row is not None
        assert row[0] == 0
