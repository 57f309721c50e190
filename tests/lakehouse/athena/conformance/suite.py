"""The Athena conformance suite: documented examples run through the local engine.

Each ``cases/<family>.yaml`` holds examples from the Trino (Athena engine v3) and Athena function
documentation: the SQL, the result the page states (``expected`` for one value, ``rows`` for a
result set) written as Athena prints it in its result CSV, and the page (``source``, per file or
per case). ``basis: definition`` marks a case whose page defines the function without a worked
example; its expected value follows from that definition. A case Athena answers but the local
engine cannot reproduce exactly is marked ``refused: <ERROR_NAME>`` with the ``function`` the
refusal must name: it passes only when the engine refuses it that way.

A value is compared as Athena's CSV text (:func:`lakehouse.athena.trino.render`), so ``1.0``
and ``1``, ``2001-08-22 03:04:05.000`` and ``2001-08-22 03:04:05`` are different answers. The
documentation's own notation for nested values (``{1 -> 2}``, ``['a', 'b']``, ``ROW(1, 'x')``) is
written as Athena's CSV has it (``{1=2}``, ``[a, b]``, ``{field0=1, field1=x}``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import yaml

from lakehouse.athena.trino import TranslationRefusedError, install, render, translate

CASES_DIR = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    family: str
    index: int
    sql: str
    rows: list[list[str | None]]
    source: str
    basis: str
    refused: str | None
    function: str | None
    note: str | None

    @property
    def id(self) -> str:
        return f"{self.family}-{self.index:03d}"


@dataclass(frozen=True)
class Outcome:
    status: str  # "pass", "refused" (as expected), "wrong", "error", "unexpected-refusal"
    detail: str


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for i, raw in enumerate(doc["cases"]):
            if "rows" in raw:
                rows = [[None if v is None else str(v) for v in r] for r in raw["rows"]]
            else:
                value = raw.get("expected")
                rows = [[None if value is None else str(value)]]
            cases.append(
                Case(
                    family=path.stem,
                    index=i,
                    sql=raw["sql"],
                    rows=rows,
                    source=raw.get("source", doc["source"]),
                    basis=raw.get("basis", "example"),
                    refused=raw.get("refused"),
                    function=raw.get("function"),
                    note=raw.get("note"),
                )
            )
    return cases


def connect() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection as the engine sets it up (UTC session, macros and UDFs)."""
    connection = duckdb.connect(":memory:")
    connection.execute("set TimeZone = 'UTC'")
    install(connection)
    return connection


def run(connection: duckdb.DuckDBPyConnection, case: Case) -> Outcome:
    try:
        duck_sql = translate(sqlglot.parse_one(case.sql, read="athena"))
    except TranslationRefusedError as exc:
        if case.refused and exc.code == case.refused and case.function in str(exc):
            return Outcome("refused", str(exc))
        return Outcome("unexpected-refusal", str(exc))
    try:
        cursor = connection.execute(duck_sql)
        result = cursor.fetchall()
    except duckdb.Error as exc:
        return Outcome("error", f"{str(exc).splitlines()[0]} [{duck_sql}]")
    types = [str(d[1]) for d in cursor.description or []]
    got = [[render(v, t) for v, t in zip(row, types, strict=True)] for row in result]
    if case.refused:
        return Outcome("wrong", f"expected a {case.refused} refusal, got {got}")
    if got == case.rows:
        return Outcome("pass", "")
    return Outcome("wrong", f"got {got}, expected {case.rows} [{duck_sql}]")


def run_all() -> Iterator[tuple[Case, Outcome]]:
    connection = connect()
    try:
        for case in load_cases():
            yield case, run(connection, case)
    finally:
        connection.close()


def summary(results: list[tuple[Case, Outcome]]) -> dict[str, Any]:
    total = len(results)
    passed = sum(o.status == "pass" for _, o in results)
    refused = sorted(
        {(c.function or "", c.refused or "") for c, o in results if o.status == "refused"}
    )
    return {
        "total": total,
        "pass": passed,
        "refused": sum(o.status == "refused" for _, o in results),
        "other": total - passed - sum(o.status == "refused" for _, o in results),
        "refused_functions": refused,
        "families": sorted({c.family for c, _ in results}),
    }
