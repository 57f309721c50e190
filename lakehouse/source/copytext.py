"""Rows in PostgreSQL's COPY text format, built by hand for speed.

psycopg's ``write_row`` adapts every value through its type system; the seed writes millions of
values whose text form it already knows (UUIDs, cents, timestamps), so it formats lines itself
and streams them with ``copy.write``. Only text and JSON need escaping.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

NULL = "\\N"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(value: str | None) -> str:
    """A text value (or NULL) escaped for COPY text format."""
    if value is None:
        return NULL
    return _escape(value)


def _escape(value: str) -> str:
    # Most values need no escaping; four substring scans are much cheaper than translate().
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def jsonb(value: Any) -> str:
    """A JSON value (or NULL) as COPY text; non-ASCII is kept as is."""
    if value is None:
        return NULL
    return _escape(json.dumps(value, ensure_ascii=False))


def cents(value: int | None) -> str:
    """Money held as integer cents, as ``numeric(12,2)`` text (``1250`` -> ``12.50``)."""
    if value is None:
        return NULL
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


def ts(micros: int | None) -> str:
    """A UTC timestamp held as microseconds since the epoch, as ``timestamptz`` text."""
    if micros is None:
        return NULL
    return (EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def boolean(value: bool) -> str:
    return "t" if value else "f"


def line(values: list[str]) -> str:
    """One COPY line from already formatted values."""
    return "\t".join(values) + "\n"


def to_datetime(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def to_micros(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
