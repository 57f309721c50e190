"""``lakehouse athena`` imports only what a query needs.

A query whose statement was prepared before and whose Iceberg snapshot was planned before is
answered from the kept statement and plan (:mod:`lakehouse.athena.prepared`,
:mod:`lakehouse.athena.iceberg_plan`): neither sqlglot nor pyiceberg is needed then, and no
command's library (Spark, PostgreSQL, AWS, Django, the data frame libraries) ever is, nor
pydantic (the settings check themselves), rich (a table to a pipe is written as Markdown
text) or typer (the CLI is click's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

from tests.support.lake_iceberg import IcebergLake

# Libraries the query path must not load once its statement and plan are kept.
HEAVY = (
    "pyspark",
    "py4j",
    "pyiceberg",
    "sqlglot",
    "pyarrow",
    "numpy",
    "pandas",
    "psycopg",
    "psycopg2",
    "boto3",
    "botocore",
    "django",
    "psutil",
    "pydantic_settings",
    "pydantic",
    "pydantic_core",
    "rich",
    "typer",
)
QUERY = "select count(*) as n, sum(amount) as total from silver.orders"


def _run_cli(iceberg_lake: IcebergLake) -> tuple[list[dict[str, str]], list[str]]:
    """The JSON rows ``lakehouse athena`` prints, and the heavy modules its process loaded."""
    probe = (
        "import json, runpy, sys\n"
        f"sys.argv = ['lakehouse', 'athena', '--format', 'json', {QUERY!r}]\n"
        "try:\n"
        "    runpy.run_module('lakehouse.cli.main', run_name='__main__')\n"
        "finally:\n"
        f"    loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "    print(json.dumps(loaded), file=sys.stderr)\n"
    )
    env = {**os.environ, "LAKEHOUSE_LAKE": str(iceberg_lake.root)}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=iceberg_lake.root,  # no .env of the checkout
    )
    return json.loads(out.stdout), json.loads(out.stderr.strip().splitlines()[-1])


def test_a_repeated_query_loads_no_heavy_library(iceberg_lake: IcebergLake) -> None:
    count, total = iceberg_lake.expected("third")
    expected = [{"n": str(count), "total": str(total)}]

    first_rows, first_loaded = _run_cli(iceberg_lake)
    assert first_rows == expected
    # The first run parses (sqlglot) and plans (pyiceberg), and keeps both.
    assert {"sqlglot", "pyiceberg"} <= set(first_loaded)

    again_rows, again_loaded = _run_cli(iceberg_lake)
    assert again_rows == expected
    assert again_loaded == []
    assert Decimal(again_rows[0]["total"]) == total
