"""The Athena engine v3 functions the local engine runs: an allow-list, by Athena name.

A function call passes the guard only if its Athena name is listed here. The name is the one
Athena (Trino) itself prints for the call, found by rendering the parsed call in sqlglot's
``athena`` dialect, so that spellings sqlglot folds together (``now()`` and
``current_timestamp``, ``random`` and ``rand``) are checked under the name they translate as,
and a DuckDB-only function (``read_csv``, ``query``, ``current_setting``, ``getenv``...) is
never listed and never runs, whatever the spelling.

The list holds what the translation to DuckDB supports today: each name was run through the
engine's translation and DuckDB with sample arguments (see
``tests/lakehouse/athena/test_functions.py``, which keeps every entry honest). Reference: the
Athena engine v3 functions are Trino's, https://docs.aws.amazon.com/athena/latest/ug/functions-env3.html
and https://trino.io/docs/current/functions/list.html.

This module is the seam for widening coverage: add a name to the right group once the
translation (:mod:`lakehouse.athena.translate`) gives Athena's answer for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

FunctionKind = Literal["scalar", "aggregate", "window", "syntax"]

# Calls that sqlglot parses as functions but that are SQL syntax in Athena.
_SYNTAX = frozenset(
    {"array", "case", "cast", "try_cast", "exists", "extract", "if", "map", "row", "unnest", "try"}
)
_AGGREGATE = frozenset(
    {
        "approx_distinct",
        "approx_percentile",
        "arbitrary",
        "array_agg",
        "avg",
        "bitwise_and_agg",
        "bitwise_or_agg",
        "bool_and",
        "bool_or",
        "corr",
        "count",
        "count_if",
        "covar_pop",
        "covar_samp",
        "geometric_mean",
        "histogram",
        "kurtosis",
        "listagg",
        "max",
        "max_by",
        "min",
        "min_by",
        "regr_intercept",
        "regr_slope",
        "skewness",
        "stddev",
        "stddev_pop",
        "stddev_samp",
        "sum",
        "var_pop",
        "var_samp",
        "variance",
    }
)
_WINDOW = frozenset(
    {
        "cume_dist",
        "dense_rank",
        "first_value",
        "lag",
        "last_value",
        "lead",
        "nth_value",
        "ntile",
        "percent_rank",
        "rank",
        "row_number",
    }
)
_SCALAR = frozenset(
    {
        # mathematical
        "abs", "acos", "asin", "atan", "atan2", "cbrt", "ceil", "ceiling", "cos", "cosh",
        "degrees", "exp", "floor", "is_nan", "ln", "log", "log10", "log2", "mod", "pi", "pow",
        "power", "radians", "rand", "random", "round", "sign", "sin", "sinh", "sqrt", "tan",
        "tanh", "truncate",
        # bitwise
        "bit_count", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor",
        # comparison and conditional
        "coalesce", "greatest", "least", "nullif",
        # string
        "bar", "chr", "concat", "concat_ws", "format", "length", "levenshtein_distance", "lower",
        "lpad", "ltrim", "position", "repeat", "replace", "reverse", "rpad", "rtrim", "split",
        "split_part", "starts_with", "strpos", "substr", "substring", "translate", "trim",
        "upper",
        # regular expressions
        "regexp_count", "regexp_extract", "regexp_extract_all", "regexp_like", "regexp_replace",
        "regexp_split",
        # binary and hashing
        "from_hex", "from_utf8", "md5", "sha1", "sha256", "to_base64", "to_hex", "to_utf8",
        # date and time
        "current_date", "current_time", "current_timestamp", "date", "date_add", "date_diff",
        "date_format", "date_parse", "date_trunc", "day", "day_of_month", "day_of_week",
        "day_of_year", "dow", "doy", "from_iso8601_date", "from_iso8601_timestamp",
        "from_iso8601_timestamp_nanos", "from_unixtime", "hour", "last_day_of_month",
        "localtime", "localtimestamp", "millisecond", "minute", "month", "now",
        "parse_datetime", "quarter", "second", "timezone_hour", "timezone_minute", "to_char",
        "to_milliseconds", "to_timestamp", "to_unixtime", "week", "week_of_year", "year",
        "year_of_week",
        # JSON
        "json_array_length", "json_extract", "json_extract_scalar", "json_format",
        "json_parse", "json_query", "json_value",
        # arrays, maps and lambdas
        "array_distinct", "array_except", "array_intersect", "array_join", "array_max",
        "array_min", "array_position", "array_remove", "array_sort", "cardinality", "contains",
        "element_at", "filter", "map_concat", "map_entries", "map_keys", "map_values",
        "reduce", "sequence", "slice", "transform",
        # URL, UUID and session
        "current_user", "typeof", "url_decode", "url_encode", "uuid",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FunctionSpec:
    """One supported Athena function.

    Attributes:
        name: The lower-case Athena name.
        kind: ``scalar``, ``aggregate``, ``window`` (needs ``over``) or ``syntax`` (a
            construct such as ``cast`` or ``case`` that sqlglot parses as a call).
    """

    name: str
    kind: FunctionKind


def _specs() -> dict[str, FunctionSpec]:
    groups: tuple[tuple[FunctionKind, frozenset[str]], ...] = (
        ("syntax", _SYNTAX),
        ("aggregate", _AGGREGATE),
        ("window", _WINDOW),
        ("scalar", _SCALAR),
    )
    out: dict[str, FunctionSpec] = {}
    for kind, names in groups:
        for name in names:
            if name in out:
                raise ValueError(f"function {name} is listed twice ({out[name].kind}, {kind})")
            out[name] = FunctionSpec(name, kind)
    return out


SPECS: Mapping[str, FunctionSpec] = _specs()
"""Every supported function by lower-case Athena name."""


def is_supported(name: str) -> bool:
    """Whether the Athena function ``name`` (any case) runs on the local engine."""
    return name.lower() in SPECS


_LEADING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def athena_name(node: exp.Func) -> str:
    """The lower-case name Athena gives a parsed call (``now()`` -> ``current_timestamp``).

    A call sqlglot does not know keeps the name it was written with; a known one is rendered in
    the ``athena`` dialect and named by what it renders as, so that the check is about the
    function that runs, not about the spelling.
    """
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    match = _LEADING_NAME.match(node.sql(dialect="athena"))
    return match.group(0).lower() if match else node.key
