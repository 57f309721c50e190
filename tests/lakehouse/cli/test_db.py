"""``lakehouse db counts``: the counts of a real database, as JSON and as a piped table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lakehouse.paths import REPO_ROOT
from lakehouse.source.seed import row_counts, seed


def _counts(dsn: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", "db", "counts", *args],
        env={**os.environ, "DATABASE_URL": dsn},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout


def test_counts_as_json_and_as_a_piped_table(source_db: str) -> None:
    expected = seed(source_db, scale=0.002, seed=5, reset=False)
    assert expected == row_counts(source_db)
    assert min(expected.values()) > 0, expected

    payload = json.loads(_counts(source_db, "--json"))
    assert payload == {"tables": expected, "total": sum(expected.values())}

    rows = {
        cells[0]: int(cells[1].replace(",", ""))
        for line in _counts(source_db).splitlines()
        if line.startswith("| ")
        and (cells := [c.strip() for c in line.split("|")[1:-1]])
        and cells[1].replace(",", "").isdigit()
    }
    assert rows == {**expected, "total": sum(expected.values())}
