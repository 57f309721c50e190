"""Hand-made bronze rows and files, written with Python's gzip and csv modules per the bronze
contract.

NULL is written as the contract's marker, unquoted, and every other value quoted (so '' is
``""``; the readers take an unquoted empty field as '' too, see ``EMPTY_UNQUOTED``).
"""

from __future__ import annotations

import gzip
import io
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from lakehouse_glue.model import load_bronze_contract, load_declaration

CONTRACT = load_bronze_contract()
DECL = load_declaration()

Row = dict[str, str | None]


#: A value for a row dict that is written as an unquoted empty field (DMS may write '' so).
EMPTY_UNQUOTED = object()


def csv_field(value: object) -> str:
    if value is None:
        return CONTRACT.csv_null_value
    if value is EMPTY_UNQUOTED:
        return ""
    assert isinstance(value, str)
    return '"' + value.replace('"', '""') + '"'


def csv_text(header: Sequence[str], rows: Sequence[Row]) -> str:
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for row in rows:
        out.write(",".join(csv_field(row.get(h)) for h in header) + "\n")
    return out.getvalue()


def table_dir(bronze: Path, entity: str) -> Path:
    return bronze / CONTRACT.table_folder("public", entity)


def default_header(entity: str, with_seq: bool = True) -> list[str]:
    cols = ["Op", CONTRACT.timestamp_column_name, *DECL.entity(entity).column_names]
    return [*cols, CONTRACT.change_seq_column] if with_seq else cols


def write_file(
    bronze: Path,
    entity: str,
    name: str,
    rows: Sequence[Row],
    header: Sequence[str] | None = None,
    mtime: float | None = None,
) -> Path:
    """Write ``<bronze>/dms/public/<entity>/<name>`` atomically (temporary name + rename)."""
    folder = table_dir(bronze, entity)
    folder.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(csv_text(header or default_header(entity), rows).encode("utf-8"))
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    path = folder / name
    os.replace(tmp, path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def seq(n: int) -> str:
    """A 35-digit change sequence."""
    return f"{n:035d}"


# Rows: customers of two tenants (T1, T2), and of tenant number n.

T1 = "11111111-1111-1111-1111-111111111111"
T2 = "22222222-2222-2222-2222-222222222222"
LOAD_TS = "2024-01-01 00:00:00.000000"


def cid(n: int) -> str:
    return f"c0000000-0000-0000-0000-{n:012d}"


def customer(
    op: str, n: int, *, tenant: str = T1, ts: str = LOAD_TS, s: int | None = 0, **values: str | None
) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "Op": op,
        "dms_timestamp": ts,
        "id": cid(n),
        "tenant_id": tenant,
        "email": f"c{n}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": None,
        "phone": None,
        "country": "GB",
        "city": "London",
        "notes": None,
        "status": "active",
        "is_marketing_opt_in": "false",
        "created_at": "2024-01-01 09:00:00.000001",
        "updated_at": "2024-01-01 09:00:00.000001",
        "dms_change_seq": None if s is None else seq(s),
    }
    row.update(values)
    return row


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
