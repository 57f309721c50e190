"""Every documented example gives Athena's answer, or is refused naming the function.

Every case runs through the engine (guard, translation, DuckDB), one engine and so one DuckDB
connection for the whole suite; it runs in seconds and needs neither Spark nor PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lakehouse.athena.engine import AthenaEngine
from tests.lakehouse.athena.conformance import report
from tests.lakehouse.athena.conformance.suite import Case, engine, load_cases, run

CASES = load_cases()


@pytest.fixture(scope="module")
def athena() -> Iterator[AthenaEngine]:
    with engine() as e:
        yield e


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_documented_example(athena: AthenaEngine, case: Case) -> None:
    outcome = run(athena, case)
    expected = "refused" if case.refused else "pass"
    assert outcome.status == expected, f"{case.sql}\n{outcome.detail}\n(source: {case.source})"


def test_the_suite_is_large_documented_and_mostly_answered() -> None:
    assert len(CASES) >= 300
    assert all(
        c.source.startswith(("https://trino.io/docs/", "https://docs.aws.amazon.com/athena/"))
        for c in CASES
    )
    refused = [c for c in CASES if c.refused]
    assert all(c.function for c in refused), "a refused case names the function refused"
    assert (len(CASES) - len(refused)) / len(CASES) >= 0.95
    families = {c.family for c in CASES}
    assert {
        "math",
        "string",
        "datetime",
        "json",
        "array",
        "map",
        "lambda",
        "regexp",
        "url",
        "aggregate",
        "window",
        "conversion",
        "conditional",
        "bitwise",
    } <= families


def test_readme_reports_the_current_pass_rate() -> None:
    """athena-queries/README.md carries the suite's figures; regenerate with
    ``python -m tests.lakehouse.athena.conformance.report --write``."""
    assert report.current_section() == report.render_section(), (
        "athena-queries/README.md is stale: run "
        "`.venv/bin/python -m tests.lakehouse.athena.conformance.report --write`"
    )
