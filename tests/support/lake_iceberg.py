"""The iceberg layout of :func:`tests.support.lake.build_lake`: silver tables in Iceberg's
Hadoop layout, built with pyiceberg (no Spark, no source database).

``silver.tenants`` (three tenants) and ``silver.orders``, both partitioned by
``bucket(2, tenant_id)`` as the jobs partition every table (with :data:`BUCKETS` = 2 for three
tenants, acme and initech share a bucket, as thousands of tenants share 64 buckets in a real
lake), with rows whose counts and sums are known here, committed in three snapshots so that
time travel has something to find:

1. ``first``: the first orders of every tenant (append).
2. ``second``: more orders for every tenant (append).
3. ``third``: acme's orders replaced (copy-on-write overwrite: the files of acme's bucket are
   rewritten without acme's old rows, initech's rows in them carried over; globex's bucket is
   untouched).

The expected answers (:attr:`IcebergLake.expected`) are computed from the Python rows, not by
the code under test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import BucketTransform
from pyiceberg.types import (
    DecimalType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from lakehouse.config import Settings
from tests.support.iceberg_catalog import HadoopCatalog

#: The tenants of the test lakes (slug -> id). With :data:`BUCKETS` = 2, acme and initech share
#: a bucket and globex has its own.
TENANTS = {
    "acme": "00000000-0000-4000-8000-00000000000a",
    "globex": "00000000-0000-4000-8000-00000000000b",
    "initech": "00000000-0000-4000-8000-00000000000c",
}

ORDERS_SCHEMA = Schema(
    NestedField(1, "order_id", LongType(), required=False),
    NestedField(2, "tenant_id", StringType(), required=False),
    NestedField(3, "status", StringType(), required=False),
    NestedField(4, "amount", DecimalType(12, 2), required=False),
    NestedField(5, "ordered_at", TimestamptzType(), required=False),
)
ORDERS_ARROW = pa.schema(
    [
        pa.field("order_id", pa.int64()),
        pa.field("tenant_id", pa.string()),
        pa.field("status", pa.string()),
        pa.field("amount", pa.decimal128(12, 2)),
        pa.field("ordered_at", pa.timestamp("us", tz="UTC")),
    ]
)
TENANTS_SCHEMA = Schema(
    NestedField(1, "id", StringType(), required=False),
    NestedField(2, "tenant_id", StringType(), required=False),
    NestedField(3, "slug", StringType(), required=False),
)
TENANTS_ARROW = pa.schema(
    [pa.field("id", pa.string()), pa.field("tenant_id", pa.string()), pa.field("slug", pa.string())]
)


#: Fewer buckets than tenants: a bucket's files hold two tenants' rows.
BUCKETS = 2
BUCKET_FIELD = f"tenant_id_bucket_{BUCKETS}"


def tenant_spec(schema: Schema) -> PartitionSpec:
    source = schema.find_field("tenant_id")
    return PartitionSpec(
        PartitionField(
            source_id=source.field_id,
            field_id=1000,
            transform=BucketTransform(num_buckets=BUCKETS),
            name=BUCKET_FIELD,
        )
    )


def bucket_of(tenant_id: str) -> int:
    """The bucket of a tenant id (Iceberg's Murmur3 bucket function, as pyiceberg computes it)."""
    bucket: int | None = BucketTransform(num_buckets=BUCKETS).transform(StringType())(tenant_id)
    assert bucket is not None
    return bucket


def order_rows(start: int, count: int, tenant: str, cents: int) -> list[dict[str, Any]]:
    from datetime import UTC, datetime, timedelta

    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "order_id": start + i,
            "tenant_id": TENANTS[tenant],
            "status": "paid" if i % 3 else "refunded",
            "amount": Decimal(cents + i) / 100,
            "ordered_at": base + timedelta(hours=start + i),
        }
        for i in range(count)
    ]


@dataclass
class IcebergLake:
    """The lake, its settings and what each snapshot holds (count and sum per tenant)."""

    root: Path
    settings: Settings
    catalog: HadoopCatalog
    snapshots: dict[str, int] = field(default_factory=dict)
    committed_at: dict[str, int] = field(default_factory=dict)
    began_at: dict[str, int] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def expected(self, snapshot: str, tenant: str | None = None) -> tuple[int, Decimal]:
        wanted = None if tenant is None else TENANTS[tenant]
        rows = [r for r in self.rows[snapshot] if wanted is None or r["tenant_id"] == wanted]
        return len(rows), sum((r["amount"] for r in rows), Decimal("0.00"))

    def orders(self) -> Table:
        return self.catalog.load_table("silver.orders")


def build_iceberg_tables(root: Path, settings: Settings) -> IcebergLake:
    """Create the lake's silver tables under ``root`` (:func:`tests.support.lake.build_lake`)."""
    catalog = HadoopCatalog(root)  # type: ignore[abstract]  # create, load and commit only
    lake = IcebergLake(root=root, settings=settings, catalog=catalog)
    tenants = catalog.create_table(
        "silver.tenants",
        TENANTS_SCHEMA,
        partition_spec=tenant_spec(TENANTS_SCHEMA),
        properties={"format-version": "2"},
    )
    tenants.append(
        pa.Table.from_pylist(
            [{"id": tid, "tenant_id": tid, "slug": slug} for slug, tid in TENANTS.items()],
            schema=TENANTS_ARROW,
        )
    )
    orders = catalog.create_table(
        "silver.orders",
        ORDERS_SCHEMA,
        partition_spec=tenant_spec(ORDERS_SCHEMA),
        properties={
            "format-version": "2",
            "write.merge.mode": "copy-on-write",
            # As the jobs' tables: exact tenant_id bounds, so min/max prunes within a bucket.
            "write.metadata.metrics.column.tenant_id": "full",
        },
    )
    first = [r for i, t in enumerate(TENANTS) for r in order_rows(1000 * i, 20 + i, t, 1999)]
    orders.append(pa.Table.from_pylist(first, schema=ORDERS_ARROW))
    _record(lake, "first", first)
    time.sleep(0.01)  # distinct commit milliseconds
    more = [r for i, t in enumerate(TENANTS) for r in order_rows(1000 * i + 500, 7, t, 500)]
    lake.orders().append(pa.Table.from_pylist(more, schema=ORDERS_ARROW))
    second = first + more
    _record(lake, "second", second)
    time.sleep(0.01)
    acme_new = order_rows(9000, 3, "acme", 10000)
    lake.orders().overwrite(
        pa.Table.from_pylist(acme_new, schema=ORDERS_ARROW),
        overwrite_filter=f"tenant_id = '{TENANTS['acme']}'",
    )
    third = [r for r in second if r["tenant_id"] != TENANTS["acme"]] + acme_new
    _record(lake, "third", third)
    return lake


def _record(lake: IcebergLake, name: str, rows: list[dict[str, Any]]) -> None:
    table = lake.orders()
    current = table.current_snapshot()
    assert current is not None
    lake.snapshots[name] = current.snapshot_id
    lake.committed_at[name] = current.timestamp_ms
    # pyiceberg's overwrite commits two snapshots at once (delete, then append): the commit
    # began with the first of the snapshots this commit added.
    known = set(lake.snapshots.values()) | lake.seen
    added = [s for s in table.snapshots() if s.snapshot_id not in known]
    lake.began_at[name] = min([current.timestamp_ms, *(s.timestamp_ms for s in added)])
    lake.seen |= {s.snapshot_id for s in table.snapshots()}
    lake.rows[name] = rows
