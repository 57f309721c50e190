"""reconcile reads silver's current Iceberg snapshot, never files an older snapshot left behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from lakehouse_glue.model import load_declaration
from pyiceberg.expressions import EqualTo

from lakehouse.reconcile import silver_metrics
from tests.support.iceberg_catalog import HadoopCatalog

ACME = "00000000-0000-4000-8000-00000000000a"
GLOBEX = "00000000-0000-4000-8000-00000000000b"
SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("tenant_id", pa.string()),
        pa.field("price", pa.decimal128(12, 2)),
        pa.field("cost", pa.decimal128(12, 2)),
        pa.field("description", pa.string()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _rows(tenant: str, n: int, cents: int, day: int) -> list[dict[str, Any]]:
    at = datetime(2026, 3, day, tzinfo=UTC)
    return [
        {
            "id": f"{tenant[-1]}-{day}-{i}",
            "tenant_id": tenant,
            "price": Decimal(cents + i) / 100,
            "cost": Decimal(cents) / 200 if i % 3 else None,
            # NULL, '' and text: only NULLs are left out of count(description).
            "description": [None, "", "text"][i % 3],
            "updated_at": at + timedelta(minutes=i),
        }
        for i in range(n)
    ]


def _expected(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for tenant in {r["tenant_id"] for r in rows}:
        mine = [r for r in rows if r["tenant_id"] == tenant]
        out[tenant] = (
            len(mine),
            sum((r["price"] for r in mine), Decimal(0)),
            sum((r["cost"] for r in mine if r["cost"] is not None), Decimal(0)),
            max(r["updated_at"] for r in mine).replace(tzinfo=None),
            sum(r["description"] is not None for r in mine),
            sum(r["cost"] is not None for r in mine),
        )
    return out


def test_silver_metrics_of_an_iceberg_table_are_its_current_snapshots(tmp_path: Path) -> None:
    entity = load_declaration().entity("products")
    assert [c.name for c in entity.columns if c.decimal is not None] == ["price", "cost"]
    assert [c.name for c in entity.columns if c.nullable] == ["description", "cost"]
    catalog = HadoopCatalog(tmp_path)
    table = catalog.create_table("silver.products", SCHEMA)
    with table.update_spec() as spec:
        spec.add_identity("tenant_id")
    first = _rows(ACME, 5, 1000, 1) + _rows(GLOBEX, 3, 2000, 1)
    catalog.load_table("silver.products").append(pa.Table.from_pylist(first, schema=SCHEMA))
    # acme's partition rewritten: its first files stay on disk, outside the current snapshot.
    acme = _rows(ACME, 2, 5000, 2)
    catalog.load_table("silver.products").overwrite(
        pa.Table.from_pylist(acme, schema=SCHEMA), overwrite_filter=EqualTo("tenant_id", ACME)
    )
    on_disk = list((tmp_path / "silver" / "products" / "data").rglob("*.parquet"))
    assert len(on_disk) == 3  # acme's old file, acme's new file, globex's file
    got = silver_metrics(str(tmp_path / "silver"), entity)
    assert got == _expected([r for r in first if r["tenant_id"] == GLOBEX] + acme)
