"""The function allow-list: every listed function gives a documented answer, nothing DuckDB-only is
listed."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from lakehouse.athena import functions
from lakehouse.athena.guard import READ_DIALECT
from lakehouse.athena.trino.functions import FUNCTIONS
from tests.lakehouse.athena.conformance.suite import load_cases

# DuckDB functions that read files, evaluate SQL text, or reveal settings, secrets, the
# environment or the catalog. None exists in Athena; none may ever be listed.
DANGEROUS = (
    "read_csv", "read_csv_auto", "read_parquet", "read_json", "read_text", "read_blob",
    "parquet_scan", "parquet_metadata", "glob", "query", "query_table", "getenv",
    "current_setting", "json_execute_serialized_sql", "json_serialize_sql",
    "json_deserialize_sql", "json_serialize_plan", "sql_auto_complete", "which_secret",
    "duckdb_settings", "duckdb_secrets", "duckdb_tables", "duckdb_functions",
    "duckdb_extensions", "getvariable", "set_variable", "current_database", "current_schemas",
    "pragma_version", "load_extension", "sniff_csv", "checkpoint", "iceberg_scan",
)  # fmt: skip


_CASES = load_cases()
_ANSWERED_SQL = " ".join(c.sql for c in _CASES if not c.refused).lower()


@pytest.mark.parametrize("name", sorted(set(functions.SPECS) - {"array", "row", "unnest"}))
def test_each_listed_function_is_answered_by_a_documented_example(name: str) -> None:
    """The allow-list is what the translation supports: every name has a conformance case that
    gives Athena's answer (tests/lakehouse/athena/conformance/cases/)."""
    spelled = {
        "try_cast": "try_cast(",
        "case": "case ",
        "exists": "exists (",
        "current_date": "current_date",
        "current_timestamp": "current_timestamp",
        "localtimestamp": "localtimestamp",
    }.get(name)
    pattern = re.escape(spelled) if spelled else rf"\b{re.escape(name)}\s*\("
    if name in ("any", "some", "all"):
        pattern = rf"\b{name}\s*\((values|select)"
    assert re.search(pattern, _ANSWERED_SQL), f"no answered conformance case calls {name}"


def test_the_allow_list_is_the_translation() -> None:
    assert {n for n, s in functions.SPECS.items() if s.kind != "syntax"} == set(FUNCTIONS)
    assert {s.kind for s in functions.SPECS.values()} == {"scalar", "aggregate", "window", "syntax"}


@pytest.mark.parametrize("name", DANGEROUS)
def test_duckdb_only_functions_are_never_listed(name: str) -> None:
    assert not functions.is_supported(name)
    for args in ("('x')", "()"):
        try:
            tree = sqlglot.parse_one(f"SELECT {name}{args}", read=READ_DIALECT)
        except sqlglot.ParseError:
            continue
        for call in tree.find_all(exp.Func):
            assert not functions.is_supported(functions.athena_name(call))


@pytest.mark.parametrize(
    ("written", "athena"),
    [("now()", "current_timestamp"), ("random()", "rand"), ("NOW()", "current_timestamp")],
)
def test_names_are_the_ones_athena_prints(written: str, athena: str) -> None:
    call = sqlglot.parse_one(f"SELECT {written}", read=READ_DIALECT).find(exp.Func)
    assert call is not None
    assert functions.athena_name(call) == athena
