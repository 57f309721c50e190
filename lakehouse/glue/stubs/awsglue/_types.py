"""Glue type names, field paths and the local model of choice types.

Type names. ``ApplyMapping`` and ``resolveChoice`` name types as Glue does (``string``, ``int``,
``long``/``bigint``, ``short``, ``byte``, ``float``, ``double``, ``boolean``, ``date``,
``timestamp``, ``binary``, ``decimal`` or ``decimal(p,s)``); a bare ``decimal`` is Glue's
``DecimalType()`` default, ``decimal(10,2)``
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-types.html).
Anything else is parsed as a Spark DDL type.

Choice types (local model). A Glue ``DynamicFrame`` has a schema per record, and a field that
came in with values of several types is a *choice* of those types until it is resolved
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-dynamic-frame.html).
Here a frame is a Spark DataFrame plus, for each top-level column that is a choice, the list of
its Glue type names; the column itself holds every value as text. Reading JSON without a
schema, a column whose values fall into more than one of the classes long, double, boolean and
string becomes such a choice (long and double together widen to double, as Spark infers them);
a union of frames whose column types differ does too. The value's class is decided from its
text, so a JSON string that looks like a number (``"12"``) counts as a number: a known
difference. Choices inside structs and arrays are not modelled (Spark's inferred type stands).
"""

from __future__ import annotations

import re

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql import types as T  # noqa: N812

_SIMPLE: dict[str, T.DataType] = {
    "string": T.StringType(),
    "varchar": T.StringType(),
    "char": T.StringType(),
    "int": T.IntegerType(),
    "integer": T.IntegerType(),
    "long": T.LongType(),
    "bigint": T.LongType(),
    "short": T.ShortType(),
    "smallint": T.ShortType(),
    "byte": T.ByteType(),
    "tinyint": T.ByteType(),
    "float": T.FloatType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
    "bool": T.BooleanType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
    "binary": T.BinaryType(),
    "decimal": T.DecimalType(10, 2),
}
# Source-type names of complex values in a mapping: the value is passed through, not cast.
_COMPLEX = ("array", "struct", "map", "choice", "null")


def spark_type(name: str) -> T.DataType | None:
    """The Spark type of a Glue type name; ``None`` for a complex name (no cast)."""
    key = name.strip().lower()
    if key in _SIMPLE:
        return _SIMPLE[key]
    if key in _COMPLEX:
        return None
    try:
        from pyspark.sql.types import _parse_datatype_string

        return _parse_datatype_string(name)
    except Exception as exc:  # Spark raises several parse error types
        raise ValueError(
            f"unknown Glue type {name!r}; use string, int, long, short, byte, float, double, "
            "boolean, date, timestamp, binary or decimal(p,s)"
        ) from exc


def glue_type_name(dtype: T.DataType) -> str:
    """The Glue name of a Spark type (``LongType`` is ``long``, as ``printSchema`` shows it)."""
    if isinstance(dtype, T.LongType):
        return "long"
    if isinstance(dtype, T.IntegerType):
        return "int"
    if isinstance(dtype, T.ShortType):
        return "short"
    if isinstance(dtype, T.ByteType):
        return "byte"
    if isinstance(dtype, T.StructType):
        return "struct"
    if isinstance(dtype, T.ArrayType):
        return "array"
    if isinstance(dtype, T.MapType):
        return "map"
    return dtype.simpleString()


# --- field paths ---------------------------------------------------------------------------


def split_path(path: str) -> list[str]:
    """``a.b`` -> ``["a", "b"]``; a back-quoted part may hold dots: ```a.b`.c``."""
    parts: list[str] = []
    current = ""
    quoted = False
    for ch in path:
        if ch == "`":
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    if quoted or any(p == "" for p in parts):
        raise ValueError(f"malformed field path {path!r}")
    return parts


def col(*parts: str) -> Column:
    """A column by path parts, each quoted so names may hold dots or spaces."""
    return F.col(".".join("`" + p.replace("`", "``") + "`" for p in parts))


def top_level(df: DataFrame, path: str, case_sensitive: bool = True) -> list[str] | None:
    """Resolve ``path`` against ``df``: the path parts, or ``None`` when nothing matches.

    A top-level column whose name holds dots (as ``unnest`` makes them) wins over a nested
    path of the same spelling.
    """
    names = df.columns if case_sensitive else [c.lower() for c in df.columns]
    key = path if case_sensitive else path.lower()
    if key in names:
        return [df.columns[names.index(key)]]
    try:
        parts = split_path(path)
    except ValueError:
        return None
    dtype: T.DataType = df.schema
    resolved: list[str] = []
    for part in parts:
        if not isinstance(dtype, T.StructType):
            return None
        fields = {(f.name if case_sensitive else f.name.lower()): f for f in dtype.fields}
        field = fields.get(part if case_sensitive else part.lower())
        if field is None:
            return None
        resolved.append(field.name)
        dtype = field.dataType
    return resolved


# --- choice classes ------------------------------------------------------------------------

_LONG = r"^-?[0-9]+$"
_DOUBLE = r"^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"
_BOOLEAN = r"^(true|false)$"


def value_class(text: Column) -> Column:
    """The choice class of a value given as text: long, double, boolean or string."""
    return (
        F.when(text.isNull(), F.lit(None))
        .when(text.rlike(_LONG), F.lit("long"))
        .when(text.rlike(_DOUBLE), F.lit("double"))
        .when(text.rlike(_BOOLEAN), F.lit("boolean"))
        .otherwise(F.lit("string"))
    )


def _matches(text: Column, type_name: str) -> Column:
    """Whether a text value belongs to ``type_name``'s class (numbers widen long to double)."""
    cls = value_class(text)
    if type_name in ("long", "int", "short", "byte", "bigint"):
        return cls == "long"
    if type_name in ("double", "float") or type_name.startswith("decimal"):
        return cls.isin("long", "double")
    if type_name == "boolean":
        return cls == "boolean"
    return cls == "string"


def infer_choices(df: DataFrame) -> dict[str, list[str]]:
    """Columns of ``df`` (string columns only) whose values fall into several classes.

    One Spark job: for each string column, which classes occur.
    """
    candidates = [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)]
    if not candidates:
        return {}
    aggs = [
        F.array_sort(F.collect_set(value_class(col(name)))).alias(f"c{i}")
        for i, name in enumerate(candidates)
    ]
    row = df.agg(*aggs).first()
    out: dict[str, list[str]] = {}
    if row is None:
        return out
    for i, name in enumerate(candidates):
        classes = set(row[f"c{i}"] or [])
        if {"long", "double"} <= classes:
            classes.discard("long")
        if len(classes) > 1:
            out[name] = sorted(classes, key=_ORDER.index)
    return out


_ORDER = ["boolean", "long", "double", "string"]


def project(text: Column, type_name: str) -> Column:
    """Only the values of one type of a choice column, cast to it; the others are null."""
    target = spark_type(type_name) or T.StringType()
    return F.when(_matches(text, type_name), text.cast(target))


def cast_choice(text: Column, type_name: str) -> Column:
    """Every value of a choice column cast to one type (null where the cast fails)."""
    target = spark_type(type_name) or T.StringType()
    return text.cast(target)


def make_struct(text: Column, types: list[str]) -> Column:
    """A struct with one field per type of the choice, each holding the values of its type."""
    return F.struct(*[project(text, t).alias(t) for t in types])


def safe_name(name: str) -> bool:
    """Whether ``name`` is usable as a column name in a generated path."""
    return bool(re.fullmatch(r"[^`]+", name))
