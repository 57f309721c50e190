"""Many tenants: Zipf-distributed sizes at a fixed volume, in the seed and in the simulator."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal

import psycopg
import pytest

from lakehouse.errors import ConfigError
from lakehouse.source.factory import tenant_tax_rate
from lakehouse.source.seed import (
    MAX_TENANTS,
    TENANT_SKEW,
    apportion,
    planned_counts,
    seed,
    tenant_plan,
    tenant_weights,
)
from lakehouse.source.simulate import simulate

MANY = 300
SCALE = 0.05


def _per_tenant(dsn: str, table: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"select t.slug, count(x.id) from tenants t left join {table} x "
            "on x.tenant_id = t.id group by t.slug"
        ).fetchall()
    return {str(slug): int(n) for slug, n in rows}


def test_the_volume_does_not_depend_on_the_tenant_count() -> None:
    eight = planned_counts(1)
    for tenants in (1, 8, 100, 10_000):
        plan = planned_counts(1, tenants)
        assert plan["tenants"] == tenants
        for entity in ("customers", "orders", "events"):
            assert plan[entity] == eight[entity], (tenants, entity)
    # Every tenant sells at least one product, so the long tail adds a few.
    assert planned_counts(1, 10_000)["products"] >= 10_000


def test_sizes_follow_a_zipf_law() -> None:
    weights = tenant_weights(10_000)
    assert sum(weights) == pytest.approx(1.0)
    assert list(weights) == sorted(weights, reverse=True)
    # w_k / w_1 = k ** -skew: a few very large tenants, a long tail.
    assert weights[9] / weights[0] == pytest.approx(10**-TENANT_SKEW)
    plan = tenant_plan(1, 10_000)
    assert plan.events[0] > 0.1 * sum(plan.events)  # the largest holds over 10 %
    top_100 = sum(sorted(plan.events, reverse=True)[:100])
    assert top_100 > 0.5 * sum(plan.events)
    # Orders only go to tenants that have customers to place them.
    assert all(o == 0 for o, c in zip(plan.orders, plan.customers, strict=True) if c == 0)
    assert any(c == 0 for c in plan.customers)


def test_apportion_is_exact_and_keeps_the_minimum_when_it_can() -> None:
    assert apportion(10, (0.97, 0.01, 0.01, 0.01)) == [7, 1, 1, 1]
    assert sum(apportion(3, tenant_weights(10))) == 3  # fewer rows than parts: zeros allowed
    assert sum(apportion(51_200, (0.5, 0.3, 0.2))) == 51_200


@pytest.mark.parametrize("tenants", [0, -3, MAX_TENANTS + 1, True, 2.5])
def test_a_bad_tenant_count_is_a_config_error(tenants: object) -> None:
    with pytest.raises(ConfigError, match="tenants must be a whole number") as info:
        tenant_plan(1, tenants)  # type: ignore[arg-type]
    assert info.value.exit_code == 2


def test_cli_refuses_a_bad_tenant_count_without_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lakehouse", "seed", "--tenants", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "tenants must be a whole number" in done.stderr
    assert "Traceback" not in done.stderr


def test_seed_with_many_tenants_loads_the_planned_rows_per_tenant(source_db: str) -> None:
    seed(source_db, scale=SCALE, seed=3, reset=False, tenants=MANY)
    plan = tenant_plan(SCALE, MANY)
    with psycopg.connect(source_db) as conn:
        slugs = [
            str(r[0])
            for r in conn.execute("select slug from tenants order by created_at, slug").fetchall()
        ]
        rates = conn.execute("select id::text from tenants").fetchall()
    assert len(slugs) == MANY
    # Slugs end with the tenant's rank (1 = largest): map the plan onto them.
    rank = {slug: int(slug.rsplit("-", 1)[1]) - 1 for slug in slugs}
    for table, planned in (
        ("customers", plan.customers),
        ("products", plan.products),
        ("orders", plan.orders),
        ("events", plan.events),
    ):
        got = _per_tenant(source_db, table)
        assert {slug: got[slug] for slug in slugs} == {s: planned[rank[s]] for s in slugs}, table
    # One tax rate function for seed and simulator: every order's tax uses the tenant's rate.
    with psycopg.connect(source_db) as conn:
        wrong = conn.execute(
            "select o.tenant_id::text, o.subtotal, o.discount, o.tax from orders o"
        ).fetchall()
    assert rates
    for tenant_id, subtotal, discount, tax in wrong:
        expected = ((subtotal - discount) * tenant_tax_rate(tenant_id)).quantize(Decimal("0.01"))
        assert abs(tax - expected) <= Decimal("0.01"), (tenant_id, subtotal, discount, tax)


def test_simulated_activity_follows_tenant_size(make_source_db: Callable[[], str]) -> None:
    dsn = make_source_db()
    seed(dsn, scale=SCALE, seed=5, reset=False, tenants=20)
    with psycopg.connect(dsn) as conn:
        customers = dict(
            conn.execute(
                "select tenant_id::text, count(*) from customers group by tenant_id"
            ).fetchall()
        )
        events_before = dict(
            conn.execute("select tenant_id::text, count(*) from events group by tenant_id")
        )
    simulate(dsn, changes=4_000, seconds=None, rate=None, seed=11)
    with psycopg.connect(dsn) as conn:
        # Rows the simulator touched carry its wall-clock time; the seed's are all older.
        changed = dict(
            conn.execute(
                "select tenant_id::text, count(*) from ("
                " select tenant_id from orders where updated_at > '2025-06-01'"
                " union all select tenant_id from customers where updated_at > '2025-06-01'"
                " union all select tenant_id from events where occurred_at > '2025-06-01'"
                ") x group by tenant_id"
            ).fetchall()
        )
    assert events_before
    total_customers = sum(customers.values())
    total_changed = sum(changed.values())
    largest = max(customers, key=lambda t: customers[t])
    share = customers[largest] / total_customers
    # The largest tenant gets about its share of the activity (it would get 1/20 if uniform).
    assert share > 0.2
    assert changed.get(largest, 0) / total_changed == pytest.approx(share, abs=0.08)
