"""The activity simulator: a realistic stream of business changes in valid transactions.

Each transaction is one business action of one tenant (a new order with its items and invoice,
a payment, a shipment, a refund, a cancellation that deletes the order's items, a subscription
upgrade, a monthly invoice, a customer edit, a batch of behavioural events, a rare hard delete,
...). Some actions update the same row several times in one transaction (an order is placed,
a coupon is applied, then it is paid), which is what change data capture must get right.

The simulator talks to PostgreSQL directly with psycopg (``executemany`` for multi-row inserts)
and keeps what it needs to choose rows in memory, so it sustains thousands of row changes per
second. Its session uses ``synchronous_commit = off``: a crash may lose the last few simulated
transactions, never consistency, and commit order (what CDC follows) is unchanged.

Choices come from ``random.Random`` seeded with ``seed`` and a fingerprint of the database
state, so a run is repeatable on the same data and a second run on changed data does not
repeat the first run's keys. Row timestamps are the wall-clock time of the transaction.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from lakehouse_glue.model import load_declaration
from psycopg import sql
from psycopg.types.json import Jsonb
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.source.factory import (
    PLAN_ORDER,
    PLAN_PRICE_CENTS,
    CustomerRef,
    ProductRef,
    Row,
    TenantContext,
    cents,
    customer_row,
    event_row,
    money,
    order_invoice_row,
    order_row,
    subscription_invoice_row,
    subscription_row,
    tenant_tax_rate,
    weighted,
)
from lakehouse.source.hardcases import HARD_TEXTS, large_text
from lakehouse.source.pools import build_pools

INSERT, UPDATE, DELETE = "insert", "update", "delete"


@dataclass
class SimulationStats:
    """What a simulation did."""

    changes: int = 0
    transactions: int = 0
    seconds: float = 0.0
    by_action: Counter[str] = field(default_factory=Counter)
    by_change: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def changes_per_second(self) -> float:
        return self.changes / self.seconds if self.seconds > 0 else 0.0

    def by_table_op(self) -> dict[str, int]:
        """``"orders update" -> n`` for display."""
        return {f"{t} {op}": n for (t, op), n in sorted(self.by_change.items())}


@dataclass
class OrderRef:
    id: str
    customer_id: str


@dataclass
class SubscriptionRef:
    id: str
    customer_id: str
    plan: str
    status: str


@dataclass
class InvoiceRef:
    id: str
    subscription_id: str
    status: str
    due_at: datetime


@dataclass
class TenantState:
    """A tenant and the rows the simulator may act on, by state."""

    ctx: TenantContext
    orders: dict[str, list[OrderRef]] = field(
        default_factory=lambda: {s: [] for s in ("pending", "paid", "shipped", "completed")}
    )
    subscriptions: list[SubscriptionRef] = field(default_factory=list)
    open_invoices: list[InvoiceRef] = field(default_factory=list)
    fresh_customers: list[CustomerRef] = field(default_factory=list)
    new_events: list[str] = field(default_factory=list)


def _pop(rng: random.Random, items: list[Any]) -> Any:
    """Remove and return a random element in O(1) (order of the rest does not matter)."""
    i = rng.randrange(len(items))
    items[i], items[-1] = items[-1], items[i]
    return items.pop()


class Simulator:
    """Runs business actions against one connection; see :func:`simulate`."""

    def __init__(self, conn: psycopg.Connection[Any], seed: int) -> None:
        self.conn = conn
        self.declaration = load_declaration()
        self.stats = SimulationStats()
        fingerprint = self._fingerprint()
        self.rng = random.Random(f"{seed}:{fingerprint}")  # noqa: S311 - fake data, not secrets
        self.pools = build_pools(seed)
        self.tenants = self._load()
        if not self.tenants or not any(t.ctx.customers and t.ctx.products for t in self.tenants):
            raise LakehouseError(
                "the source database has no tenants with customers and products to simulate "
                "activity on; seed it first (lakehouse seed --scale 0.1)"
            )
        self.tenants = [t for t in self.tenants if t.ctx.customers and t.ctx.products]
        # Activity follows tenant size (the seed's Zipf law): a tenant is picked with a
        # probability proportional to its customers.
        self._tenant_cumulative = list(
            itertools.accumulate(len(t.ctx.customers) for t in self.tenants)
        )
        self._insert_sql = {
            e.name: sql.SQL("insert into {}.{} ({}) values ({})").format(
                sql.Identifier(e.schema),
                sql.Identifier(e.name),
                sql.SQL(", ").join(map(sql.Identifier, e.column_names)),
                sql.SQL(", ").join(sql.Placeholder() * len(e.columns)),
            )
            for e in self.declaration.entities
        }
        self._json_columns = {
            e.name: {c.name for c in e.columns if c.type == "json"}
            for e in self.declaration.entities
        }
        self._pending: list[tuple[psycopg.Cursor[Any], str, str]] = []
        self._closing: list[psycopg.Cursor[Any]] = []
        self._last_now = datetime.now(UTC)

    # -- loading ------------------------------------------------------------------------------
    def _fingerprint(self) -> str:
        parts = []
        for e in self.declaration.entities:
            row = self.conn.execute(
                sql.SQL("select count(*), max(updated_at) from {}.{}").format(
                    sql.Identifier(e.schema), sql.Identifier(e.name)
                )
            ).fetchone()
            parts.append(f"{row[0]}/{row[1]}" if row else "-")
        return "|".join(parts)

    def _load(self) -> list[TenantState]:
        c = self.conn
        tenants: dict[str, TenantState] = {}
        for i, (tid, created, settings) in enumerate(
            c.execute("select id::text, created_at, settings from tenants order by id").fetchall()
        ):
            locale = (settings or {}).get("locale") if isinstance(settings, dict) else None
            pool = next((p for p in self.pools if p.locale == locale), self.pools[0])
            ctx = TenantContext(
                id=tid,
                index=i,
                created_at=created,
                currency=(settings or {}).get("currency", pool.currency),
                tax_rate=tenant_tax_rate(tid),
                pool=pool,
            )
            tenants[tid] = TenantState(ctx)
        for tid, cid, created in c.execute(
            "select tenant_id::text, id::text, created_at from customers order by id"
        ):
            st = tenants[tid]
            st.ctx.customers.append(CustomerRef(cid, created, st.ctx.pool))
        for tid, pid, sku, price, active in c.execute(
            "select tenant_id::text, id::text, sku, price, is_active from products order by id"
        ):
            if active:
                tenants[tid].ctx.products.append(ProductRef(pid, sku, cents(price)))
        for tid, oid, cid, status in c.execute(
            "select tenant_id::text, id::text, customer_id::text, status from orders "
            "where status in ('pending', 'paid', 'shipped', 'completed') order by id"
        ):
            tenants[tid].orders[status].append(OrderRef(oid, cid))
        for tid, sid, cid, plan, status in c.execute(
            "select tenant_id::text, id::text, customer_id::text, plan, status "
            "from subscriptions where status <> 'cancelled' order by id"
        ):
            tenants[tid].subscriptions.append(SubscriptionRef(sid, cid, plan, status))
        for tid, iid, sid, status, due in c.execute(
            "select tenant_id::text, id::text, subscription_id::text, status, due_at "
            "from invoices where status in ('issued', 'overdue') "
            "and subscription_id is not null order by id"
        ):
            tenants[tid].open_invoices.append(InvoiceRef(iid, sid, status, due))
        for tid, orders, invoices, customers in c.execute(
            r"""
            select t.id::text,
                   (select max(substring(order_number from '\d+')::bigint)
                      from orders o where o.tenant_id = t.id),
                   (select max(substring(invoice_number from '\d+')::bigint)
                      from invoices v where v.tenant_id = t.id),
                   (select max(substring(email from '\.(\d+)@')::bigint)
                      from customers u where u.tenant_id = t.id)
            from tenants t
            """
        ):
            ctx = tenants[tid].ctx
            ctx.next_order_number = (orders or 0) + 1
            ctx.next_invoice_number = (invoices or 0) + 1
            ctx.next_customer_number = (customers or 0) + 1
        return list(tenants.values())

    # -- writing ------------------------------------------------------------------------------
    def _insert(self, table: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        json_cols = self._json_columns[table]
        names = self.declaration.entity(table).column_names
        params = [
            [Jsonb(r[n]) if n in json_cols and r[n] is not None else r[n] for n in names]
            for r in rows
        ]
        cur = self.conn.cursor()
        if len(params) == 1:
            cur.execute(self._insert_sql[table], params[0])
        else:
            cur.executemany(self._insert_sql[table], params)
        self._closing.append(cur)
        self._count(table, INSERT, len(rows))

    def _write(self, table: str, op: str, query: str, params: Iterable[Any]) -> None:
        """Queue an UPDATE or DELETE; the rows it changed are counted when the transaction's
        pipeline has been synced (see :meth:`step`)."""
        cur = self.conn.cursor()
        cur.execute(query, tuple(params))  # type: ignore[arg-type]
        self._pending.append((cur, table, op))

    def _count(self, table: str, op: str, n: int) -> None:
        self.stats.changes += n
        self.stats.by_change[(table, op)] += n

    # -- business actions ---------------------------------------------------------------------
    def place_order(self, t: TenantState, now: datetime) -> None:
        rng, ctx = self.rng, t.ctx
        customer = ctx.customers[rng.randrange(len(ctx.customers))]
        n_items = weighted(rng, ((1, 30), (2, 30), (3, 20), (4, 12), (5, 8)))
        order, items = order_row(rng, ctx, customer, now, n_items)
        invoice = order_invoice_row(rng, ctx, order)
        self._insert("orders", [order])
        self._insert("order_items", items)
        self._insert("invoices", [invoice])
        self._insert(
            "events",
            [event_row(rng, ctx, customer, now, event_type="checkout_started")],
        )
        t.fresh_customers = [c for c in t.fresh_customers if c.id != customer.id]
        ref = OrderRef(order["id"], customer.id)
        if rng.random() < 0.3:
            # The same rows change again in the same transaction: a coupon, then payment.
            subtotal = cents(order["subtotal"])
            discount = subtotal // 10
            tax = int((Decimal(subtotal - discount) * ctx.tax_rate).to_integral_value())
            total = money(subtotal - discount + tax + cents(order["shipping"]))
            later = now + timedelta(microseconds=rng.randint(1, 400))
            self._write(
                "orders",
                UPDATE,
                "update orders set discount = %s, tax = %s, total = %s, updated_at = %s "
                "where id = %s",
                (money(discount), money(tax), total, later, order["id"]),
            )
            self._write(
                "invoices",
                UPDATE,
                "update invoices set amount = %s, updated_at = %s where id = %s",
                (total, later, invoice["id"]),
            )
            self._pay(t, ref, later + timedelta(microseconds=rng.randint(1, 400)))
        else:
            t.orders["pending"].append(ref)

    def _pay(self, t: TenantState, order: OrderRef, now: datetime) -> None:
        self._write(
            "orders",
            UPDATE,
            "update orders set status = 'paid', paid_at = %s, updated_at = %s "
            "where id = %s and status = 'pending'",
            (now, now, order.id),
        )
        self._write(
            "invoices",
            UPDATE,
            "update invoices set status = 'paid', paid_at = %s, updated_at = %s "
            "where tenant_id = %s and order_id = %s",
            (now, now, t.ctx.id, order.id),
        )
        self._insert(
            "events",
            [
                event_row(
                    self.rng,
                    t.ctx,
                    self._customer(t, order.customer_id),
                    now,
                    event_type="purchase",
                )
            ],
        )
        t.orders["paid"].append(order)

    def _customer(self, t: TenantState, customer_id: str) -> CustomerRef:
        return CustomerRef(customer_id, t.ctx.created_at, t.ctx.pool)

    def pay_order(self, t: TenantState, now: datetime) -> None:
        if not t.orders["pending"]:
            return self.place_order(t, now)
        self._pay(t, _pop(self.rng, t.orders["pending"]), now)
        return None

    def _advance(self, t: TenantState, now: datetime, src: str, dst: str, column: str) -> None:
        if not t.orders[src]:
            return self.place_order(t, now)
        order = _pop(self.rng, t.orders[src])
        self._write(
            "orders",
            UPDATE,
            f"update orders set status = %s, {column} = %s, updated_at = %s "
            "where id = %s and status = %s",
            (dst, now, now, order.id, src),
        )
        if dst in t.orders:
            t.orders[dst].append(order)
        return None

    def ship_order(self, t: TenantState, now: datetime) -> None:
        self._advance(t, now, "paid", "shipped", "shipped_at")

    def complete_order(self, t: TenantState, now: datetime) -> None:
        self._advance(t, now, "shipped", "completed", "completed_at")

    def refund_order(self, t: TenantState, now: datetime) -> None:
        src = "completed" if t.orders["completed"] else "shipped"
        self._advance(t, now, src, "refunded", "refunded_at")

    def cancel_order(self, t: TenantState, now: datetime) -> None:
        """Cancel a pending order: its items are deleted, its invoice voided."""
        if not t.orders["pending"]:
            return self.place_order(t, now)
        order = _pop(self.rng, t.orders["pending"])
        self._write(
            "order_items",
            DELETE,
            "delete from order_items where tenant_id = %s and order_id = %s",
            (t.ctx.id, order.id),
        )
        self._write(
            "orders",
            UPDATE,
            "update orders set status = 'cancelled', cancelled_at = %s, updated_at = %s "
            "where id = %s and status = 'pending'",
            (now, now, order.id),
        )
        self._write(
            "invoices",
            UPDATE,
            "update invoices set status = 'void', updated_at = %s "
            "where tenant_id = %s and order_id = %s",
            (now, t.ctx.id, order.id),
        )
        return None

    def purge_abandoned_order(self, t: TenantState, now: datetime) -> None:
        """Hard delete a pending order with everything that hangs off it."""
        if not t.orders["pending"]:
            return self.place_order(t, now)
        order = _pop(self.rng, t.orders["pending"])
        key = (t.ctx.id, order.id)
        self._write(
            "order_items",
            DELETE,
            "delete from order_items where tenant_id = %s and order_id = %s",
            key,
        )
        self._write(
            "invoices", DELETE, "delete from invoices where tenant_id = %s and order_id = %s", key
        )
        self._write("orders", DELETE, "delete from orders where tenant_id = %s and id = %s", key)
        return None

    def new_customer(self, t: TenantState, now: datetime) -> None:
        rng, ctx = self.rng, t.ctx
        row = customer_row(rng, ctx, self.pools, now, now)
        row["status"] = "active"
        self._insert("customers", [row])
        customer = ctx.customers[-1]
        self._insert("events", [event_row(rng, ctx, customer, now, event_type="signup")])
        t.fresh_customers.append(customer)

    def edit_customer(self, t: TenantState, now: datetime) -> None:
        """Edit a customer, sometimes twice in one transaction (and leave big notes alone, so
        that the update carries an unchanged TOAST value)."""
        rng, ctx = self.rng, t.ctx
        customer = ctx.customers[rng.randrange(len(ctx.customers))]
        city = rng.choice((None, "", rng.choice(customer.pool.cities), rng.choice(HARD_TEXTS)))
        phone = rng.choice((None, "", rng.choice(customer.pool.phones)))
        self._write(
            "customers",
            UPDATE,
            "update customers set city = %s, phone = %s, updated_at = %s where id = %s",
            (city, phone, now, customer.id),
        )
        r = rng.random()
        if r < 0.3:
            later = now + timedelta(microseconds=rng.randint(1, 900))
            notes = rng.choice(HARD_TEXTS) if rng.random() < 0.9 else large_text(rng)
            self._write(
                "customers",
                UPDATE,
                "update customers set notes = %s, is_marketing_opt_in = not is_marketing_opt_in,"
                " updated_at = %s where id = %s",
                (notes, later, customer.id),
            )
        elif r < 0.4:
            self._write(
                "customers",
                UPDATE,
                "update customers set status = %s, updated_at = %s where id = %s",
                (rng.choice(("active", "inactive", "churned")), now, customer.id),
            )

    def record_events(self, t: TenantState, now: datetime) -> None:
        rng, ctx = self.rng, t.ctx
        rows = []
        for _ in range(rng.randint(5, 25)):
            customer = None
            if rng.random() < 0.85:
                customer = ctx.customers[rng.randrange(len(ctx.customers))]
            at = now - timedelta(milliseconds=rng.randint(0, 5_000))
            rows.append(event_row(rng, ctx, customer, at))
        self._insert("events", rows)
        t.new_events.extend(r["id"] for r in rows)

    def delete_events(self, t: TenantState, now: datetime) -> None:
        if not t.new_events:
            return self.record_events(t, now)
        ids = [_pop(self.rng, t.new_events) for _ in range(min(3, len(t.new_events)))]
        self._write(
            "events",
            DELETE,
            "delete from events where tenant_id = %s and id = any(%s::uuid[])",
            (t.ctx.id, ids),
        )
        return None

    def forget_customer(self, t: TenantState, now: datetime) -> None:
        """Hard delete a customer who signed up but never bought (and their events)."""
        if not t.fresh_customers:
            return self.new_customer(t, now)
        customer = _pop(self.rng, t.fresh_customers)
        key = (t.ctx.id, customer.id)
        self._write(
            "events", DELETE, "delete from events where tenant_id = %s and customer_id = %s", key
        )
        self._write(
            "customers", DELETE, "delete from customers where tenant_id = %s and id = %s", key
        )
        t.ctx.customers = [c for c in t.ctx.customers if c.id != customer.id]
        return None

    def start_subscription(self, t: TenantState, now: datetime) -> None:
        rng, ctx = self.rng, t.ctx
        customer = ctx.customers[rng.randrange(len(ctx.customers))]
        sub = subscription_row(rng, ctx, customer, now)
        self._insert("subscriptions", [sub])
        t.fresh_customers = [c for c in t.fresh_customers if c.id != customer.id]
        ref = SubscriptionRef(sub["id"], customer.id, sub["plan"], sub["status"])
        if sub["status"] == "active":
            self._bill(t, ref, sub["monthly_amount"], now)
        t.subscriptions.append(ref)

    def _bill(self, t: TenantState, sub: SubscriptionRef, amount: Decimal, now: datetime) -> None:
        invoice = subscription_invoice_row(
            self.rng,
            t.ctx,
            {
                "id": sub.id,
                "customer_id": sub.customer_id,
                "monthly_amount": amount,
                "currency": t.ctx.currency,
            },
            now,
        )
        self._insert("invoices", [invoice])
        t.open_invoices.append(InvoiceRef(invoice["id"], sub.id, "issued", invoice["due_at"]))

    def bill_subscription(self, t: TenantState, now: datetime) -> None:
        """Issue the month's invoice and move the subscription's period on (a trial ends)."""
        live = [s for s in t.subscriptions if s.status != "cancelled"]
        if not live:
            return self.start_subscription(t, now)
        sub = live[self.rng.randrange(len(live))]
        if sub.status == "trialing":
            sub.status = "active"
        self._write(
            "subscriptions",
            UPDATE,
            "update subscriptions set status = %s, current_period_end = %s, updated_at = %s "
            "where id = %s",
            (sub.status, now + timedelta(days=30), now, sub.id),
        )
        self._bill(t, sub, money(PLAN_PRICE_CENTS[sub.plan]), now)
        return None

    def pay_invoice(self, t: TenantState, now: datetime) -> None:
        if not t.open_invoices:
            return self.bill_subscription(t, now)
        invoice = _pop(self.rng, t.open_invoices)
        self._write(
            "invoices",
            UPDATE,
            "update invoices set status = 'paid', paid_at = %s, updated_at = %s where id = %s",
            (now, now, invoice.id),
        )
        sub = next((s for s in t.subscriptions if s.id == invoice.subscription_id), None)
        if sub is not None and sub.status == "past_due":
            still_overdue = any(
                i.subscription_id == sub.id and i.status == "overdue" for i in t.open_invoices
            )
            if not still_overdue:
                sub.status = "active"
                self._write(
                    "subscriptions",
                    UPDATE,
                    "update subscriptions set status = 'active', updated_at = %s where id = %s",
                    (now, sub.id),
                )
        return None

    def mark_overdue(self, t: TenantState, now: datetime) -> None:
        """An issued invoice passes its due date: it is overdue, its subscription past due."""
        due = [i for i in t.open_invoices if i.status == "issued" and i.due_at < now]
        if not due:
            return self.record_events(t, now)
        invoice = due[self.rng.randrange(len(due))]
        invoice.status = "overdue"
        self._write(
            "invoices",
            UPDATE,
            "update invoices set status = 'overdue', updated_at = %s where id = %s",
            (now, invoice.id),
        )
        sub = next((s for s in t.subscriptions if s.id == invoice.subscription_id), None)
        if sub is not None and sub.status == "active":
            sub.status = "past_due"
            self._write(
                "subscriptions",
                UPDATE,
                "update subscriptions set status = 'past_due', updated_at = %s where id = %s",
                (now, sub.id),
            )
        return None

    def change_plan(self, t: TenantState, now: datetime) -> None:
        """Upgrade (mostly) or downgrade a live subscription."""
        live = [s for s in t.subscriptions if s.status in ("active", "trialing")]
        if not live:
            return self.start_subscription(t, now)
        sub = live[self.rng.randrange(len(live))]
        i = PLAN_ORDER.index(sub.plan)
        step = 1 if (self.rng.random() < 0.8 and i < len(PLAN_ORDER) - 1) or i == 0 else -1
        sub.plan = PLAN_ORDER[i + step]
        self._write(
            "subscriptions",
            UPDATE,
            "update subscriptions set plan = %s, monthly_amount = %s, updated_at = %s "
            "where id = %s",
            (sub.plan, money(PLAN_PRICE_CENTS[sub.plan]), now, sub.id),
        )
        return None

    def cancel_subscription(self, t: TenantState, now: datetime) -> None:
        live = [s for s in t.subscriptions if s.status != "cancelled"]
        if not live:
            return self.start_subscription(t, now)
        sub = live[self.rng.randrange(len(live))]
        sub.status = "cancelled"
        t.subscriptions.remove(sub)
        self._write(
            "subscriptions",
            UPDATE,
            "update subscriptions set status = 'cancelled', cancelled_at = %s, updated_at = %s "
            "where id = %s",
            (now, now, sub.id),
        )
        return None

    # -- running ------------------------------------------------------------------------------
    def step(self) -> str:
        """Run one business action as one transaction; returns the action's name."""
        pick = self.rng.randrange(self._tenant_cumulative[-1])
        tenant = self.tenants[bisect.bisect_right(self._tenant_cumulative, pick)]
        action = weighted(self.rng, ACTIONS)
        name = str(action.__name__)
        # A clock that never goes back and moves at least 1 ms per transaction: a transaction
        # may use up to 1 ms past its start for rows it changes twice, and the next one must
        # not come before that (a shipment before its payment).
        now = max(datetime.now(UTC), self._last_now + timedelta(milliseconds=1))
        self._last_now = now
        self._pending = []
        self._closing = []
        try:
            # Pipeline mode: the statements of one transaction go out without waiting for each
            # other's results; leaving the block syncs and raises any error.
            with self.conn.pipeline(), self.conn.transaction():
                action(self, tenant, now)
            for cur, table, op in self._pending:
                self._count(table, op, cur.rowcount)
                cur.close()
            for cur in self._closing:
                cur.close()
        except psycopg.Error as exc:
            raise LakehouseError(
                f"simulated action {name!r} for tenant {tenant.ctx.id} was rejected by the "
                f"database: {exc}. The simulator keeps its own view of the data; another writer "
                "may have changed it (re-run to reload), or this is a bug."
            ) from exc
        self.stats.transactions += 1
        self.stats.by_action[name] += 1
        return name


#: The business actions, each with its weight: a transaction runs one, drawn by weight (the
#: methods themselves, so an action is one method and nothing looks it up by name).
ACTIONS: tuple[tuple[Callable[[Simulator, TenantState, datetime], None], float], ...] = (
    (Simulator.place_order, 22),
    (Simulator.pay_order, 12),
    (Simulator.ship_order, 10),
    (Simulator.complete_order, 9),
    (Simulator.cancel_order, 3),
    (Simulator.refund_order, 2),
    (Simulator.new_customer, 6),
    (Simulator.edit_customer, 8),
    (Simulator.record_events, 15),
    (Simulator.start_subscription, 2),
    (Simulator.bill_subscription, 4),
    (Simulator.pay_invoice, 4),
    (Simulator.mark_overdue, 1),
    (Simulator.change_plan, 1.5),
    (Simulator.cancel_subscription, 1),
    (Simulator.purge_abandoned_order, 0.3),
    (Simulator.forget_customer, 0.2),
    (Simulator.delete_events, 0.5),
)


def simulate(
    dsn: str,
    *,
    changes: int | None,
    seconds: float | None,
    rate: float | None,
    seed: int,
    show_progress: bool = False,
) -> SimulationStats:
    """Simulate business activity on the seeded source database at ``dsn``.

    Args:
        dsn: the source database (seeded).
        changes: stop after at least this many row changes (inserts, updates, deletes).
        seconds: stop after this many seconds.
        rate: at most this many row changes per second on average; None for full speed.
        seed: seed of the random choices.
        show_progress: draw a progress bar on the terminal.

    Returns:
        What was done. At least one of ``changes`` and ``seconds`` must be given.
    """
    if changes is None and seconds is None:
        raise ConfigError("give changes or seconds: the simulation needs an end")
    if changes is not None and changes <= 0:
        raise ConfigError(f"changes must be positive, got {changes}")
    if seconds is not None and seconds <= 0:
        raise ConfigError(f"seconds must be positive, got {seconds}")
    if rate is not None and rate <= 0:
        raise ConfigError(f"rate must be positive, got {rate}")
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        raise LakehouseError(
            f"cannot connect to the source database: {exc}\nStart it with 'lakehouse db up' "
            "or check DATABASE_URL."
        ) from exc
    with conn:
        conn.execute("set synchronous_commit = off")
        sim = Simulator(conn, seed)
        stats = sim.stats
        total = changes if changes is not None else seconds
        progress = Progress(
            TextColumn("[bold]simulate[/bold]"),
            BarColumn(),
            MofNCompleteColumn() if changes is not None else TextColumn(""),
            TimeElapsedColumn(),
            disable=not show_progress,
        )
        with progress:
            task = progress.add_task("simulate", total=total)
            start = time.monotonic()
            while True:
                elapsed = time.monotonic() - start
                if changes is not None and stats.changes >= changes:
                    break
                if seconds is not None and elapsed >= seconds:
                    break
                if rate is not None and stats.changes > rate * elapsed:
                    time.sleep(min(0.05, stats.changes / rate - elapsed))
                    continue
                sim.step()
                if stats.transactions % 50 == 0:
                    done = stats.changes if changes is not None else elapsed
                    progress.update(task, completed=done)
            stats.seconds = time.monotonic() - start
            progress.update(task, completed=stats.changes if changes is not None else seconds)
    return stats
