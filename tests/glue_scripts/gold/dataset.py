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
        """Tenant ``n`` and its rows (every draw from the one random stream, in this order)."""
        t = _Tenant(self, n, skip_month)
        cust = t.customers(customers)
        prods = t.products(products)
        order_rows = t.orders(orders, cust, prods)
        for o in order_rows:
            if o["paid_at"] is not None and self.rng.random() < 0.4:
                t.invoice(o["customer_id"], o["total"], o["paid_at"], None, o["id"])
        t.subscriptions(subscriptions, cust)
        t.events(sessions, cust)


_PLAN_AMOUNTS = {
    "basic": Decimal("9.00"),
    "standard": Decimal("29.00"),
    "premium": Decimal("99.00"),
    "enterprise": Decimal("499.50"),
}


class _Tenant:
    """The rows of one tenant, added to ``builder``."""

    def __init__(self, builder: _Builder, n: int, skip_month: int | None) -> None:
        self.builder = builder
        self.rng = rng = builder.rng
        self.n = n
        self.skip_month = skip_month
        self.invoice_no = 0
        self.tid = _uuid(rng)
        builder.add(
            "tenants",
            {
                "id": self.tid,
                "name": f"Tenant {n}",
                "slug": f"tenant-{n}-{self.tid[:8]}",
                "plan": rng.choice(["free", "starter", "growth", "enterprise"]),
                "country": "DE",
                "is_active": n != 3,
                "settings": json.dumps({"n": n}),
                "created_at": START,
            },
        )

    def moment(self, after: datetime, within_days: float) -> datetime:
        return _moment(self.rng, after, within_days, self.skip_month)

    def customers(self, count: int) -> list[dict[str, Any]]:
        rng, cust = self.rng, []
        for i in range(count):
            created = self.moment(START - timedelta(days=1), 150)
            row = {
                "id": _uuid(rng),
                "tenant_id": self.tid,
                "email": f"c{i}@t{self.n}.example",
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
            self.builder.add("customers", row)
        return cust

    def products(self, count: int) -> list[dict[str, Any]]:
        rng, prods = self.rng, []
        for i in range(count):
            row = {
                "id": _uuid(rng),
                "tenant_id": self.tid,
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
            self.builder.add("products", row)
        return prods

    def orders(
        self, count: int, cust: list[dict[str, Any]], prods: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Orders with their items; refunds and cancellations may land months later."""
        rng, order_rows = self.rng, []
        for i in range(count if cust and prods else 0):
            c = rng.choice(cust)
            placed = self.moment(c["created_at"], 60)
            if placed >= END:
                continue
            status = rng.choices(
                ["pending", "paid", "shipped", "completed", "cancelled", "refunded"],
                weights=[1, 2, 2, 4, 2, 2],
            )[0]
            times = self._lifecycle(status, placed)
            oid = _uuid(rng)
            subtotal = self._items(oid, placed, prods)
            discount = min(subtotal, Decimal("5.00")) if rng.random() < 0.3 else Decimal("0.00")
            tax = (subtotal * Decimal("0.08")).quantize(CENT)
            shipping = Decimal("4.99") if rng.random() < 0.5 else Decimal("0.00")
            row = {
                "id": oid,
                "tenant_id": self.tid,
                "customer_id": c["id"],
                "order_number": f"O-{self.n}-{i}",
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
                **times,
                "created_at": placed,
            }
            order_rows.append(row)
            self.builder.add("orders", row)
        return order_rows

    def _lifecycle(self, status: str, placed: datetime) -> dict[str, datetime | None]:
        """The ``*_at`` times of an order that ends in ``status``."""
        rng = self.rng
        paid = shipped = completed = cancelled = refunded = None
        if status != "pending" and not (status == "cancelled" and rng.random() < 0.5):
            paid = self.moment(placed, 3)
        if status in ("shipped", "completed") or (status == "refunded" and rng.random() < 0.5):
            shipped = self.moment(paid or placed, 4)
        if status == "completed":
            completed = self.moment(shipped or placed, 5)
        if status == "cancelled":
            cancelled = self.moment(paid or placed, 35)
        if status == "refunded":
            refunded = self.moment(shipped or paid or placed, 40)
        return {
            "paid_at": paid,
            "shipped_at": shipped,
            "completed_at": completed,
            "cancelled_at": cancelled,
            "refunded_at": refunded,
        }

    def _items(self, oid: str, placed: datetime, prods: list[dict[str, Any]]) -> Decimal:
        """One to three items of order ``oid``; returns their subtotal."""
        rng = self.rng
        subtotal = Decimal(0)
        for _ in range(rng.randint(1, 3)):
            p = rng.choice(prods)
            qty = rng.randint(1, 4)
            disc = Decimal("1.00") if rng.random() < 0.2 else Decimal("0.00")
            line = p["price"] * qty - disc
            subtotal += line
            self.builder.add(
                "order_items",
                {
                    "id": _uuid(rng),
                    "tenant_id": self.tid,
                    "order_id": oid,
                    "product_id": p["id"],
                    "quantity": qty,
                    "unit_price": p["price"],
                    "discount": disc,
                    "line_total": line,
                    "created_at": placed,
                },
            )
        return subtotal

    def invoice(
        self,
        customer_id: str,
        amount: Decimal,
        issued: datetime,
        subscription_id: str | None,
        order_id: str | None,
    ) -> None:
        rng = self.rng
        self.invoice_no += 1
        due = issued + timedelta(days=14)
        status = rng.choices(["paid", "issued", "overdue", "void"], weights=[6, 2, 2, 1])[0]
        paid_at = (
            issued + timedelta(days=rng.randint(0, 25), seconds=rng.randint(0, 86399))
            if status == "paid"
            else None
        )
        self.builder.add(
            "invoices",
            {
                "id": _uuid(rng),
                "tenant_id": self.tid,
                "customer_id": customer_id,
                "subscription_id": subscription_id,
                "order_id": order_id,
                "invoice_number": f"I-{self.n}-{self.invoice_no}",
                "status": status,
                "amount": amount,
                "currency": "EUR",
                "issued_at": issued,
                "due_at": due,
                "paid_at": paid_at,
                "created_at": issued,
            },
        )

    def subscriptions(self, count: int, cust: list[dict[str, Any]]) -> None:
        """Subscriptions (trials, cancellations, two for some customers) with their invoices."""
        rng = self.rng
        sub_customers = cust[: max(1, count * 2 // 3)] if cust else []
        for i in range(count if sub_customers else 0):
            c = sub_customers[i % len(sub_customers)]
            started = self.moment(START, 150)
            plan = rng.choice(["basic", "standard", "premium", "enterprise"])
            amount = _PLAN_AMOUNTS[plan]
            trial_ends = started + timedelta(days=14) if rng.random() < 0.4 else None
            cancelled = None
            status = rng.choice(["active", "active", "past_due", "cancelled", "cancelled"])
            if status == "cancelled":
                cancelled = self.moment(started, 100 if rng.random() < 0.7 else 10)
            elif trial_ends is not None and trial_ends > END - timedelta(days=30):
                status = "trialing"
            sid = _uuid(rng)
            self.builder.add(
                "subscriptions",
                {
                    "id": sid,
                    "tenant_id": self.tid,
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
                self.invoice(c["id"], amount, period, sid, None)
                period += timedelta(days=30)

    def events(self, sessions: int, cust: list[dict[str, Any]]) -> None:
        """Sessions of funnel events: anonymous, partial and out of order ones too."""
        rng = self.rng
        for _ in range(sessions):
            who = rng.random()
            customer = rng.choice(cust)["id"] if cust and who < 0.6 else None
            session = None if who > 0.95 else f"s-{_uuid(rng)[:12]}"
            at = self.moment(START, 175)
            for step in self._funnel():
                at += timedelta(seconds=rng.randint(1, 900))
                if at >= END:
                    break
                self.builder.add(
                    "events",
                    {
                        "id": _uuid(rng),
                        "tenant_id": self.tid,
                        "customer_id": customer,
                        "session_id": session,
                        "event_type": step,
                        "properties": json.dumps({"step": step}),
                        "occurred_at": at,
                        "created_at": at,
                    },
                )

    def _funnel(self) -> list[str]:
        rng = self.rng
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
        return steps


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
