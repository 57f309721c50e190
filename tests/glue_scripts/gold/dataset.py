"""A small, hand-shaped source data set for the gold tests, inserted with SQL.

The real seed (``lakehouse.source.seed``) makes realistic volumes; this one is built to hit the
edges the gold definitions care about, deterministically: refunds and cancellations landing in a
later month than the sale, a tenant with a month of no activity at all, a tenant with nothing
but customers, trials that end, subscriptions cancelled during the trial, customers with two
subscriptions (expansion and contraction), products without a cost, anonymous events, events
with neither customer nor session, timestamps a microsecond either side of midnight.
It satisfies every constraint of the Django schema, so it goes into a migrated ``source_db``.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from lakehouse_glue.model import load_declaration

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _moment(
    rng: random.Random, after: datetime, within_days: float, skip_month: int | None
) -> datetime:
    """A random instant after ``after``; never in month ``skip_month`` (pushed past it)."""
    at = after + timedelta(
        seconds=rng.randint(60, int(within_days * 86400)), microseconds=rng.randint(0, 999_999)
    )
    if rng.random() < 0.05:
        # Edge of a UTC day: the last or the first microsecond.
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        at = day - timedelta(microseconds=1) if rng.random() < 0.5 else day
        at = max(at, after + timedelta(microseconds=1))
    if skip_month is not None and at.month == skip_month and at.year == 2025:
        at = at.replace(day=1, hour=0, minute=0, second=0, microsecond=7) + timedelta(days=32)
        at = at.replace(day=rng.randint(1, 20))
    return at


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[str, list[dict[str, Any]]] = {e: [] for e in load_declaration().names}

    def add(self, entity: str, row: dict[str, Any]) -> None:
        stamp = row.get("created_at") or START
        row.setdefault("created_at", stamp)
        row.setdefault("updated_at", stamp)
        self.rows[entity].append(row)

    def tenant(
        self,
        n: int,
        *,
        customers: int,
        products: int,
        orders: int,
        subscriptions: int,
        sessions: int,
        skip_month: int | None,
    ) -> None:
        rng = self.rng
        tid = _uuid(rng)
        self.add(
            "tenants",
            {
                "id": tid,
                "name": f"Tenant {n}",
                "slug": f"tenant-{n}-{tid[:8]}",
                "plan": rng.choice(["free", "starter", "growth", "enterprise"]),
                "country": "DE",
                "is_active": n != 3,
                "settings": json.dumps({"n": n}),
                "created_at": START,
            },
        )
        cust: list[dict[str, Any]] = []
        for i in range(customers):
            created = _moment(rng, START - timedelta(days=1), 150, skip_month)
            row = {
                "id": _uuid(rng),
                "tenant_id": tid,
                "email": f"c{i}@t{n}.example",
                "first_name": "F",
                "last_name": "L",
                "company": None,
                "phone": None,
                "country": "DE",
                "city": None,
                "notes": None,
                "status": rng.choice(["active", "active", "inactive", "churned"]),
                "is_marketing_opt_in": rng.random() < 0.5,
                "created_at": created,
            }
            cust.append(row)
            self.add("customers", row)
        prods: list[dict[str, Any]] = []
        for i in range(products):
            row = {
                "id": _uuid(rng),
                "tenant_id": tid,
                "sku": f"SKU-{i}",
                "name": f"Product {i}",
                "description": None,
                "category": rng.choice(["a", "b", "c"]),
                "price": _money(rng.uniform(1, 200)),
                "cost": None if i % 4 == 0 else _money(rng.uniform(0.5, 80)),
                "currency": "EUR",
                "is_active": i % 5 != 0,
                "attributes": "{}",
                "created_at": START,
            }
            prods.append(row)
            self.add("products", row)
        order_rows: list[dict[str, Any]] = []
        for i in range(orders if cust and prods else 0):
            c = rng.choice(cust)
            placed = _moment(rng, c["created_at"], 60, skip_month)
            if placed >= END:
                continue
            status = rng.choices(
                ["pending", "paid", "shipped", "completed", "cancelled", "refunded"],
                weights=[1, 2, 2, 4, 2, 2],
            )[0]
            paid = shipped = completed = cancelled = refunded = None
            if status != "pending" and not (status == "cancelled" and rng.random() < 0.5):
                paid = _moment(rng, placed, 3, skip_month)
            if status in ("shipped", "completed") or (status == "refunded" and rng.random() < 0.5):
                shipped = _moment(rng, paid or placed, 4, skip_month)
            if status == "completed":
                completed = _moment(rng, shipped or placed, 5, skip_month)
            if status == "cancelled":
                cancelled = _moment(rng, paid or placed, 35, skip_month)
            if status == "refunded":
                refunded = _moment(rng, shipped or paid or placed, 40, skip_month)
            oid = _uuid(rng)
            subtotal = Decimal(0)
            for _ in range(rng.randint(1, 3)):
                p = rng.choice(prods)
                qty = rng.randint(1, 4)
                disc = Decimal("1.00") if rng.random() < 0.2 else Decimal("0.00")
                line = p["price"] * qty - disc
                subtotal += line
                self.add(
                    "order_items",
                    {
                        "id": _uuid(rng),
                        "tenant_id": tid,
                        "order_id": oid,
                        "product_id": p["id"],
                        "quantity": qty,
                        "unit_price": p["price"],
                        "discount": disc,
                        "line_total": line,
                        "created_at": placed,
                    },
                )
            discount = min(subtotal, Decimal("5.00")) if rng.random() < 0.3 else Decimal("0.00")
            tax = (subtotal * Decimal("0.08")).quantize(CENT)
            shipping = Decimal("4.99") if rng.random() < 0.5 else Decimal("0.00")
            row = {
                "id": oid,
                "tenant_id": tid,
                "customer_id": c["id"],
                "order_number": f"O-{n}-{i}",
                "status": status,
                "currency": "EUR",
                "subtotal": subtotal,
                "discount": discount,
                "tax": tax,
                "shipping": shipping,
                "total": subtotal - discount + tax + shipping,
                "notes": None,
                "shipping_address": None,
                "placed_at": placed,
                "paid_at": paid,
                "shipped_at": shipped,
                "completed_at": completed,
                "cancelled_at": cancelled,
                "refunded_at": refunded,
                "created_at": placed,
            }
            order_rows.append(row)
            self.add("orders", row)
        invoice_no = 0

        def invoice(
            customer_id: str,
            amount: Decimal,
            issued: datetime,
            subscription_id: str | None,
            order_id: str | None,
        ) -> None:
            nonlocal invoice_no
            invoice_no += 1
            due = issued + timedelta(days=14)
            status = rng.choices(["paid", "issued", "overdue", "void"], weights=[6, 2, 2, 1])[0]
            paid_at = (
                issued + timedelta(days=rng.randint(0, 25), seconds=rng.randint(0, 86399))
                if status == "paid"
                else None
            )
            self.add(
                "invoices",
                {
                    "id": _uuid(rng),
                    "tenant_id": tid,
                    "customer_id": customer_id,
                    "subscription_id": subscription_id,
                    "order_id": order_id,
                    "invoice_number": f"I-{n}-{invoice_no}",
                    "status": status,
                    "amount": amount,
                    "currency": "EUR",
                    "issued_at": issued,
                    "due_at": due,
                    "paid_at": paid_at,
                    "created_at": issued,
                },
            )

        for o in order_rows:
            if o["paid_at"] is not None and rng.random() < 0.4:
                invoice(o["customer_id"], o["total"], o["paid_at"], None, o["id"])
        sub_customers = cust[: max(1, subscriptions * 2 // 3)] if cust else []
        for i in range(subscriptions if sub_customers else 0):
            c = sub_customers[i % len(sub_customers)]
            started = _moment(rng, START, 150, skip_month)
            plan = rng.choice(["basic", "standard", "premium", "enterprise"])
            amount = {
                "basic": Decimal("9.00"),
                "standard": Decimal("29.00"),
                "premium": Decimal("99.00"),
                "enterprise": Decimal("499.50"),
            }[plan]
            trial_ends = started + timedelta(days=14) if rng.random() < 0.4 else None
            cancelled = None
            status = rng.choice(["active", "active", "past_due", "cancelled", "cancelled"])
            if status == "cancelled":
                cancelled = _moment(rng, started, 100 if rng.random() < 0.7 else 10, skip_month)
            elif trial_ends is not None and trial_ends > END - timedelta(days=30):
                status = "trialing"
            sid = _uuid(rng)
            self.add(
                "subscriptions",
                {
                    "id": sid,
                    "tenant_id": tid,
                    "customer_id": c["id"],
                    "plan": plan,
                    "status": status,
                    "monthly_amount": amount,
                    "currency": "EUR",
                    "started_at": started,
                    "trial_ends_at": trial_ends,
                    "current_period_end": None,
                    "cancelled_at": cancelled,
                    "created_at": started,
                },
            )
            period = trial_ends or started
            while period < (cancelled or END) and period < END:
                invoice(c["id"], amount, period, sid, None)
                period += timedelta(days=30)
        for _ in range(sessions):
            who = rng.random()
            customer = rng.choice(cust)["id"] if cust and who < 0.6 else None
            session = None if who > 0.95 else f"s-{_uuid(rng)[:12]}"
            at = _moment(rng, START, 175, skip_month)
            steps = ["page_view"]
            for step, p in (
                ("product_view", 0.8),
                ("add_to_cart", 0.5),
                ("checkout_started", 0.6),
                ("purchase", 0.7),
            ):
                if rng.random() >= p:
                    break
                steps.append(step)
            if rng.random() < 0.2:
                rng.shuffle(steps)  # out-of-order and partial funnels happen too
            steps += rng.sample(["search", "login", "signup"], k=rng.randint(0, 2))
            for step in steps:
                at += timedelta(seconds=rng.randint(1, 900))
                if at >= END:
                    break
                self.add(
                    "events",
                    {
                        "id": _uuid(rng),
                        "tenant_id": tid,
                        "customer_id": customer,
                        "session_id": session,
                        "event_type": step,
                        "properties": json.dumps({"step": step}),
                        "occurred_at": at,
                        "created_at": at,
                    },
                )


def build(seed: int = 20250101) -> dict[str, list[dict[str, Any]]]:
    """Rows per entity: two busy tenants (the second with an empty March) and a quiet one."""
    b = _Builder(seed)
    b.tenant(
        1, customers=45, products=9, orders=220, subscriptions=30, sessions=260, skip_month=None
    )
    b.tenant(2, customers=25, products=6, orders=90, subscriptions=16, sessions=120, skip_month=3)
    b.tenant(3, customers=4, products=0, orders=0, subscriptions=0, sessions=0, skip_month=None)
    return b.rows


def insert(dsn: str, rows: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Insert ``rows`` into the source tables (dependency order); returns row counts."""
    declaration = load_declaration()
    counts: dict[str, int] = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for entity in declaration.entities:
            data = rows.get(entity.name, [])
            columns = entity.column_names
            with cur.copy(
                f"copy {entity.schema}.{entity.name} ({', '.join(columns)}) from stdin"
            ) as copy:
                for row in data:
                    copy.write_row([row.get(c) for c in columns])
            counts[entity.name] = len(data)
    return counts
