"""The Athena engine v3 functions the local engine runs: an allow-list, by Athena name.

The list is exactly what the translation implements with Trino's semantics: the keys of
:data:`lakehouse.athena.trino.functions.FUNCTIONS`, each with the rule that translates it to a
DuckDB built-in, macro or Python UDF. A call whose Athena name is not listed is refused with
``FUNCTION_NOT_FOUND`` naming it, before anything runs; a DuckDB-only function (``read_csv``,
``query``, ``current_setting``, ``getenv``...) is never listed and never runs, whatever the
spelling. The name is the one Athena (Trino) itself prints for the call, found by rendering the
parsed call in sqlglot's ``athena`` dialect, so that spellings sqlglot folds together
(``now()`` and ``current_timestamp``, ``random`` and ``rand``) are checked under the name they
translate as.

Every listed function is exercised by the conformance suite
(``tests/lakehouse/athena/conformance/``, documented examples from the Trino and Athena pages;
``tests/lakehouse/athena/test_functions.py`` keeps that true). Reference: the Athena engine v3
functions are Trino's, https://docs.aws.amazon.com/athena/latest/ug/functions-env3.html and
https://trino.io/docs/current/functions/list.html.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from lakehouse.athena.trino.functions import FUNCTIONS
from lakehouse.athena.trino.translator import trino_function_name

FunctionKind = Literal["scalar", "aggregate", "window", "syntax"]

# Calls that sqlglot parses as functions but that are SQL syntax in Athena.
_SYNTAX = frozenset(
    {"array", "case", "cast", "try_cast", "exists", "extract", "if", "row", "unnest", "try"}
    | {"coalesce", "nullif", "count", "typeof"}
)
_AGGREGATE = frozenset(
    {
        "approx_distinct", "approx_percentile", "arbitrary", "any_value", "array_agg", "avg",
        "bitwise_and_agg", "bitwise_or_agg", "bool_and", "bool_or", "corr", "count_if",
        "covar_pop", "covar_samp", "every", "geometric_mean", "listagg", "max", "max_by", "min",
        "min_by", "regr_intercept", "regr_slope", "stddev", "stddev_pop", "stddev_samp", "sum",
        "var_pop", "var_samp", "variance",
    }
)  # fmt: skip
_WINDOW = frozenset(
    {
        "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value",
        "ntile", "percent_rank", "rank", "row_number",
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
    out: dict[str, FunctionSpec] = {name: FunctionSpec(name, "syntax") for name in _SYNTAX}
    for name in FUNCTIONS:
        kind: FunctionKind = (
            "aggregate" if name in _AGGREGATE else "window" if name in _WINDOW else "scalar"
        )
        if name in out:
            raise ValueError(f"function {name} is listed twice ({out[name].kind}, {kind})")
        out[name] = FunctionSpec(name, kind)
    unknown = (_AGGREGATE | _WINDOW) - set(FUNCTIONS)
    if unknown:
        raise ValueError(f"aggregate or window functions without a translation: {unknown}")
    return out


SPECS: Mapping[str, FunctionSpec] = _specs()
"""Every supported function by lower-case Athena name."""


def is_supported(name: str) -> bool:
    """Whether the Athena function ``name`` (any case) runs on the local engine."""
    return name.lower() in SPECS


def athena_name(node: exp.Func) -> str:
    """The lower-case name Athena gives a parsed call (``now()`` -> ``current_timestamp``).

    A call sqlglot does not know keeps the name it was written with; a known one is rendered in
    the ``athena`` dialect and named by what it renders as, so that the check is about the
    function that runs, not about the spelling. An operator that sqlglot models as a function
    (``a & b``) has its node's name.
    """
    return trino_function_name(node) or node.key
