"""Hand-made bronze rows of many tenants: the tenants themselves and their customers."""

from __future__ import annotations

import uuid

from tests.glue_scripts.bronze_files import seq
from tests.glue_scripts.test_silver_job import LOAD_TS, customer

Row = dict[str, str | None]


def tenant_id(n: int) -> str:
    """The id of tenant number ``n`` (a stable UUID)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tenant-{n}"))


def tenant_row(n: int) -> Row:
    """Tenant ``n`` as the full load writes it (slug ``tenant-<n>``)."""
    return {
        "Op": "I",
        "dms_timestamp": LOAD_TS,
        "id": tenant_id(n),
        "name": f"Tenant {n}",
        "slug": f"tenant-{n}",
        "plan": "free",
        "country": "GB",
        "is_active": "true",
        "settings": "{}",
        "created_at": "2024-01-01 09:00:00.000001",
        "updated_at": "2024-01-01 09:00:00.000001",
        "dms_change_seq": seq(0),
    }


def customer_of(n: int, k: int, *, s: int = 0, ts: str = LOAD_TS) -> Row:
    """Customer ``k`` of tenant ``n`` inserted (id number ``n * 100 + k``)."""
    return customer("I", n * 100 + k, tenant=tenant_id(n), s=s, ts=ts)
