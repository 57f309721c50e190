"""Result values as Athena writes them in its result CSV.

Athena (engine v3) serialises every value as text: ``true``/``false``, doubles the way Java's
``Double.toString`` prints them (``3.0``, ``1.0E10``, ``NaN``, ``Infinity``), decimals with their
scale, timestamps with milliseconds (``2001-08-22 03:04:05.321``), a timestamp with time zone
followed by its zone (``... UTC``), arrays as ``[a, b]``, maps as ``{k=v}``, rows as ``{f=v}``
(anonymous fields ``field0``, ``field1``, ...), NULL inside a collection as ``null`` and a NULL
value as an empty unquoted field. The DuckDB result type of each column (``cursor.description``)
says which rendering applies, so a map and a row (both Python dicts) are told apart.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any


def java_double(value: float) -> str:
    """``Double.toString``: shortest round-trip digits, scientific outside [1e-3, 1e7)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    return _java_format(repr(value), abs(value))


def java_float(value: float) -> str:
    """``Float.toString`` of a REAL value (shortest digits that round-trip through float32)."""
    if math.isnan(value) or math.isinf(value) or value == 0:
        return java_double(value)
    f32 = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{f32:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f32:
            return _java_format(repr(float(text)), abs(f32))
    return _java_format(repr(f32), abs(f32))


def _java_format(python_repr: str, magnitude: float) -> str:
    exact = Decimal(python_repr)
    if 1e-3 <= magnitude < 1e7:
        text = format(exact, "f")
        return text if "." in text else text + ".0"
    sign, digits, _ = exact.as_tuple()
    significant = "".join(str(d) for d in digits).rstrip("0") or "0"
    return f"{'-' if sign else ''}{significant[0]}.{significant[1:] or '0'}E{exact.adjusted()}"


def _millis(value: datetime | time) -> str:
    return f"{value.microsecond // 1000:03d}"


def _timestamp(value: datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S") + "." + _millis(value)
    if value.year < 1000:
        text = f"{value.year:04d}" + text[len(str(value.year)) :]
    if value.tzinfo is not None:
        offset = value.utcoffset()
        if offset not in (None, timedelta(0)):
            raise ValueError(f"timestamp with a zone other than UTC reached the output: {value}")
        text += " UTC"
    return text


def _split_type_args(inner: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i].strip())
            start = i + 1
    parts.append(inner[start:].strip())
    return [p for p in parts if p]


_FIELD_RE = re.compile(r'^(?:"((?:[^"]|"")*)"|(\S+))\s+(.*)$', re.S)


def _struct_fields(duck_type: str) -> list[tuple[str | None, str]]:
    inner = duck_type[duck_type.index("(") + 1 : duck_type.rindex(")")]
    fields: list[tuple[str | None, str]] = []
    for part in _split_type_args(inner):
        if duck_type.upper().startswith("TUPLE"):
            fields.append((None, part))
            continue
        m = _FIELD_RE.match(part)
        if m is None:
            fields.append((None, part))
        else:
            name = m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)
            fields.append((name, m.group(3)))
    return fields


def render(value: Any, duck_type: str = "") -> str | None:
    """The text Athena writes for ``value`` of DuckDB type ``duck_type`` (None for NULL)."""
    if value is None:
        return None
    t = duck_type.strip().upper()
    if t.endswith("[]"):
        return _render_list(value, duck_type.strip()[:-2])
    if t.startswith("MAP("):
        key_t, val_t = _split_type_args(duck_type[duck_type.index("(") + 1 : duck_type.rindex(")")])
        items = (
            value.items()
            if isinstance(value, dict)
            else zip(value["key"], value["value"], strict=True)
        )
        return "{" + ", ".join(f"{_inner(k, key_t)}={_inner(v, val_t)}" for k, v in items) + "}"
    if t.startswith(("STRUCT(", "TUPLE(")):
        fields = _struct_fields(duck_type)
        values = list(value.values()) if isinstance(value, dict) else list(value)
        parts = []
        for i, ((name, ftype), v) in enumerate(zip(fields, values, strict=True)):
            label = name if name else f"field{i}"
            parts.append(f"{label}={_inner(v, ftype)}")
        return "{" + ", ".join(parts) + "}"
    return _scalar(value, t)


@lru_cache(maxsize=256)
def renderer(duck_type: str = "") -> Callable[[Any], str | None]:
    """:func:`render` for the values of one column: the type is looked at once, not per value."""
    t = duck_type.strip().upper()
    if t.endswith("[]") or t.startswith(("MAP(", "STRUCT(", "TUPLE(")):
        return lambda value: render(value, duck_type)
    return lambda value: None if value is None else _scalar(value, t)


def _inner(value: Any, duck_type: str) -> str:
    text = render(value, duck_type)
    return "null" if text is None else text


def _render_list(value: Any, element_type: str) -> str:
    return "[" + ", ".join(_inner(v, element_type) for v in value) + "]"


def _scalar(value: Any, t: str) -> str:
    if type(value) in (str, int):  # the common cases first (exact: a bool is not an int here)
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_float(value) if t in ("FLOAT", "REAL", "FLOAT4") else java_double(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return _timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S") + "." + _millis(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return " ".join(f"{b:02x}" for b in bytes(value))
    if isinstance(value, timedelta):
        return _interval_day_to_second(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join("null" if v is None else _scalar(v, "") for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def _interval_day_to_second(value: timedelta) -> str:
    total_ms = round(value / timedelta(milliseconds=1))
    sign = "-" if total_ms < 0 else ""
    total_ms = abs(total_ms)
    days, rest = divmod(total_ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{sign}{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
