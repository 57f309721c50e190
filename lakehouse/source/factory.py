"""Builders of realistic, internally consistent source rows, shared by the seed and the
simulator.

A row is a ``dict`` keyed by the declared column names with Python values: ``str`` UUIDs,
``Decimal`` money with two decimals, aware UTC ``datetime``, ``dict`` for jsonb. All randomness
comes from the ``random.Random`` passed in, never from the clock, so a seeded caller gets
identical rows every time.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from lakehouse_glue.model import load_declaration

from lakehouse.source.hardcases import HARD_TEXTS, large_text
from lakehouse.source.pools import LocalePool, ascii_slug

Row = dict[str, Any]
# Version 4 (bits 76-79 = 0100) and variant 10 (bits 62-63): as uuid.UUID(version=4) sets them.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def declared_options(
    entity: str, column: str, options: tuple[tuple[Any, ...], ...]
) -> tuple[tuple[Any, ...], ...]:
    """``options`` (value, weight, ...) when their values are exactly the accepted values
    ``entities.json`` declares for ``entity.column``; the values and the rules live there, only
    the weights here. Raises ``ValueError`` naming the values that differ."""
    declared = load_declaration().entity(entity).column(column).accepted_values or ()
    values = [o[0] for o in options]
    if sorted(values) != sorted(declared) or len(set(values)) != len(values):
        raise ValueError(
            f"the factory's weights for {entity}.{column} name {sorted(values)}, but "
            f"entities.json accepts {sorted(declared)}: give each accepted value one weight"
        )
    return options


CUSTOMER_STATUSES = declared_options(
    "customers", "status", (("active", 80), ("inactive", 12), ("churned", 8))
)
TENANT_PLANS = declared_options(
    "tenants", "plan", (("free", 2), ("starter", 3), ("growth", 2), ("enterprise", 1))
)
SUBSCRIPTION_PLANS = declared_options(
    "subscriptions",
    "plan",
    (
        ("basic", 40, 900),
        ("standard", 35, 2900),
        ("premium", 20, 7900),
        ("enterprise", 5, 24900),
    ),
)
PLAN_ORDER = tuple(p[0] for p in SUBSCRIPTION_PLANS)
PLAN_PRICE_CENTS = {p[0]: p[2] for p in SUBSCRIPTION_PLANS}
EVENT_TYPES = declared_options(
    "events",
    "event_type",
    (
        ("page_view", 40),
        ("product_view", 25),
        ("add_to_cart", 10),
        ("checkout_started", 5),
        ("purchase", 4),
        ("signup", 3),
        ("login", 8),
        ("search", 5),
    ),
)
ANONYMOUS_EVENT_TYPES = ("page_view", "product_view", "search")
CATEGORIES = {
    "apparel": ("T-shirt", "Hoodie", "Jacket", "Sneakers", "Scarf", "Cap"),
    "electronics": ("Headphones", "Charger", "Keyboard", "Monitor", "Speaker", "Webcam"),
    "home": ("Mug", "Lamp", "Blanket", "Vase", "Chair", "Kettle"),
    "books": ("Notebook", "Cookbook", "Novel", "Atlas", "Planner", "Comic"),
    "beauty": ("Serum", "Shampoo", "Soap", "Lotion", "Perfume", "Brush"),
    "sports": ("Yoga Mat", "Bottle", "Racket", "Ball", "Helmet", "Gloves"),
}
ADJECTIVES = ("Classic", "Eco", "Pro", "Mini", "Deluxe", "Smart", "Vintage", "Ultra", "Café")
PATHS = ("/", "/pricing", "/products", "/cart", "/blog/how-we-ship", "/help", "/account", "/søk")
REFERRERS = ("google", "newsletter", "twitter", "direct", "partner,affiliate", None)
DOMAINS = ("example.com", "example.org", "mail.example.net")


@functools.cache
def _cumulative(options: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], list[float]]:
    return tuple(o[0] for o in options), list(itertools.accumulate(o[1] for o in options))


def weighted(rng: random.Random, options: tuple[tuple[Any, ...], ...]) -> Any:
    """Pick the first element of one option, weighted by its second element."""
    values, cumulative = _cumulative(options)
    return values[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def new_id(rng: random.Random) -> str:
    """A random (version 4, RFC 4122 variant) UUID drawn from ``rng``, so that seeded runs
    repeat it. Formatted by hand: ``uuid.UUID`` costs more than the rest of a row."""
    n = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def money(cents: int) -> Decimal:
    """Integer cents as an exact two-decimal ``Decimal`` (``1250`` -> ``12.50``)."""
    return Decimal(cents).scaleb(-2)


def cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A time in ``[start, end]`` with microsecond resolution."""
    span = int((end - start).total_seconds() * 1_000_000)
    return start + timedelta(microseconds=rng.randint(0, max(span, 0)))


def maybe_text(
    rng: random.Random,
    value: str,
    *,
    null: float,
    empty: float,
    hard: float = 0.0,
    large: float = 0.0,
) -> str | None:
    """``value``, or (with the given probabilities) NULL, '', a hard case or a large text."""
    r = rng.random()
    if r < null:
        return None
    r -= null
    if r < empty:
        return ""
    r -= empty
    if r < hard:
        return rng.choice(HARD_TEXTS)
    r -= hard
    if r < large:
        return large_text(rng)
    return value


@dataclass
class ProductRef:
    id: str
    sku: str
    price_cents: int


@dataclass
class CustomerRef:
    id: str
    created_at: datetime
    pool: LocalePool


@dataclass
class TenantContext:
    """What rows of one tenant need to know about it."""

    id: str
    index: int
    created_at: datetime
    currency: str
    tax_rate: Decimal
    pool: LocalePool
    customers: list[CustomerRef] = field(default_factory=list)
    products: list[ProductRef] = field(default_factory=list)
    next_order_number: int = 1
    next_invoice_number: int = 1
    next_customer_number: int = 1

    def order_number(self) -> str:
        n = self.next_order_number
        self.next_order_number += 1
        return f"ORD-{n:08d}"

    def invoice_number(self) -> str:
        n = self.next_invoice_number
        self.next_invoice_number += 1
        return f"INV-{n:08d}"


TAX_RATES = (Decimal("0"), Decimal("0.07"), Decimal("0.10"), Decimal("0.19"), Decimal("0.20"))


def tenant_tax_rate(tenant_id: str) -> Decimal:
    """A tenant's sales tax rate, derived from its id: the seed and the simulator agree on it."""
    return TAX_RATES[int(tenant_id.replace("-", ""), 16) % len(TAX_RATES)]


def tenant_row(rng: random.Random, index: int, pool: LocalePool, created_at: datetime) -> Row:
    name = pool.companies[rng.randrange(len(pool.companies))]
    return {
        "id": new_id(rng),
        "name": name,
        "slug": f"{ascii_slug(name, 'tenant')[:40]}-{index + 1}",
        "plan": weighted(rng, TENANT_PLANS),
        "country": pool.country,
        "is_active": rng.random() > 0.1,
        "settings": {
            "timezone": rng.choice(("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")),
            "currency": pool.currency,
            "features": rng.sample(["sso", "audit_log", "webhooks", "api", "exports"], 3),
            "billing_email": f"billing@{ascii_slug(name, 'tenant')[:20]}.example.com",
            "locale": pool.locale,
        },
        "created_at": created_at,
        "updated_at": created_at + timedelta(days=rng.randint(0, 30)),
    }


def customer_row(
    rng: random.Random,
    tenant: TenantContext,
    pools: list[LocalePool],
    created_at: datetime,
    updated_at: datetime,
    *,
    notes: str | None = None,
    force_notes: bool = False,
) -> Row:
    """A customer; its number within the tenant keeps the e-mail unique."""
    pool = tenant.pool if rng.random() < 0.7 else pools[rng.randrange(len(pools))]
    i = rng.randrange(len(pool.first_names))
    j = rng.randrange(len(pool.last_names))
    number = tenant.next_customer_number
    tenant.next_customer_number += 1
    email = f"{pool.first_slugs[i]}.{pool.last_slugs[j]}.{number}@{rng.choice(DOMAINS)}"
    words = " ".join(rng.sample(pool.words, 4))
    row: Row = {
        "id": new_id(rng),
        "tenant_id": tenant.id,
        "email": email,
        "first_name": pool.first_names[i],
        "last_name": pool.last_names[j],
        "company": maybe_text(rng, rng.choice(pool.companies), null=0.3, empty=0.1, hard=0.02),
        "phone": maybe_text(rng, rng.choice(pool.phones), null=0.2, empty=0.05),
        "country": pool.country,
        "city": maybe_text(rng, rng.choice(pool.cities), null=0.1, empty=0.03),
        "notes": notes
        if force_notes
        else maybe_text(rng, words, null=0.8, empty=0.05, hard=0.1, large=0.005),
        "status": weighted(rng, CUSTOMER_STATUSES),
        "is_marketing_opt_in": rng.random() < 0.4,
        "created_at": created_at,
        "updated_at": updated_at,
    }
    tenant.customers.append(CustomerRef(row["id"], created_at, pool))
    return row


def product_row(
    rng: random.Random, tenant: TenantContext, number: int, created_at: datetime
) -> Row:
    category = rng.choice(tuple(CATEGORIES))
    noun = rng.choice(CATEGORIES[category])
    price = int(rng.lognormvariate(7.8, 0.9))  # cents; median about 24.00
    price = max(99, min(price, 500_000))
    description = maybe_text(
        rng,
        f"{noun} made of {rng.choice(tenant.pool.words)}, {rng.choice(tenant.pool.words)} "
        f'and care. Fits "everything".',
        null=0.2,
        empty=0.05,
        hard=0.05,
        large=0.02,
    )
    attributes: dict[str, Any] = {
        "color": rng.choice(("black", "white", "red", "blue", "grün", "生成り")),
        "weight_g": rng.randint(20, 5000),
        "tags": rng.sample(["new", "sale", "eco", "bestseller", "limited"], rng.randint(0, 3)),
    }
    if rng.random() < 0.01:
        attributes["spec_sheet"] = large_text(rng)
    sku = f"SKU-{number:06d}"
    row: Row = {
        "id": new_id(rng),
        "tenant_id": tenant.id,
        "sku": sku,
        "name": f"{rng.choice(ADJECTIVES)} {noun}",
        "description": description,
        "category": category,
        "price": money(price),
        "cost": None if rng.random() < 0.15 else money(int(price * rng.uniform(0.3, 0.8))),
        "currency": tenant.currency,
        "is_active": rng.random() < 0.9,
        "attributes": attributes,
        "created_at": created_at,
        "updated_at": created_at,
    }
    tenant.products.append(ProductRef(row["id"], sku, price))
    return row


def item_row(
    rng: random.Random,
    tenant: TenantContext,
    order_id: str,
    product: ProductRef,
    at: datetime,
) -> Row:
    quantity = weighted(rng, ((1, 70), (2, 18), (3, 8), (4, 3), (10, 1)))
    gross = quantity * product.price_cents
    discount = int(gross * rng.uniform(0.05, 0.15)) if rng.random() < 0.1 else 0
    return {
        "id": new_id(rng),
        "tenant_id": tenant.id,
        "order_id": order_id,
        "product_id": product.id,
        "quantity": quantity,
        "unit_price": money(product.price_cents),
        "discount": money(discount),
        "line_total": money(gross - discount),
        "created_at": at,
        "updated_at": at,
    }


def order_amounts(
    rng: random.Random, tenant: TenantContext, subtotal_cents: int
) -> dict[str, Decimal]:
    """Discount, tax, shipping and total for a subtotal (total adds up exactly)."""
    discount = int(subtotal_cents * rng.uniform(0.02, 0.1)) if rng.random() < 0.15 else 0
    taxable = subtotal_cents - discount
    tax = int((Decimal(taxable) * tenant.tax_rate).to_integral_value())
    shipping = 0 if subtotal_cents >= 10_000 else rng.choice((0, 499, 999))
    return {
        "subtotal": money(subtotal_cents),
        "discount": money(discount),
        "tax": money(tax),
        "shipping": money(shipping),
        "total": money(taxable + tax + shipping),
    }


def order_row(
    rng: random.Random,
    tenant: TenantContext,
    customer: CustomerRef,
    placed_at: datetime,
    item_count: int,
) -> tuple[Row, list[Row]]:
    """A new pending order with ``item_count`` items of distinct products."""
    order_id = new_id(rng)
    products = rng.sample(tenant.products, min(item_count, len(tenant.products)))
    items = [item_row(rng, tenant, order_id, p, placed_at) for p in products]
    subtotal = sum(cents(i["line_total"]) for i in items)
    pool = customer.pool
    address = None
    if rng.random() > 0.1:  # digital goods have no address
        address = {
            "line1": rng.choice(pool.streets),
            "city": rng.choice(pool.cities),
            "postcode": rng.choice(pool.postcodes),
            "country": pool.country,
        }
    order: Row = {
        "id": order_id,
        "tenant_id": tenant.id,
        "customer_id": customer.id,
        "order_number": tenant.order_number(),
        "status": "pending",
        "currency": tenant.currency,
        **order_amounts(rng, tenant, subtotal),
        "notes": maybe_text(rng, "leave at the door, please", null=0.7, empty=0.1, hard=0.1),
        "shipping_address": address,
        "placed_at": placed_at,
        "paid_at": None,
        "shipped_at": None,
        "completed_at": None,
        "cancelled_at": None,
        "refunded_at": None,
        "created_at": placed_at,
        "updated_at": placed_at,
    }
    return order, items


def order_invoice_row(rng: random.Random, tenant: TenantContext, order: Row) -> Row:
    """The invoice of an order, issued when it was placed (status follows the order)."""
    issued = order["placed_at"]
    return {
        "id": new_id(rng),
        "tenant_id": tenant.id,
        "customer_id": order["customer_id"],
        "subscription_id": None,
        "order_id": order["id"],
        "invoice_number": tenant.invoice_number(),
        "status": "issued",
        "amount": order["total"],
        "currency": order["currency"],
        "issued_at": issued,
        "due_at": issued + timedelta(days=14),
        "paid_at": None,
        "created_at": issued,
        "updated_at": issued,
    }


def subscription_row(
    rng: random.Random, tenant: TenantContext, customer: CustomerRef, started_at: datetime
) -> Row:
    plan = weighted(rng, tuple((p[0], p[1]) for p in SUBSCRIPTION_PLANS))
    trial_ends = started_at + timedelta(days=14) if rng.random() < 0.5 else None
    return {
        "id": new_id(rng),
        "tenant_id": tenant.id,
        "customer_id": customer.id,
        "plan": plan,
        "status": "trialing" if trial_ends else "active",
        "monthly_amount": money(PLAN_PRICE_CENTS[plan]),
        "currency": tenant.currency,
        "started_at": started_at,
        "trial_ends_at": trial_ends,
        "current_period_end": trial_ends or started_at + timedelta(days=30),
        "cancelled_at": None,
        "created_at": started_at,
        "updated_at": started_at,
    }


def subscription_invoice_row(
    rng: random.Random, tenant: TenantContext, subscription: Row, period_start: datetime
) -> Row:
    return {
        "id": new_id(rng),
        "tenant_id": tenant.id,
        "customer_id": subscription["customer_id"],
        "subscription_id": subscription["id"],
        "order_id": None,
        "invoice_number": tenant.invoice_number(),
        "status": "issued",
        "amount": subscription["monthly_amount"],
        "currency": subscription["currency"],
        "issued_at": period_start,
        "due_at": period_start + timedelta(days=14),
        "paid_at": None,
        "created_at": period_start,
        "updated_at": period_start,
    }


def event_row(
    rng: random.Random,
    tenant: TenantContext,
    customer: CustomerRef | None,
    occurred_at: datetime,
    *,
    event_type: str | None = None,
) -> Row:
    if event_type is None:
        event_type = weighted(rng, EVENT_TYPES) if customer else rng.choice(ANONYMOUS_EVENT_TYPES)
    props: dict[str, Any]
    if event_type in ("product_view", "add_to_cart"):
        p = tenant.products[rng.randrange(len(tenant.products))]
        props = {"product_id": p.id, "sku": p.sku, "price": str(money(p.price_cents))}
        if event_type == "add_to_cart":
            props["quantity"] = rng.randint(1, 3)
    elif event_type == "page_view":
        props = {"path": rng.choice(PATHS), "referrer": rng.choice(REFERRERS)}
    elif event_type == "search":
        query = rng.choice(tenant.pool.words)
        props = {"query": rng.choice(HARD_TEXTS) if rng.random() < 0.05 else query}
    elif event_type in ("checkout_started", "purchase"):
        props = {"cart_value": str(money(rng.randint(500, 40_000))), "items": rng.randint(1, 5)}
    elif event_type == "login":
        props = {"method": rng.choice(("password", "sso", "magic_link")), "success": True}
    else:
        props = {"source": rng.choice(("organic", "ads", "referral")), "plan": None}
    props["device"] = rng.choice(("desktop", "mobile", "tablet"))
    if rng.random() < 0.0005:
        props["debug_payload"] = large_text(rng)
    r = rng.random()
    session = None if r < 0.1 else "" if r < 0.13 else f"{rng.getrandbits(64):016x}"
    created = occurred_at + timedelta(microseconds=rng.randint(0, 5_000_000))
    return {
        "id": new_id(rng),
        "tenant_id": tenant.id,
        "customer_id": customer.id if customer else None,
        "session_id": session,
        "event_type": event_type,
        "properties": props,
        "occurred_at": occurred_at,
        "created_at": created,
        "updated_at": created,
    }
