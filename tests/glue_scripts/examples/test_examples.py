"""The Glue Studio-style examples run unchanged through ``lakehouse glue start-job-run --script``.

They read the pipeline lake's silver tables through the catalog and write a partitioned table
through a catalog sink; the results are checked against the same questions asked of
PostgreSQL, to the cent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from pyspark.sql import SparkSession

from lakehouse.catalog.store import load_catalog
from lakehouse.cli.main import app
from lakehouse.config import Settings, get_settings
from lakehouse.paths import GLUE_SCRIPTS_DIR
from tests.support.lake import Lake

pytestmark = pytest.mark.slow

EXAMPLES = GLUE_SCRIPTS_DIR / "examples"


def _run(job: str, script: str, lake: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LAKEHOUSE_LAKE", str(lake))
    get_settings.cache_clear()
    try:
        arguments = {
            "--output_path": f"s3://lakehouse-examples/{job}/",
            "--output_database": "examples",
        }
        result = CliRunner().invoke(
            app,
            [
                "glue",
                "start-job-run",
                "--job-name",
                f"example_{job}",
                "--script",
                str(EXAMPLES / script),
                "--arguments",
                json.dumps(arguments),
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert '"JobRunState": "SUCCEEDED"' in result.output
    return result.output


@pytest.fixture
def example_lake(e2e_lake: Lake, tmp_path: Path) -> Path:
    """A new lake whose catalog knows the pipeline lake's silver tables (read only)."""
    lake = tmp_path / "lake"
    source = Path(Settings(lake=e2e_lake.settings.lake).catalog_uri) / "silver"
    shutil.copytree(source, lake / "_catalog" / "silver")
    return lake


def _pg(dsn: str, sql: str) -> dict[tuple[str, ...], tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(sql).fetchall()
    return {tuple(str(v) for v in r[:-2]): (int(r[-2]), Decimal(r[-1])) for r in rows}


def test_examples_run_end_to_end(
    e2e_lake: Lake, example_lake: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run("customer_orders", "customer_orders.py", example_lake, monkeypatch)
    _run("product_sales", "product_sales.py", example_lake, monkeypatch)
    catalog = load_catalog(str(example_lake / "_catalog"))

    orders = catalog.get("examples", "customer_orders")
    assert orders is not None
    assert [(c.name, c.type) for c in orders.columns] == [
        ("order_id", "string"),
        ("order_number", "string"),
        ("total", "decimal(12,2)"),
        ("paid_at", "timestamp"),
        ("customer_id", "string"),
        ("country", "string"),
        ("customer_status", "string"),
        ("customer_since", "timestamp"),
    ]
    assert [c.name for c in orders.partition_keys] == ["tenant_id"]
    expected = _pg(
        e2e_lake.dsn,
        "select o.tenant_id, count(*), sum(o.total) from orders o "
        "join customers c on c.id = o.customer_id where o.paid_at is not null group by 1",
    )
    assert set(orders.partitions) == {k[0] for k in expected}
    got = (
        spark.read.parquet(orders.location).groupBy("tenant_id").agg({"*": "count", "total": "sum"})
    )
    assert {
        (r["tenant_id"],): (int(r["count(1)"]), Decimal(r["sum(total)"])) for r in got.collect()
    } == expected

    sales = catalog.get("examples", "product_sales")
    assert sales is not None
    types = {c.name: c.type for c in sales.columns}
    assert types["quantity"] == "bigint"
    assert types["list_price"] == "double"
    expected = _pg(
        e2e_lake.dsn,
        "select oi.tenant_id, p.sku, sum(oi.quantity), sum(oi.line_total) from order_items oi "
        "join products p on p.id = oi.product_id group by 1, 2",
    )
    got = (
        spark.read.parquet(sales.location)
        .groupBy("tenant_id", "sku")
        .agg({"quantity": "sum", "line_total": "sum"})
    )
    assert {
        (r["tenant_id"], r["sku"]): (int(r["sum(quantity)"]), Decimal(r["sum(line_total)"]))
        for r in got.collect()
    } == expected
    assert (example_lake / "s3" / "lakehouse-examples" / "product_sales").is_dir()


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ""])
def test_a_hostile_job_name_is_refused_before_anything_runs(name: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakehouse",
            "glue",
            "start-job-run",
            "--job-name",
            name,
            "--script",
            str(EXAMPLES / "customer_orders.py"),
        ],
        env={"LAKEHOUSE_LAKE": str(tmp_path / "lake"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "is not usable" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "lake").exists()
