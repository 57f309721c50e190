"""Typing raw bronze strings into silver columns, remembering which values did not parse.

Each logical type of ``entities.json`` has a strict text form (the one PostgreSQL prints). A
value that does not match it is an error, never silently rounded or defaulted: decimals must fit
their precision and scale exactly, booleans accept only true/false/t/f/1/0, timestamps are read as
UTC whatever the session time zone, JSON must parse.
"""

from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from lakehouse_glue.model import Column

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_INT = r"^[+-]?[0-9]+$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
_TS_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_TRUE = ("true", "t", "1")
_FALSE = ("false", "f", "0")


def json_valid(raw: SparkColumn) -> SparkColumn:
    """Whether ``raw`` is one complete JSON document (NULL stays NULL).

    Spark has no JSON validator; parsing the text wrapped in ``[...]`` as ``array<string>`` makes
    Jackson read the whole document (objects, arrays and scalars alike) in the JVM, and a
    malformed or trailing-garbage text gives NULL. The blank text is not JSON.
    """
    parsed = F.from_json(F.concat(F.lit("["), raw, F.lit("]")), "array<string>")
    return F.when(raw.isNotNull(), (F.trim(raw) != F.lit("")) & parsed.isNotNull())


def typed_value(raw: SparkColumn, column: Column) -> tuple[SparkColumn, SparkColumn]:
    """``(typed, parsed)`` for one raw string column.

    ``typed`` is NULL when ``raw`` is NULL or does not parse; ``parsed`` is false exactly when
    ``raw`` is not NULL but does not parse.
    """
    t = column.type
    dec = column.decimal
    if dec is not None:
        precision, scale = dec
        pattern = rf"^[+-]?[0-9]{{1,{precision - scale}}}(\.[0-9]{{1,{scale}}})?$"
        if scale == 0:
            pattern = rf"^[+-]?[0-9]{{1,{precision}}}$"
        typed = F.when(raw.rlike(pattern), raw.cast(column.spark_type))
    elif t == "uuid":
        typed = F.when(raw.rlike(_UUID), F.lower(raw))
    elif t == "string":
        typed = raw
    elif t in ("int", "bigint"):
        typed = F.when(raw.rlike(_INT), raw.cast(column.spark_type))
    elif t == "boolean":
        low = F.lower(F.trim(raw))
        typed = F.when(low.isin(*_TRUE), F.lit(True)).when(low.isin(*_FALSE), F.lit(False))
    elif t == "timestamp":
        typed = timestamp_utc(raw)
    elif t == "date":
        typed = F.when(raw.rlike(_DATE), raw.cast("date"))
    elif t == "json":
        typed = F.when(json_valid(raw), raw)
    else:  # pragma: no cover - model._check_type rejects other types
        raise ValueError(f"no typing rule for logical type {t!r}")
    parsed = raw.isNull() | typed.isNotNull()
    return typed, parsed


def timestamp_utc(raw: SparkColumn) -> SparkColumn:
    """Parse ``yyyy-MM-dd HH:mm:ss[.ffffff][offset]`` as UTC regardless of the session zone."""
    with_zone = F.when(raw.rlike(_TS + _TS_OFFSET), raw).otherwise(F.concat(raw, F.lit("Z")))
    return F.when(raw.rlike(_TS), with_zone.cast("timestamp"))
