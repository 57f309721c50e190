"""The ``lakehouse crawl`` and ``lakehouse athena`` commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lakehouse.paths import ATHENA_QUERIES_DIR
from tests.support.lake import Lake


def lakehouse(lake: Lake, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAKEHOUSE_LAKE": athena_lake_root(lake)}
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def athena_lake_root(lake: Lake) -> str:
    return lake.settings.lake_uri


def test_crawl_prints_a_summary(athena_lake: Lake, tmp_path: Path) -> None:
    proc = lakehouse(athena_lake, tmp_path, "crawl")
    assert proc.returncode == 0, proc.stderr
    assert "silver.orders" in proc.stdout
    assert "bronze.customers" in proc.stdout
    assert "gold.tenant_summary" in proc.stdout


def test_dashboard_for_a_tenant_as_csv_and_json(athena_lake: Lake, tmp_path: Path) -> None:
    dashboard = ATHENA_QUERIES_DIR / "business" / "tenant_performance_dashboard.sql"
    out = tmp_path / "dash.json"
    proc = lakehouse(
        athena_lake,
        tmp_path,
        "athena",
        "--tenant",
        "acme",
        "--format",
        "csv",
        "-f",
        str(dashboard),
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith('"net_revenue_rank","tenant_name","tenant_slug"')
    assert len(lines) == 2
    assert '"acme"' in lines[1]
    assert "rows in" in proc.stderr
    proc = lakehouse(
        athena_lake,
        tmp_path,
        "athena",
        "--tenant",
        "acme",
        "--format",
        "json",
        "--output",
        str(out),
        "select slug, name from silver.tenants",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == [
        {"slug": "acme", "name": "Acme O'Brien & Co"}
    ]


def test_bad_sql_exits_nonzero_with_the_athena_error(athena_lake: Lake, tmp_path: Path) -> None:
    proc = lakehouse(athena_lake, tmp_path, "athena", "select * from gold.foo")
    assert proc.returncode == 1
    assert "TABLE_NOT_FOUND: gold.foo" in proc.stderr
    proc = lakehouse(
        athena_lake,
        tmp_path,
        "athena",
        "--tenant",
        "acme",
        "select * from read_parquet('/etc/passwd')",
    )
    assert proc.returncode == 1
    assert "NOT_SUPPORTED" in proc.stderr
