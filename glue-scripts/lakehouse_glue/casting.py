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

#: Every pattern ends at ``\z``, the very end of the text: Java's ``$`` (Spark's ``rlike``) also
#: matches before a final line break, and Spark's cast then trims it, so ``"42\n"`` would type.
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z"
#: A UUID already in the form the typed value takes (PostgreSQL prints it so).
_UUID_LOWER = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z"
_INT = r"^[+-]?[0-9]+\z"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\z"
_TS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
_TS_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)\z"
#: A timestamp without an offset (the contract's own form): read as UTC.
_TS_LOCAL = _TS + r"\z"
#: A control character, which JSON allows only as whitespace between tokens.
_CONTROL = r"[\x00-\x1f]"
#: A control character or a line or paragraph separator: never part of a timestamp, though
#: Spark's cast skips some of them (it read "2024-03-10 07:30:00\nZ" as 07:30 UTC).
_NOT_IN_TIME = r"[\x00-\x1f\u0085\u2028\u2029]"
_TRUE = ("true", "t", "1")
_FALSE = ("false", "f", "0")


def json_valid(raw: SparkColumn) -> SparkColumn:
    """Whether ``raw`` is one complete JSON document (NULL stays NULL).

    Spark has no JSON validator. ``json_array_length`` over the text wrapped in ``[...]`` makes
    Jackson read every token of the document (objects, arrays and scalars alike, nested values
    skipped token by token without being copied) and gives NULL for a malformed text; exactly
    one element means one document (the blank text has none, and ``1, 2`` two). Jackson stops
    at the bracket that closes the wrapping array, so a text that closes it early (``1] [2``
    read as ``[1]``, ``[1]]``) would pass: a text holding a ``]`` is counted again wrapped in
    ``[...,0]``, which has two elements only if the whole text was read (a second parser set-up
    for those texts only). Spark's JSON functions accept raw control characters inside strings
    and strings in single quotes (both for Hive), which JSON (and PostgreSQL) forbid, so a text
    holding a control character or a single quote is judged by ``from_json`` instead, told to
    reject both: a full parse that also copies every value, too slow for every row. None
    accepts ``NaN`` or ``Infinity``: they are not JSON.
    """
    count = F.json_array_length
    wrapped = F.concat(F.lit("["), raw, F.lit("]"))
    whole = F.when(
        raw.contains("]"), count(F.concat(F.lit("["), raw, F.lit(",0]"))) == F.lit(2)
    ).otherwise(F.lit(True))
    strict = F.from_json(
        wrapped,
        "array<string>",
        {"allowNonNumericNumbers": "false", "allowSingleQuotes": "false"},
    )
    lenient = raw.rlike(_CONTROL) | raw.contains("'")
    return F.when(
        raw.isNotNull(),
        F.coalesce((count(wrapped) == F.lit(1)) & whole, F.lit(False))
        & (~lenient | strict.isNotNull()),
    )


def typed_value(raw: SparkColumn, column: Column) -> tuple[SparkColumn, SparkColumn]:
    """``(typed, parsed)`` for one raw string column.

    ``typed`` is NULL when ``raw`` is NULL or does not parse; ``parsed`` is false exactly when
    ``raw`` is not NULL but does not parse.
    """
    t = column.type
    dec = column.decimal
    if dec is not None:
        precision, scale = dec
        pattern = rf"^[+-]?[0-9]{{1,{precision - scale}}}(\.[0-9]{{1,{scale}}})?\z"
        if scale == 0:
            pattern = rf"^[+-]?[0-9]{{1,{precision}}}\z"
        typed = F.when(raw.rlike(pattern), raw.cast(column.spark_type))
    elif t == "uuid":
        typed = uuid_value(raw)
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


def uuid_value(raw: SparkColumn) -> SparkColumn:
    """A UUID in lower case, or NULL when ``raw`` is not one.

    Every UUID that PostgreSQL prints is in lower case already: lower-casing it (character by
    character) was as costly as matching it, so a value in that form is kept as it is, and only
    one in another case is matched again and lowered. Three UUID columns of 765,113 events,
    typed in one session, alternating: 3.2-4.2 CPU s before, 2.4-3.1 after.
    """
    return F.when(raw.rlike(_UUID_LOWER), raw).when(raw.rlike(_UUID), F.lower(raw))


def timestamp_utc(raw: SparkColumn) -> SparkColumn:
    """Parse ``yyyy-MM-dd HH:mm:ss[.ffffff][offset]`` as UTC regardless of the session zone.

    The contract's form has no offset. Spark reads a zone-less text in the session's zone, and
    a text with a zone through a per-value zone lookup that costs more than the rest of typing a
    value; so a zone-less text is read as a local date-time (``timestamp_ntz``, no zone at all)
    and placed on the UTC time line by arithmetic: its distance from 1970-01-01 00:00 (a
    day-time interval, exact to the microsecond) is its microseconds since the epoch. Not the
    epoch instant plus that interval: Spark adds an interval's days in the session's zone, so
    a sum landing on an hour a zone repeats or skips moves by that hour. Any other text (an
    offset, not the contract's, still accepted) is judged as before: the prefix must have the
    shape above, and Spark's cast reads the rest with its offset, or as UTC.
    """
    # One subtraction: the former sum of days and time of day also went through a date (0.28
    # -> 0.17 CPU s per 320,000 values on 2 cores, the regular expression aside). The interval
    # as decimal(18,6) seconds holds every year from 1 to 9999 exactly.
    epoch_local = F.lit("1970-01-01 00:00:00").cast("timestamp_ntz")  # folded once by Spark
    seconds = (raw.cast("timestamp_ntz") - epoch_local).cast("decimal(18,6)")
    utc = F.timestamp_micros((seconds * F.lit(1_000_000)).cast("long"))
    with_zone = F.when(raw.rlike(_TS + _TS_OFFSET), raw).otherwise(F.concat(raw, F.lit("Z")))
    other = F.when(raw.rlike(_TS) & ~raw.rlike(_NOT_IN_TIME), with_zone.cast("timestamp"))
    return F.when(raw.rlike(_TS_LOCAL), utc).otherwise(other)
