"""Trino's types of expressions, as far as the translation needs them.

sqlglot's ``annotate_types`` types columns from the catalog and most functions; Trino's own rules
are applied on top where they decide the answer: literals (``1.5`` is ``decimal(2,1)``, ``7`` is
``integer``), integer and decimal arithmetic (precision and scale as in Trino's
``DecimalOperators``), date versus timestamp results and the two interval types.
"""

from __future__ import annotations

from sqlglot import exp

DT = exp.DataType
T = exp.DType

INTEGER_TYPES = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT}
FLOAT_TYPES = {T.DOUBLE, T.FLOAT}
# The decimal type an integer type is coerced to in decimal arithmetic.
_INTEGER_AS_DECIMAL = {T.TINYINT: (3, 0), T.SMALLINT: (5, 0), T.INT: (10, 0), T.BIGINT: (19, 0)}
_INTEGER_RANK = {T.TINYINT: 0, T.SMALLINT: 1, T.INT: 2, T.BIGINT: 3}

# INTERVAL YEAR TO MONTH and INTERVAL DAY TO SECOND are told apart by this marker in the
# DataType's ``kind``: DuckDB has one interval type, Trino has two that print differently.
YEAR_MONTH_UNITS = {"YEAR", "MONTH", "QUARTER"}


def build(text: str) -> exp.DataType:
    return exp.DataType.build(text, dialect="trino")


UNKNOWN = exp.DataType(this=T.UNKNOWN)
BOOLEAN = exp.DataType(this=T.BOOLEAN)
INTEGER = exp.DataType(this=T.INT)
BIGINT = exp.DataType(this=T.BIGINT)
DOUBLE = exp.DataType(this=T.DOUBLE)
VARCHAR = exp.DataType(this=T.VARCHAR)
DATE = exp.DataType(this=T.DATE)
TIMESTAMP = exp.DataType(this=T.TIMESTAMP)
TIMESTAMPTZ = exp.DataType(this=T.TIMESTAMPTZ)
JSON = exp.DataType(this=T.JSON)


def interval(year_month: bool) -> exp.DataType:
    dt = exp.DataType(this=T.INTERVAL)
    dt.set("kind", exp.var("YEAR_MONTH" if year_month else "DAY_SECOND"))
    return dt


def is_year_month(dt: exp.DataType | None) -> bool:
    kind = dt.args.get("kind") if dt is not None else None
    return (
        dt is not None and dt.this == T.INTERVAL and kind is not None and kind.name == "YEAR_MONTH"
    )


def type_of(node: exp.Expr) -> exp.DataType:
    t = node.type
    return t if isinstance(t, exp.DataType) else UNKNOWN


def is_known(dt: exp.DataType) -> bool:
    return bool(dt.this not in (T.UNKNOWN, T.NULL))


def is_integer(dt: exp.DataType) -> bool:
    return bool(dt.this in INTEGER_TYPES)


def is_decimal(dt: exp.DataType) -> bool:
    return bool(dt.this == T.DECIMAL)


def is_float(dt: exp.DataType) -> bool:
    return bool(dt.this in FLOAT_TYPES)


def is_numeric(dt: exp.DataType) -> bool:
    return is_integer(dt) or is_decimal(dt) or is_float(dt)


def is_array(dt: exp.DataType) -> bool:
    return bool(dt.this == T.ARRAY)


def is_map(dt: exp.DataType) -> bool:
    return bool(dt.this == T.MAP)


def element(dt: exp.DataType) -> exp.DataType:
    """The element type of an array type (UNKNOWN if not known)."""
    if dt.this == T.ARRAY and dt.expressions:
        inner = dt.expressions[0]
        return inner if isinstance(inner, exp.DataType) else UNKNOWN
    return UNKNOWN


def map_types(dt: exp.DataType) -> tuple[exp.DataType, exp.DataType]:
    if dt.this == T.MAP and len(dt.expressions) == 2:
        k, v = dt.expressions
        return (
            k if isinstance(k, exp.DataType) else UNKNOWN,
            v if isinstance(v, exp.DataType) else UNKNOWN,
        )
    return UNKNOWN, UNKNOWN


def decimal_params(dt: exp.DataType) -> tuple[int, int] | None:
    """(precision, scale) of a decimal or of the decimal an integer type coerces to."""
    if dt.this in _INTEGER_AS_DECIMAL:
        return _INTEGER_AS_DECIMAL[dt.this]
    if dt.this != T.DECIMAL:
        return None
    params = [int(p.name) for p in dt.expressions]
    if not params:
        return 38, 0
    return params[0], params[1] if len(params) > 1 else 0


def decimal(precision: int, scale: int) -> exp.DataType:
    return build(f"DECIMAL({min(precision, 38)}, {scale})")


def wider_integer(a: exp.DataType, b: exp.DataType) -> exp.DataType:
    return a if _INTEGER_RANK[a.this] >= _INTEGER_RANK[b.this] else b


def literal_type(node: exp.Literal) -> exp.DataType:
    """Trino's type of a literal: integer/bigint, decimal(p,s), double (with an exponent)."""
    if node.is_string:
        return build(f"VARCHAR({len(node.name)})")
    text = node.name.lower()
    if "e" in text:
        return DOUBLE
    if "." in text:
        digits = text.lstrip("-+")
        whole, _, frac = digits.partition(".")
        whole = whole.lstrip("0")
        precision = max(len(whole) + len(frac), 1)
        return decimal(precision, len(frac))
    value = int(text)
    return INTEGER if -(2**31) <= value < 2**31 else BIGINT


def decimal_literal_type(text: str) -> exp.DataType:
    """The type of ``DECIMAL 'text'``: every digit counts, leading zeros included."""
    digits = text.strip().lstrip("-+")
    whole, _, frac = digits.partition(".")
    precision = max(len(whole) + len(frac), 1)
    return decimal(precision, len(frac))


def arithmetic(op: type[exp.Expr], left: exp.DataType, right: exp.DataType) -> exp.DataType:
    """Trino's result type of ``left <op> right`` for numbers (UNKNOWN when not numeric)."""
    if not (is_numeric(left) and is_numeric(right)):
        return UNKNOWN
    if is_float(left) or is_float(right):
        return DOUBLE if T.DOUBLE in (left.this, right.this) else exp.DataType(this=T.FLOAT)
    if is_integer(left) and is_integer(right):
        return wider_integer(left, right)
    lp, ls = decimal_params(left) or (38, 0)
    rp, rs = decimal_params(right) or (38, 0)
    if op in (exp.Add, exp.Sub):
        scale = max(ls, rs)
        return decimal(1 + scale + max(lp - ls, rp - rs), scale)
    if op is exp.Mul:
        return decimal(lp + rp, ls + rs)
    if op is exp.Div:
        return decimal(lp + rs + max(rs - ls, 0), max(ls, rs))
    if op is exp.Mod:
        scale = max(ls, rs)
        return decimal(min(lp - ls, rp - rs) + scale, scale)
    return UNKNOWN


def trino_name(dt: exp.DataType) -> str:
    """The type name ``typeof`` returns in Trino (``integer``, ``decimal(5,3)``, ...)."""
    t = dt.this
    simple = {
        T.TINYINT: "tinyint",
        T.SMALLINT: "smallint",
        T.INT: "integer",
        T.BIGINT: "bigint",
        T.DOUBLE: "double",
        T.FLOAT: "real",
        T.BOOLEAN: "boolean",
        T.DATE: "date",
        T.JSON: "json",
        T.VARBINARY: "varbinary",
        T.BINARY: "varbinary",
        T.UUID: "uuid",
    }
    if t in simple:
        return simple[t]
    if t == T.DECIMAL:
        p, s = decimal_params(dt) or (38, 0)
        return f"decimal({p},{s})"
    if t in (T.VARCHAR, T.TEXT):
        return f"varchar({dt.expressions[0].name})" if dt.expressions else "varchar"
    if t == T.CHAR:
        return f"char({dt.expressions[0].name})" if dt.expressions else "char(1)"
    if t in (T.TIMESTAMP, T.TIMESTAMPTZ, T.TIME, T.TIMETZ):
        base = "timestamp" if t in (T.TIMESTAMP, T.TIMESTAMPTZ) else "time"
        precision = dt.expressions[0].name if dt.expressions else "3"
        zone = " with time zone" if t in (T.TIMESTAMPTZ, T.TIMETZ) else ""
        return f"{base}({precision}){zone}"
    if t == T.ARRAY:
        return f"array({trino_name(element(dt))})"
    if t == T.MAP:
        k, v = map_types(dt)
        return f"map({trino_name(k)}, {trino_name(v)})"
    if t == T.INTERVAL:
        return "interval year to month" if is_year_month(dt) else "interval day to second"
    if t == T.NULL:
        return "unknown"
    raise ValueError(f"no Trino name for type {dt.sql('trino')}")
