"""The deterministic seed: realistic multi-tenant data, loaded with COPY in one transaction.

Everything is derived from ``random.Random`` streams seeded with ``seed`` and from a fixed
reference time (the "now" of the seeded world), never from the clock, so the same ``seed`` and
``scale`` give identical rows, UUIDs and timestamps. Each tenant and table has its own stream,
so the data does not depend on how the load is chunked.

Sizes at scale 1: 8 tenants, 6,400 customers, 51,200 orders, 320,000 events, 1,600 products,
~3 items per non-cancelled order, subscriptions for ~40 % of customers with monthly invoices, one
invoice per order: about 600,000 rows. Customers, orders and events (and what hangs off them)
grow linearly with ``scale``.

The number of tenants (``tenants``, default 8) does not change the volume: the same rows are
shared among the tenants by a Zipf law (tenant ``k`` gets a share proportional to
``1 / (k + 1) ** TENANT_SKEW``), so a few tenants are large and there is a long tail of small
ones, as in a real SaaS. With more tenants than customers, the smallest tenants have no customers
(only anonymous events), like tenants still on a trial.
"""

from __future__ import annotations

import contextlib
import math
import queue
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from lakehouse_glue.model import Entity, load_declaration
from psycopg import sql
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.source import copytext
from lakehouse.source.factory import (
    CustomerRef,
    Row,
    TenantContext,
    between,
    customer_row,
    event_row,
    order_invoice_row,
    order_row,
    product_row,
    subscription_invoice_row,
    subscription_row,
    tenant_row,
    tenant_tax_rate,
    weighted,
)
from lakehouse.source.hardcases import HARD_TEXTS, large_text
from lakehouse.source.pools import LocalePool, build_pools

REFERENCE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
"""The "now" of the seeded world: every seeded timestamp lies before it."""

TENANTS = 8
"""The default number of tenants."""
MAX_TENANTS = 100_000
TENANT_SKEW = 1.1
"""Zipf exponent of tenant sizes: at 8 tenants the largest is ~10 times the smallest; at 10,000
tenants the largest holds ~15 % of the rows."""
CUSTOMERS_PER_SCALE = 6_400
ORDERS_PER_SCALE = 51_200
EVENTS_PER_SCALE = 320_000
PRODUCTS_PER_TENANT = 200
SUBSCRIBER_SHARE = 0.4
MIN_SCALE = 0.002  # at least one customer per tenant
MAX_SCALE = 100.0
ORDER_TARGETS = (
    ("pending", 5),
    ("paid", 6),
    ("shipped", 9),
    ("completed", 62),
    ("cancelled", 9),
    ("refunded", 9),
)
ORDER_ITEM_COUNTS = ((1, 15), (2, 25), (3, 25), (4, 18), (5, 10), (6, 7))
FLUSH_ROWS = 20_000


def check_scale(scale: float) -> float:
    """Return ``scale`` if it is usable, else raise :class:`ConfigError` (exit 2)."""
    if not isinstance(scale, int | float) or not math.isfinite(scale):
        raise ConfigError(f"unknown scale {scale!r}: give a number such as 1 or 0.1")
    if scale <= 0:
        raise ConfigError(f"scale must be positive, got {scale}; use e.g. --scale 1 (~600k rows)")
    if scale < MIN_SCALE or scale > MAX_SCALE:
        raise ConfigError(
            f"scale {scale} is outside the supported range {MIN_SCALE}..{MAX_SCALE:g} "
            "(1 gives ~600,000 rows)"
        )
    return float(scale)


def check_tenants(tenants: int) -> int:
    """Return ``tenants`` if it is usable, else raise :class:`ConfigError` (exit 2)."""
    if isinstance(tenants, bool) or not isinstance(tenants, int) or not 1 <= tenants <= MAX_TENANTS:
        raise ConfigError(
            f"tenants must be a whole number from 1 to {MAX_TENANTS:,}, got {tenants!r}; "
            "e.g. --tenants 8 (the default) or --tenants 10000"
        )
    return tenants


def tenant_weights(tenants: int) -> tuple[float, ...]:
    """Each tenant's share of the volume: a Zipf law with exponent :data:`TENANT_SKEW`."""
    raw = [1.0 / (k + 1) ** TENANT_SKEW for k in range(check_tenants(tenants))]
    total = math.fsum(raw)
    return tuple(w / total for w in raw)


def apportion(total: int, weights: tuple[float, ...], minimum: int = 1) -> list[int]:
    """Split ``total`` by ``weights`` exactly (largest remainder), ``minimum`` each at least.

    When ``total`` cannot give every part its minimum, the minimum is dropped (parts may be 0).
    """
    floor = minimum if total >= minimum * len(weights) else 0
    raw = [total * w for w in weights]
    parts = [max(floor, int(r)) for r in raw]
    order = sorted(range(len(weights)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    k = 0
    while sum(parts) < total:
        parts[order[k % len(order)]] += 1
        k += 1
    # The minimum may have pushed the sum over the total: take back from the largest parts.
    for i in sorted(range(len(parts)), key=lambda i: parts[i], reverse=True):
        if sum(parts) <= total:
            break
        parts[i] -= min(parts[i] - floor, sum(parts) - total)
    return parts


@dataclass(frozen=True)
class TenantPlan:
    """How many rows of each directly scaled entity every tenant gets."""

    customers: list[int]
    products: list[int]
    orders: list[int]
    events: list[int]

    @property
    def tenants(self) -> int:
        return len(self.customers)

    def totals(self) -> dict[str, int]:
        return {
            "tenants": self.tenants,
            "customers": sum(self.customers),
            "products": sum(self.products),
            "orders": sum(self.orders),
            "events": sum(self.events),
        }


def tenant_plan(scale: float, tenants: int = TENANTS) -> TenantPlan:
    """Rows per tenant for ``scale`` and ``tenants``: the same totals whatever the tenants."""
    scale = check_scale(scale)
    weights = tenant_weights(tenants)
    customers = apportion(max(1, round(CUSTOMERS_PER_SCALE * scale)), weights)
    # A tenant sells at least one product; orders go to tenants that have customers.
    products_total = TENANTS * max(5, round(PRODUCTS_PER_TENANT * min(scale, 1.0)))
    products = [max(1, n) for n in apportion(products_total, weights)]
    buyers = [i for i, n in enumerate(customers) if n]
    buyer_total = math.fsum(weights[i] for i in buyers)
    orders = [0] * tenants
    shares = apportion(
        max(1, round(ORDERS_PER_SCALE * scale)), tuple(weights[i] / buyer_total for i in buyers)
    )
    for i, n in zip(buyers, shares, strict=True):
        orders[i] = n
    events = apportion(max(1, round(EVENTS_PER_SCALE * scale)), weights)
    return TenantPlan(customers=customers, products=products, orders=orders, events=events)


def planned_counts(scale: float, tenants: int = TENANTS) -> dict[str, int]:
    """Exact counts of the directly scaled entities for ``scale`` and ``tenants``."""
    return tenant_plan(scale, tenants).totals()


# -- COPY --------------------------------------------------------------------------------------
def _formatter(logical: str, timestamp: Callable[[Any], str]) -> Callable[[Any], str]:
    if logical == "string":
        return copytext.text
    if logical == "json":
        return copytext.jsonb
    if logical == "boolean":
        return lambda v: copytext.NULL if v is None else ("t" if v else "f")
    if logical == "timestamp":
        return timestamp
    return lambda v: copytext.NULL if v is None else str(v)


class _TimestampFormatter:
    """``isoformat`` with a one-entry memo: created_at and updated_at are often one object."""

    def __init__(self) -> None:
        self.last: datetime | None = None
        self.text = copytext.NULL

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return copytext.NULL
        if value is not self.last:
            self.last, self.text = value, value.isoformat(sep=" ")
        return self.text


class CopyLoader:
    """Buffers rows per table as COPY text and hands them over in chunks.

    Rows are formatted here (in the generating thread); ``sink`` receives each chunk as a list
    of ``(table, data)`` in declaration order, i.e. parents before children.
    """

    def __init__(
        self, entities: Iterable[Entity], sink: Callable[[list[tuple[Entity, bytes]]], None]
    ) -> None:
        self.entities = list(entities)
        self.sink = sink
        # One timestamp formatter for every column, so that its memo spans created_at and
        # updated_at.
        timestamp = _TimestampFormatter()
        self.formats = {
            e.name: [(c.name, _formatter(c.type, timestamp)) for c in e.columns]
            for e in self.entities
        }
        self.buffers: dict[str, list[str]] = {e.name: [] for e in self.entities}
        self.counts: dict[str, int] = {e.name: 0 for e in self.entities}
        self.pending = 0

    def add(self, table: str, row: Row) -> None:
        self.buffers[table].append(
            "\t".join([fmt(row[name]) for name, fmt in self.formats[table]]) + "\n"
        )
        self.pending += 1
        if self.pending >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        chunk: list[tuple[Entity, bytes]] = []
        for entity in self.entities:
            lines = self.buffers[entity.name]
            if lines:
                chunk.append((entity, "".join(lines).encode()))
                self.counts[entity.name] += len(lines)
                self.buffers[entity.name] = []
        self.pending = 0
        if chunk:
            self.sink(chunk)


def _copy_chunk(conn: psycopg.Connection[Any], chunk: list[tuple[Entity, bytes]]) -> None:
    with conn.cursor() as cur:
        for entity, data in chunk:
            stmt = sql.SQL("copy {}.{} ({}) from stdin").format(
                sql.Identifier(entity.schema),
                sql.Identifier(entity.name),
                sql.SQL(", ").join(map(sql.Identifier, entity.column_names)),
            )
            with cur.copy(stmt) as copy:
                copy.write(data)


class _DeferredKeys:
    """Drop the foreign keys, unique constraints and secondary indexes of empty tables before a
    bulk load and re-create them after it, inside the load's transaction.

    This is what pg_restore does: building an index once from sorted data and validating a
    foreign key with one join is several times faster than maintaining them row by row. The
    re-created constraints check every loaded row, so nothing goes unvalidated, and if anything
    fails the transaction rolls back with the original definitions intact.
    """

    def __init__(self, conn: psycopg.Connection[Any], entities: list[Entity]) -> None:
        self.conn = conn
        self.tables = [f"{e.schema}.{e.name}" for e in entities]
        self.constraints: list[tuple[str, str, str, str]] = []
        self.indexes: list[tuple[str, str]] = []

    def drop(self) -> None:
        self.constraints = [
            (str(r[0]), str(r[1]), str(r[2]), str(r[3]))
            for r in self.conn.execute(
                """
                select conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
                from pg_constraint
                where conrelid = any(%s::regclass[]) and contype in ('f', 'u')
                order by contype = 'f' desc, conrelid::regclass::text, conname
                """,
                (self.tables,),
            ).fetchall()
        ]
        self.indexes = [
            (str(r[0]), str(r[1]))
            for r in self.conn.execute(
                """
                select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                from pg_index i
                where i.indrelid = any(%s::regclass[])
                  and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
                order by 1
                """,
                (self.tables,),
            ).fetchall()
        ]
        # Foreign keys first: they depend on the unique constraints they point at.
        for table, name, _type, _definition in self.constraints:
            self.conn.execute(
                sql.SQL("alter table {} drop constraint {}").format(
                    sql.SQL(table), sql.Identifier(name)
                )
            )
        for index, _definition in self.indexes:
            self.conn.execute(sql.SQL("drop index {}").format(sql.SQL(index)))

    def restore(self) -> None:
        for _index, definition in self.indexes:
            self.conn.execute(definition.encode())
        # Unique constraints before the foreign keys that reference them.
        for table, name, _type, definition in sorted(self.constraints, key=lambda c: c[2] == "f"):
            self.conn.execute(
                sql.SQL("alter table {} add constraint {} {}").format(
                    sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
                )
            )


def _lift_forced_rls(conn: psycopg.Connection[Any], entities: list[Entity]) -> list[str]:
    """Lift FORCE ROW LEVEL SECURITY for this transaction; returns the tables it was lifted on.

    PostgreSQL refuses ``COPY FROM`` into a table whose policies apply to the current role, and
    FORCE makes them apply to the owner (and so to the maintenance role, a member of it). The
    change is part of the seed's one transaction and re-applied before it commits, so no other
    session ever sees a table unforced. A superuser (policies never apply) needs no lift.
    """
    tables = [f"{e.schema}.{e.name}" for e in entities]
    rows = conn.execute(
        "select c.oid::regclass::text from pg_class c where c.oid = any(%s::regclass[]) "
        "and c.relforcerowsecurity",
        (tables,),
    ).fetchall()
    lifted = [str(r[0]) for r in rows]
    for table in lifted:
        conn.execute(sql.SQL("alter table {} no force row level security").format(sql.SQL(table)))
    return lifted


def _force_rls(conn: psycopg.Connection[Any], tables: list[str]) -> None:
    for table in tables:
        conn.execute(sql.SQL("alter table {} force row level security").format(sql.SQL(table)))


# -- database state ----------------------------------------------------------------------------
def row_counts(dsn: str) -> dict[str, int]:
    """Rows per entity table in the database at ``dsn``."""
    declaration = load_declaration()
    out: dict[str, int] = {}
    with psycopg.connect(dsn) as conn:
        for e in declaration.entities:
            row = conn.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(e.schema), sql.Identifier(e.name)
                )
            ).fetchone()
            out[e.name] = int(row[0]) if row else 0
    return out


def is_empty(dsn: str) -> bool:
    """True when none of the entity tables holds a row."""
    declaration = load_declaration()
    with psycopg.connect(dsn) as conn:
        for e in declaration.entities:
            found = conn.execute(
                sql.SQL("select exists (select 1 from {}.{})").format(
                    sql.Identifier(e.schema), sql.Identifier(e.name)
                )
            ).fetchone()
            if found and found[0]:
                return False
    return True


# -- the world ---------------------------------------------------------------------------------
def _rng(seed: int, *parts: object) -> random.Random:
    # A string seed is hashed with SHA-512 by random.Random: stable across processes.
    # Fake data, not secrets: a reproducible generator is the point.
    return random.Random(":".join(map(str, (seed, *parts))))  # noqa: S311


def _apply_order_history(rng: random.Random, order: Row, invoice: Row) -> bool:
    """Move a pending order (and its invoice) along its lifecycle up to the reference time.

    Returns False when the order ends cancelled (its items were deleted by the cancellation).
    """
    placed: datetime = order["placed_at"]
    target = weighted(rng, ORDER_TARGETS)
    paid = placed + timedelta(seconds=rng.randint(60, 7_200))
    shipped = paid + timedelta(seconds=rng.randint(4 * 3_600, 3 * 86_400))
    completed = shipped + timedelta(seconds=rng.randint(86_400, 7 * 86_400))
    chain = {"paid": paid, "shipped": shipped, "completed": completed}
    refunded_at = cancelled_at = None
    if target == "cancelled":
        cancelled_at = placed + timedelta(seconds=rng.randint(600, 2 * 86_400))
        if cancelled_at > REFERENCE_TIME:
            target, cancelled_at = "pending", None
    elif target == "refunded":
        stage = rng.choice(("paid", "shipped", "completed"))
        refunded_at = chain[stage] + timedelta(seconds=rng.randint(86_400, 20 * 86_400))
        if refunded_at > REFERENCE_TIME:
            target, refunded_at = stage, None
        else:
            chain = {k: v for k, v in chain.items() if v <= chain[stage]}
    if target in chain:
        steps = list(chain)
        while target != "pending" and chain[target] > REFERENCE_TIME:
            i = steps.index(target)
            target = steps[i - 1] if i else "pending"
        chain = (
            {} if target == "pending" else {k: chain[k] for k in steps[: steps.index(target) + 1]}
        )
    elif target in ("pending", "cancelled"):
        chain = {}
    order["status"] = target
    for step, at in chain.items():
        order[f"{step}_at"] = at
    order["cancelled_at"] = cancelled_at
    order["refunded_at"] = refunded_at
    order["updated_at"] = max(
        [placed, *chain.values(), *(t for t in (cancelled_at, refunded_at) if t)]
    )

    if target == "cancelled":
        invoice["status"] = "void"
        invoice["updated_at"] = cancelled_at
    elif target == "pending":
        overdue = invoice["due_at"] <= REFERENCE_TIME
        invoice["status"] = "overdue" if overdue else "issued"
        invoice["updated_at"] = invoice["due_at"] if overdue else invoice["issued_at"]
    else:
        invoice["status"] = "paid"
        invoice["paid_at"] = order["paid_at"]
        invoice["updated_at"] = order["paid_at"]
    return bool(target != "cancelled")


def _subscription_history(rng: random.Random, tenant: TenantContext, sub: Row) -> list[Row]:
    """Apply a subscription's lifecycle up to the reference time; return its invoices."""
    started: datetime = sub["started_at"]
    trial_ends: datetime | None = sub["trial_ends_at"]
    billing_start = trial_ends or started
    if trial_ends and trial_ends > REFERENCE_TIME:
        return []  # still trialing
    end = REFERENCE_TIME
    if rng.random() < 0.25:
        sub["cancelled_at"] = between(rng, started + timedelta(hours=1), REFERENCE_TIME)
        sub["status"] = "cancelled"
        end = sub["cancelled_at"]
    invoices: list[Row] = []
    period = billing_start
    while period < end and len(invoices) < 36:
        inv = subscription_invoice_row(rng, tenant, sub, period)
        paid_at = period + timedelta(seconds=rng.randint(0, 3 * 86_400))
        if rng.random() < 0.93 and paid_at <= REFERENCE_TIME:
            inv["status"], inv["paid_at"], inv["updated_at"] = "paid", paid_at, paid_at
        elif inv["due_at"] <= REFERENCE_TIME:
            inv["status"], inv["updated_at"] = "overdue", inv["due_at"]
        invoices.append(inv)
        period += timedelta(days=30)
    if sub["status"] != "cancelled":
        sub["status"] = "past_due" if any(i["status"] == "overdue" for i in invoices) else "active"
    sub["current_period_end"] = invoices[-1]["issued_at"] + timedelta(days=30) if invoices else None
    times = [started, *(i["issued_at"] for i in invoices)]
    if sub["cancelled_at"]:
        times.append(sub["cancelled_at"])
    sub["updated_at"] = max(times)
    return invoices


def seed(
    dsn: str,
    *,
    scale: float,
    seed: int,
    reset: bool,
    tenants: int = TENANTS,
    show_progress: bool = False,
) -> dict[str, int]:
    """Load deterministic fake data into the (migrated) source database at ``dsn``.

    The rows are generated in a worker thread while the calling thread streams the previous
    chunk into PostgreSQL with COPY, so generation and loading overlap. Everything happens in
    one transaction: readers see no rows or all of them.

    Args:
        dsn: the source database.
        scale: 1 gives ~600,000 rows; customers, orders and events grow linearly.
        seed: the random seed; the same seed, scale and tenants always give identical rows.
        tenants: how many tenants share the volume (Zipf-distributed sizes).
        reset: replace existing rows; without it a non-empty database is refused.
        show_progress: draw a progress bar on the terminal.

    Returns:
        Rows loaded per table.
    """
    plan = tenant_plan(scale, tenants)
    total_rows = sum(plan.totals().values())
    entities = list(load_declaration().entities)
    progress = Progress(
        TextColumn("[bold]seed[/bold] {task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    try:
        conn = psycopg.connect(dsn)
    except psycopg.OperationalError as exc:
        raise LakehouseError(
            f"cannot connect to the source database: {exc}\nStart it with 'lakehouse db up' "
            "or check DATABASE_URL."
        ) from exc
    chunks: queue.Queue[list[tuple[Entity, bytes]] | BaseException | None] = queue.Queue(maxsize=3)
    with conn:
        _prepare(conn, entities, reset=reset)
        with progress:
            task = progress.add_task("generating", total=total_rows)
            keys = _DeferredKeys(conn, entities)
            keys.drop()
            forced = _lift_forced_rls(conn, entities)
            loader = CopyLoader(entities, chunks.put)
            stop = threading.Event()

            def produce() -> None:
                try:
                    _generate(loader, plan, seed, progress, task, stop)
                    loader.flush()
                    chunks.put(None)
                except BaseException as exc:  # handed to the loading thread, which re-raises it
                    chunks.put(exc)

            worker = threading.Thread(target=produce, name="seed-generator", daemon=True)
            worker.start()
            try:
                while (item := chunks.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    _copy_chunk(conn, item)
            finally:
                stop.set()
                while worker.is_alive():  # unblock a producer waiting on a full queue
                    with contextlib.suppress(queue.Empty):
                        chunks.get(timeout=0.1)
                worker.join()
            progress.update(task, description="indexes")
            keys.restore()
            _force_rls(conn, forced)
            conn.commit()
            progress.update(task, description="done", completed=total_rows)
    return dict(loader.counts)


@dataclass(frozen=True)
class _Generation:
    """What every entity's generator shares: where rows go, how many, the seed and progress."""

    loader: CopyLoader
    plan: TenantPlan
    seed: int
    pools: list[LocalePool]
    progress: Progress
    task: TaskID
    stop: threading.Event

    def begin(self, description: str) -> None:
        self.progress.update(self.task, description=description)

    def advance(self, rows: int) -> bool:
        """Count ``rows`` as done; False when the load stopped (generation should end)."""
        self.progress.advance(self.task, rows)
        return not self.stop.is_set()


def _generate(
    loader: CopyLoader,
    plan: TenantPlan,
    seed: int,
    progress: Progress,
    task: TaskID,
    stop: threading.Event,
) -> None:
    """Generate every row of the seeded world into ``loader`` (parents before children).

    One generator per entity, in declaration order; each draws from its own random streams
    (:func:`_rng`), so the rows do not depend on how the work is split.
    """
    run = _Generation(loader, plan, seed, build_pools(seed), progress, task, stop)
    tenants = _tenants(run)
    for generate in (_customers, _products, _subscriptions, _orders, _events):
        if not generate(run, tenants):
            return
    progress.update(task, description="writing")


def _tenants(run: _Generation) -> list[TenantContext]:
    run.begin("tenants")
    tenants: list[TenantContext] = []
    # Tenants signed up over ~2.7 years, the largest (oldest) first.
    spread = 280 / max(run.plan.tenants - 1, 1)
    for t in range(run.plan.tenants):
        rng = _rng(run.seed, "tenant", t)
        pool = run.pools[t % len(run.pools)]
        days = 1_000 - round(spread * t)
        created = REFERENCE_TIME - timedelta(days=days, seconds=rng.randint(0, 86_399))
        row = tenant_row(rng, t, pool, created)
        run.loader.add("tenants", row)
        tenants.append(
            TenantContext(
                id=row["id"],
                index=t,
                created_at=created,
                currency=pool.currency,
                tax_rate=tenant_tax_rate(row["id"]),
                pool=pool,
            )
        )
    run.progress.advance(run.task, run.plan.tenants)
    return tenants


def _customers(run: _Generation, tenants: list[TenantContext]) -> bool:
    run.begin("customers")
    for tenant in tenants:
        rng = _rng(run.seed, "customers", tenant.index)
        first_day = tenant.created_at + timedelta(days=1)
        last_day = REFERENCE_TIME - timedelta(days=1)
        for k in range(run.plan.customers[tenant.index]):
            created = between(rng, first_day, last_day)
            updated = created if rng.random() < 0.7 else between(rng, created, REFERENCE_TIME)
            special = _special_text(tenant.index, k, rng)
            row = customer_row(
                rng,
                tenant,
                run.pools,
                created,
                updated,
                notes=special,
                force_notes=special is not None,
            )
            run.loader.add("customers", row)
        run.progress.advance(run.task, run.plan.customers[tenant.index])
    return True


def _products(run: _Generation, tenants: list[TenantContext]) -> bool:
    run.begin("products")
    for tenant in tenants:
        rng = _rng(run.seed, "products", tenant.index)
        for k in range(run.plan.products[tenant.index]):
            created = between(rng, tenant.created_at, tenant.created_at + timedelta(days=60))
            row = product_row(rng, tenant, k + 1, created)
            special = _special_text(tenant.index, k, rng)
            if special is not None:
                row["description"] = special
            run.loader.add("products", row)
        run.progress.advance(run.task, run.plan.products[tenant.index])
    return True


def _subscriptions(run: _Generation, tenants: list[TenantContext]) -> bool:
    """Subscriptions of about :data:`SUBSCRIBER_SHARE` of the customers, with their invoices."""
    run.begin("subscriptions")
    for tenant in tenants:
        rng = _rng(run.seed, "subscriptions", tenant.index)
        for customer in tenant.customers:
            if rng.random() >= SUBSCRIBER_SHARE:
                continue
            started = between(rng, customer.created_at, REFERENCE_TIME)
            sub = subscription_row(rng, tenant, customer, started)
            invoices = _subscription_history(rng, tenant, sub)
            run.loader.add("subscriptions", sub)
            for inv in invoices:
                run.loader.add("invoices", inv)
    return True


def _orders(run: _Generation, tenants: list[TenantContext]) -> bool:
    """Orders with their items (unless cancelled) and their invoice."""
    run.begin("orders")
    for tenant in tenants:
        rng = _rng(run.seed, "orders", tenant.index)
        count = run.plan.orders[tenant.index]
        for k in range(count):
            customer = tenant.customers[rng.randrange(len(tenant.customers))]
            placed = between(rng, customer.created_at, REFERENCE_TIME)
            n_items = weighted(rng, ORDER_ITEM_COUNTS)
            order, items = order_row(rng, tenant, customer, placed, n_items)
            invoice = order_invoice_row(rng, tenant, order)
            keeps_items = _apply_order_history(rng, order, invoice)
            run.loader.add("orders", order)
            if keeps_items:
                for item in items:
                    run.loader.add("order_items", item)
            run.loader.add("invoices", invoice)
            if k % 1_000 == 999 and not run.advance(1_000):
                return False
        run.progress.advance(run.task, count % 1_000)
    return True


def _events(run: _Generation, tenants: list[TenantContext]) -> bool:
    """Events, 85 % of them by a customer, the rest anonymous."""
    run.begin("events")
    for tenant in tenants:
        rng = _rng(run.seed, "events", tenant.index)
        count = run.plan.events[tenant.index]
        for k in range(count):
            someone: CustomerRef | None = None
            if rng.random() < 0.85 and tenant.customers:
                someone = tenant.customers[rng.randrange(len(tenant.customers))]
            start = someone.created_at if someone else tenant.created_at
            row = event_row(rng, tenant, someone, between(rng, start, REFERENCE_TIME))
            special = _special_text(tenant.index, k, rng)
            if special is not None:
                row["properties"]["note"] = special
            run.loader.add("events", row)
            if k % 5_000 == 4_999 and not run.advance(5_000):
                return False
        run.progress.advance(run.task, count % 5_000)
    return True


def _special_text(tenant_index: int, k: int, rng: random.Random) -> str | None:
    """The deliberate hard cases: every ``HARD_TEXTS`` value, then one large value, at the
    start of the first tenant's rows (so that small scales contain them all)."""
    if tenant_index != 0:
        return None
    if k < len(HARD_TEXTS):
        return HARD_TEXTS[k]
    if k == len(HARD_TEXTS):
        return large_text(rng)
    return None


def _prepare(conn: psycopg.Connection[Any], entities: Iterable[Entity], *, reset: bool) -> None:
    """Refuse a non-empty database unless ``reset``; with ``reset`` empty every table."""
    entities = list(entities)
    names = sql.SQL(", ").join(
        sql.SQL("{}.{}").format(sql.Identifier(e.schema), sql.Identifier(e.name)) for e in entities
    )
    try:
        if reset:
            # CASCADE: the app-side tables that point at tenants (memberships) go with them;
            # they name tenants that the reset replaces.
            conn.execute(sql.SQL("truncate {} cascade").format(names))
            return
        for e in entities:
            found = conn.execute(
                sql.SQL("select exists (select 1 from {}.{})").format(
                    sql.Identifier(e.schema), sql.Identifier(e.name)
                )
            ).fetchone()
            if found and found[0]:
                raise LakehouseError(
                    f"the source database is not empty (table {e.name} has rows); pass --reset "
                    "to replace its data, or --if-empty to keep it"
                )
    except psycopg.errors.UndefinedTable as exc:
        raise LakehouseError(
            f"the source schema is missing ({exc}); run 'lakehouse db migrate' first"
        ) from exc
