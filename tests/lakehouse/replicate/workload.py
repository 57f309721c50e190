"""SQL workloads on the migrated source schema, with the values that break naive CSV."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

# Text values that must survive: NULL vs '' vs the literal texts, and CSV's special characters.
TRICKY_TEXTS: list[str | None] = [
    None,
    "",
    "NULL",
    "\\N",
    "null",
    'a "quoted", comma',
    "line\nbreak",
    "cr\r\nlf",
    "tab\there",
    "naïve café \u2013 日本語 🚀",
    " leading and trailing ",
    '"',
    ",",
    "\\.",
]


def new_id() -> str:
    return str(uuid.uuid4())


def insert_tenant(conn: psycopg.Connection[Any], *, name: str = "Acme", **kw: Any) -> str:
    tid = kw.get("id") or new_id()
    conn.execute(
        """
        insert into tenants (id, name, slug, plan, country, is_active, settings,
                             created_at, updated_at)
        values (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)
        """,
        (
            tid,
            name,
            kw["slug"] if "slug" in kw else f"slug-{tid[:8]}",
            kw.get("plan", "growth"),
            kw.get("country", "DE"),
            kw.get("is_active", True),
            json.dumps(kw.get("settings", {"theme": "dark", "quote": 'say "hi", ok'})),
            kw.get("created_at", "2024-02-29 23:59:59.123456+00"),
            kw.get("updated_at", "2024-03-01 00:00:00+00"),
        ),
    )
    return tid


def insert_customer(conn: psycopg.Connection[Any], tenant_id: str, **kw: Any) -> str:
    cid = kw.get("id") or new_id()
    conn.execute(
        """
        insert into customers (id, tenant_id, email, first_name, last_name, company, phone,
                               country, city, notes, status, is_marketing_opt_in,
                               created_at, updated_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            cid,
            tenant_id,
            kw.get("email") or f"{cid[:8]}@example.com",
            kw.get("first_name", "Ada"),
            kw.get("last_name", "Lovelace"),
            kw.get("company"),
            kw.get("phone"),
            kw.get("country", "GB"),
            kw.get("city"),
            kw.get("notes"),
            kw.get("status", "active"),
            kw.get("is_marketing_opt_in", False),
            kw.get("created_at", "2024-01-01 00:00:00.000001+00"),
            kw.get("updated_at", "2024-01-01 10:30:00+02"),
        ),
    )
    return cid


def insert_product(conn: psycopg.Connection[Any], tenant_id: str, **kw: Any) -> str:
    pid = kw.get("id") or new_id()
    conn.execute(
        """
        insert into products (id, tenant_id, sku, name, description, category, price, cost,
                              currency, is_active, attributes, created_at, updated_at)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)
        """,
        (
            pid,
            tenant_id,
            kw.get("sku") or f"SKU-{pid[:8]}",
            kw.get("name", "Widget"),
            kw.get("description"),
            kw.get("category", "tools"),
            kw.get("price", "12.50"),
            kw.get("cost"),
            kw.get("currency", "EUR"),
            kw.get("is_active", True),
            json.dumps(kw.get("attributes", {"color": "red"})),
            kw.get("created_at", "2024-01-01 00:00:00+00"),
            kw.get("updated_at", "2024-01-01 00:00:00+00"),
        ),
    )
    return pid


def insert_event(conn: psycopg.Connection[Any], tenant_id: str, **kw: Any) -> str:
    eid = kw.get("id") or new_id()
    conn.execute(
        """
        insert into events (id, tenant_id, customer_id, session_id, event_type, properties,
                            occurred_at, created_at, updated_at)
        values (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)
        """,
        (
            eid,
            tenant_id,
            kw.get("customer_id"),
            kw.get("session_id"),
            kw.get("event_type", "page_view"),
            json.dumps(kw.get("properties", {"path": "/"})),
            kw.get("occurred_at", "2024-05-05 05:05:05.5+00"),
            kw.get("created_at", "2024-05-05 05:05:05+00"),
            kw.get("updated_at", "2024-05-05 05:05:05+00"),
        ),
    )
    return eid


def big_text_sql(kib: int) -> str:
    """An SQL expression for about ``kib`` KiB of incompressible text (stored out of line)."""
    return f"(select string_agg(md5(random()::text), '') from generate_series(1, {kib * 32}))"
