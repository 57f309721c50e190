"""The parquet layout of :func:`tests.support.lake.build_lake`: a small, real lake built from a
real PostgreSQL.

Beside the pipeline's end-to-end lake, the Athena tests read this one, built in seconds without
Spark, with the awkward values a seed does not make: the eight source
tables are created from ``entities.json`` in a fresh database of the session cluster, filled with
deterministic rows (NULLs, empty strings, quotes, commas, new lines, non-ASCII), and then written
out following the contracts: bronze as DMS full-load CSV (``LOAD00000001.csv.gz``,
NULL = the contract's marker, an empty field = empty string), silver as Parquet partitioned by
``tenant_id`` with the lineage columns, and every gold mart with the columns of ``gold.json``.
Every expected answer in the tests is computed by PostgreSQL from the same rows.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from lakehouse_glue.changes import CHANGE_SEQ, COMMITTED_AT, PROCESSED_AT
from lakehouse_glue.model import TENANT_COLUMN, Column, load_bronze_contract, load_declaration
from psycopg import sql

from lakehouse.athena.ddl import gold_marts
from lakehouse.config import Settings
from tests.support.lake_iceberg import TENANTS
from tests.support.oracle import gold_answer

NS = uuid.UUID("6d1f3a52-4b8e-4c1a-9a57-0c2f4e1b9d11")
WRITTEN_AT = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)  # processed_at of every silver row
FULL_LOAD_AT = "2024-07-01 00:00:00.000000"
SLUGS = tuple(TENANTS)


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


def _ts(rng: random.Random, start: datetime, days: int) -> datetime:
    return start + timedelta(seconds=rng.randrange(days * 86400), microseconds=rng.randrange(10**6))


def generate_rows(seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Deterministic rows for the eight entities, consistent with the declared rules."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows: dict[str, list[dict[str, Any]]] = {e.name: [] for e in load_declaration().entities}
    awkward = ["NULL", "\\N", 'a,b "quoted"\nsecond line\ttab', "Zoë Nuñez - 東京", "", None]
    for t, slug in enumerate(SLUGS):
        tid = TENANTS[slug]
        t_created = start - timedelta(days=30 + t)
        rows["tenants"].append(
            {
                "id": tid,
                "name": ["Acme O'Brien & Co", "Globex, Inc.", "Initech"][t],
                "slug": slug,
                "plan": ["growth", "starter", "enterprise"][t],
                "country": ["US", "DE", "JP"][t],
                "is_active": t != 2,
                "settings": json.dumps({"theme": ["dark", "light", "auto"][t]}),
                "created_at": t_created,
                "updated_at": t_created + timedelta(days=1),
            }
        )
        customers: list[dict[str, Any]] = []
        for c in range(12 + 3 * t):
            created = _ts(rng, start, 150)
            cust: dict[str, Any] = {
                "id": _id(slug, "customer", c),
                "tenant_id": tid,
                "email": f"c{c}@{slug}.example",
                "first_name": ["Ann", "Bob", "Zoë", "José"][c % 4],
                "last_name": ["Smith", "O'Neil", "Nuñez", "Lee"][c % 4],
                "company": [None, "", "Big, Co", 'Tiny "Q" Ltd'][c % 4],
                "phone": None if c % 3 == 0 else f"+1-555-{c:04d}",
                "country": ["US", "DE", "FR"][c % 3],
                "city": None if c % 5 == 0 else "Springfield",
                "notes": awkward[c % len(awkward)],
                "status": ["active", "active", "inactive", "churned"][c % 4],
                "is_marketing_opt_in": c % 2 == 0,
                "created_at": created,
                "updated_at": created + timedelta(days=2),
            }
            customers.append(cust)
        rows["customers"] += customers
        products: list[dict[str, Any]] = []
        for p in range(5):
            created = start - timedelta(days=10)
            price = Decimal(f"{rng.randrange(500, 20000)}") / 100
            products.append(
                {
                    "id": _id(slug, "product", p),
                    "tenant_id": tid,
                    "sku": f"{slug.upper()}-{p:03d}",
                    "name": f"Product {p} of {slug}",
                    "description": None if p == 0 else f'Describes, "{p}"',
                    "category": ["tools", "toys", "books"][p % 3],
                    "price": price,
                    "cost": None if p == 4 else (price * Decimal("0.55")).quantize(Decimal("0.01")),
                    "currency": "USD",
                    "is_active": p != 3,
                    "attributes": json.dumps({"color": ["red", "blue"][p % 2]}),
                    "created_at": created,
                    "updated_at": created,
                }
            )
        rows["products"] += products
        statuses = ["pending", "paid", "shipped", "completed", "completed", "cancelled", "refunded"]
        for o in range(30 + 5 * t):
            customer = customers[rng.randrange(len(customers))]
            oid = _id(slug, "order", o)
            placed = max(_ts(rng, start, 170), customer["created_at"] + timedelta(hours=1))
            status = statuses[rng.randrange(len(statuses))]
            subtotal = Decimal("0.00")
            for i in range(1 + rng.randrange(3)):
                product = products[rng.randrange(len(products))]
                qty = 1 + rng.randrange(4)
                discount = Decimal("1.00") if rng.random() < 0.3 else Decimal("0.00")
                line_total = qty * product["price"] - discount
                subtotal += line_total
                rows["order_items"].append(
                    {
                        "id": _id(slug, "item", o, i),
                        "tenant_id": tid,
                        "order_id": oid,
                        "product_id": product["id"],
                        "quantity": qty,
                        "unit_price": product["price"],
                        "discount": discount,
                        "line_total": line_total,
                        "created_at": placed,
                        "updated_at": placed,
                    }
                )
            discount = Decimal("5.00") if subtotal > 50 and rng.random() < 0.4 else Decimal("0.00")
            tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
            shipping = Decimal("4.99") if rng.random() < 0.5 else Decimal("0.00")
            paid = placed + timedelta(hours=2) if status not in ("pending", "cancelled") else None
            rows["orders"].append(
                {
                    "id": oid,
                    "tenant_id": tid,
                    "customer_id": customer["id"],
                    "order_number": f"{slug.upper()}-{o:05d}",
                    "status": status,
                    "currency": "USD",
                    "subtotal": subtotal,
                    "discount": discount,
                    "tax": tax,
                    "shipping": shipping,
                    "total": subtotal - discount + tax + shipping,
                    "notes": awkward[o % len(awkward)],
                    "shipping_address": None if o % 4 == 0 else json.dumps({"city": "Köln"}),
                    "placed_at": placed,
                    "paid_at": paid,
                    "shipped_at": placed + timedelta(days=1)
                    if status in ("shipped", "completed", "refunded")
                    else None,
                    "completed_at": placed + timedelta(days=3) if status == "completed" else None,
                    "cancelled_at": placed + timedelta(hours=5) if status == "cancelled" else None,
                    "refunded_at": placed + timedelta(days=20) if status == "refunded" else None,
                    "created_at": placed,
                    "updated_at": placed + timedelta(days=1),
                }
            )
            if paid is not None:
                rows["invoices"].append(
                    {
                        "id": _id(slug, "order-invoice", o),
                        "tenant_id": tid,
                        "customer_id": customer["id"],
                        "subscription_id": None,
                        "order_id": oid,
                        "invoice_number": f"INV-{slug}-O{o:05d}",
                        "status": "paid",
                        "amount": subtotal - discount + tax + shipping,
                        "currency": "USD",
                        "issued_at": placed,
                        "due_at": placed + timedelta(days=14),
                        "paid_at": paid,
                        "created_at": placed,
                        "updated_at": paid,
                    }
                )
        for s in range(6):
            customer = customers[(s * 2) % len(customers)]
            started = customer["created_at"] + timedelta(days=1)
            status = ["trialing", "active", "active", "past_due", "cancelled", "active"][s]
            sid = _id(slug, "subscription", s)
            amount = Decimal(["19.00", "49.00", "99.00", "249.00"][s % 4])
            rows["subscriptions"].append(
                {
                    "id": sid,
                    "tenant_id": tid,
                    "customer_id": customer["id"],
                    "plan": ["basic", "standard", "premium", "enterprise"][s % 4],
                    "status": status,
                    "monthly_amount": amount,
                    "currency": "USD",
                    "started_at": started,
                    "trial_ends_at": started + timedelta(days=14) if s % 2 == 0 else None,
                    "current_period_end": started + timedelta(days=30),
                    "cancelled_at": started + timedelta(days=40) if status == "cancelled" else None,
                    "created_at": started,
                    "updated_at": started,
                }
            )
            rows["invoices"].append(
                {
                    "id": _id(slug, "sub-invoice", s),
                    "tenant_id": tid,
                    "customer_id": customer["id"],
                    "subscription_id": sid,
                    "order_id": None,
                    "invoice_number": f"INV-{slug}-S{s:05d}",
                    "status": ["issued", "paid", "overdue", "void"][s % 4],
                    "amount": amount,
                    "currency": "USD",
                    "issued_at": started,
                    "due_at": started + timedelta(days=14),
                    "paid_at": started + timedelta(days=3) if s % 4 == 1 else None,
                    "created_at": started,
                    "updated_at": started,
                }
            )
        event_types = [
            "page_view",
            "product_view",
            "add_to_cart",
            "checkout_started",
            "purchase",
            "signup",
            "login",
            "search",
        ]
        for ev in range(60 + 10 * t):
            occurred = _ts(rng, start, 170)
            customer_id = None if ev % 5 == 0 else customers[rng.randrange(len(customers))]["id"]
            rows["events"].append(
                {
                    "id": _id(slug, "event", ev),
                    "tenant_id": tid,
                    "customer_id": customer_id,
                    "session_id": None if ev % 7 == 0 else f"s-{ev // 3}",
                    "event_type": event_types[rng.randrange(len(event_types))],
                    "properties": json.dumps({"source": "ads"} if ev % 3 == 0 else {}),
                    "occurred_at": occurred,
                    "created_at": occurred,
                    "updated_at": occurred,
                }
            )
    return rows


def create_source_tables(conn: psycopg.Connection[Any]) -> None:
    """The eight tables as the declaration describes them (types, nullability, keys)."""
    for entity in load_declaration().entities:
        cols = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(
                sql.Identifier(c.name),
                sql.SQL(c.postgres_type),
                sql.SQL("" if c.nullable else " not null"),
            )
            for c in entity.columns
        )
        conn.execute(
            sql.SQL("create table {} ({}, primary key ({}))").format(
                sql.Identifier(entity.name), cols, sql.Identifier(entity.primary_key)
            )
        )


def insert_rows(conn: psycopg.Connection[Any], rows: dict[str, list[dict[str, Any]]]) -> None:
    for entity in load_declaration().entities:
        names = entity.column_names
        with conn.cursor().copy(
            sql.SQL("copy {} ({}) from stdin").format(
                sql.Identifier(entity.name), sql.SQL(", ").join(map(sql.Identifier, names))
            )
        ) as copy:
            for row in rows[entity.name]:
                copy.write_row([row[n] for n in names])


#: The Arrow type of the lake's timestamps.
UTC_MICROS = pa.timestamp("us", tz="UTC")


def arrow_type(column: Column, timestamp: pa.DataType = UTC_MICROS) -> pa.DataType:
    """The Arrow type of a declared column (``timestamp``: the type of its timestamps)."""
    if (dec := column.decimal) is not None:
        return pa.decimal128(dec[0], dec[1])
    return {
        "uuid": pa.string(),
        "string": pa.string(),
        "json": pa.string(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "boolean": pa.bool_(),
        "timestamp": timestamp,
        "date": pa.date32(),
    }[column.type]


def _spark_arrow_type(type_: str) -> pa.DataType:
    t = type_.lower()
    if t.startswith("decimal("):
        p, s = t[len("decimal(") : -1].split(",")
        return pa.decimal128(int(p), int(s))
    return {
        "string": pa.string(),
        "bigint": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[t]


def _write_partitions(table: pa.Table, folder: Path) -> None:
    """Spark's ``partitionBy("tenant_id")`` layout: the column lives in the folder name."""
    tenant_ids = sorted(set(table.column(TENANT_COLUMN).to_pylist()))
    for tid in tenant_ids:
        part = table.filter(pa.compute.equal(table.column(TENANT_COLUMN), tid)).drop_columns(
            [TENANT_COLUMN]
        )
        out = folder / f"{TENANT_COLUMN}={tid}"
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, out / "part-00000-test.snappy.parquet", compression="snappy")
    (folder / "_SUCCESS").write_text("")


def _select_list(columns: tuple[Column, ...]) -> sql.Composable:
    parts: list[sql.Composable] = []
    for c in columns:
        if c.type in ("uuid", "json"):
            parts.append(sql.SQL("{}::text").format(sql.Identifier(c.name)))
        else:
            parts.append(sql.Identifier(c.name))
    return sql.SQL(", ").join(parts)


def export_silver(conn: psycopg.Connection[Any], silver: Path) -> None:
    for entity in load_declaration().entities:
        cur = conn.execute(
            sql.SQL("select {} from {} order by {}").format(
                _select_list(entity.columns),
                sql.Identifier(entity.name),
                sql.Identifier(entity.primary_key),
            )
        )
        records = cur.fetchall()
        arrays: dict[str, pa.Array] = {}
        for i, c in enumerate(entity.columns):
            arrays[c.name] = pa.array([r[i] for r in records], type=arrow_type(c))
        if entity.name == "tenants":
            arrays[TENANT_COLUMN] = arrays["id"]
        updated = arrays["updated_at"]
        arrays[COMMITTED_AT] = updated
        arrays[CHANGE_SEQ] = pa.array(["0" * 35] * len(records), type=pa.string())
        arrays[PROCESSED_AT] = pa.array(
            [WRITTEN_AT] * len(records), type=pa.timestamp("us", tz="UTC")
        )
        _write_partitions(pa.table(arrays), silver / entity.name)


def export_bronze(conn: psycopg.Connection[Any], bronze: Path) -> None:
    """One DMS full-load file per table, written by PostgreSQL's own CSV (NULL as the marker)."""
    contract = load_bronze_contract()
    for entity in load_declaration().entities:
        parts: list[sql.Composable] = [
            sql.SQL("'I' as {}").format(sql.Identifier(contract.op_column)),
            sql.SQL("{} as {}").format(
                sql.Literal(FULL_LOAD_AT), sql.Identifier(contract.timestamp_column_name)
            ),
        ]
        for c in entity.columns:
            ident = sql.Identifier(c.name)
            if c.type == "timestamp":
                parts.append(
                    sql.SQL(
                        "to_char({} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as {}"
                    ).format(ident, ident)
                )
            else:
                parts.append(sql.SQL("{}::text as {}").format(ident, ident))
        parts.append(
            sql.SQL("lpad((row_number() over (order by {}))::text, 35, '0') as {}").format(
                sql.Identifier(entity.primary_key), sql.Identifier(contract.change_seq_column)
            )
        )
        query = sql.SQL(
            "copy (select {} from {} order by {}) to stdout with (format csv, header, null {})"
        )
        data = bytearray()
        with conn.cursor().copy(
            query.format(
                sql.SQL(", ").join(parts),
                sql.Identifier(entity.name),
                sql.Identifier(entity.primary_key),
                sql.Literal(contract.csv_null_value),
            )
        ) as copy:
            for chunk in copy:
                data += chunk
        folder = bronze / contract.table_folder(entity.schema, entity.name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / contract.full_load_file_name(1)).write_bytes(gzip.compress(bytes(data)))


def export_gold(conn: psycopg.Connection[Any], gold: Path) -> None:
    """Every mart of ``gold.json`` with its declared columns and types, as PostgreSQL answers it
    following the Definitions (``tests/support/gold_sql``); the real gold jobs are compared with
    the same SQL in tests/glue_scripts/gold and in test_on_pipeline_lake."""
    for mart in gold_marts():
        if not mart.columns:
            continue
        name = mart.name
        cur = conn.execute(f"select * from {gold_answer(name)} as mart")
        got = [d.name for d in cur.description or []]
        records = cur.fetchall()
        arrays = {}
        for col in mart.columns:
            idx = got.index(col.name)
            arrays[col.name] = pa.array([r[idx] for r in records], type=_spark_arrow_type(col.type))
        _write_partitions(pa.table(arrays), gold / name)


def write_parquet_lake(settings: Settings, dsn: str) -> None:
    """Create and fill the source tables in ``dsn`` (an empty database, superuser), then write
    bronze, silver and gold from them (:func:`tests.support.lake.build_lake`)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("set timezone = 'UTC'")
        create_source_tables(conn)
        insert_rows(conn, generate_rows())
        export_silver(conn, Path(settings.silver_uri))
        export_bronze(conn, Path(settings.bronze_uri))
        export_gold(conn, Path(settings.gold_uri))
