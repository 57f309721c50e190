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

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lakehouse.athena.engine import AthenaEngine, AthenaQueryError
from lakehouse.athena.trino import render
from lakehouse.catalog.store import Catalog
from lakehouse.config import Settings

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


@contextmanager
def engine() -> Iterator[AthenaEngine]:
    """One engine (one DuckDB connection) over an empty lake, as ``lakehouse athena`` runs."""
    with tempfile.TemporaryDirectory(prefix="athena-conformance-") as lake:
        settings = Settings(lake=lake, _env_file=None)  # type: ignore[call-arg]
        with AthenaEngine(settings, catalog=Catalog(root=Path(lake)), save_results=False) as e:
            yield e


def run(athena: AthenaEngine, case: Case) -> Outcome:
    try:
        (result,) = athena.execute(case.sql)
    except AthenaQueryError as exc:
        named = case.function is not None and case.function in str(exc)
        if case.refused and exc.code == case.refused and named:
            return Outcome("refused", str(exc))
        if exc.code in ("NOT_SUPPORTED", "FUNCTION_NOT_FOUND"):
            return Outcome("unexpected-refusal", str(exc))
        return Outcome("error", str(exc))
    got = [[render(v, t) for v, t in zip(row, result.types, strict=True)] for row in result.rows]
    if case.refused:
        return Outcome("wrong", f"expected a {case.refused} refusal, got {got}")
    if got == case.rows:
        return Outcome("pass", "")
    return Outcome("wrong", f"got {got}, expected {case.rows} [{result.duckdb_sql}]")


def run_all() -> Iterator[tuple[Case, Outcome]]:
    with engine() as athena:
        for case in load_cases():
            yield case, run(athena, case)


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
