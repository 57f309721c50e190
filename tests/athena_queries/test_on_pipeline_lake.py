"""The Athena queries on a lake built by the real pipeline (seed, replicate, Glue jobs on Spark).

The other Athena tests use a lake written directly with pyarrow; this one proves that the files
the Glue jobs really write (Spark Parquet, DMS CSV from the replicator) read the same way, and that
the business queries, which read the marts the real gold jobs wrote, equal PostgreSQL's answers
under the Definitions of glue-scripts/README.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lakehouse_glue.model import load_declaration

from lakehouse.athena.ddl import gold_marts
from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog.store import load_catalog
from lakehouse.paths import ATHENA_QUERIES_DIR
from tests.support.lake import Lake
from tests.support.oracle import BUSINESS, assert_same_rows, pg_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline_lake(e2e_lake: Lake) -> Lake:
    """The shared end-to-end lake: seeded source, replicated bronze, every silver and gold job,
    the quality report and the crawl that ends ``run_pipeline`` (no explicit crawl here: the
    pipeline must have registered every table and partition itself)."""
    return e2e_lake


def _run(lake: Lake, path: Path, tenant: str | None = None) -> list[object]:
    with AthenaEngine(lake.settings, tenant=tenant, save_results=False) as engine:
        return list(engine.execute(path.read_text(encoding="utf-8")))


def test_crawl_finds_every_layer_without_drift(pipeline_lake: Lake) -> None:
    catalog = load_catalog(pipeline_lake.settings.catalog_uri)
    for database in ("bronze", "silver", "gold"):
        tables = catalog.in_database(database)
        assert tables, database
        for table in tables:
            assert not table.drift.added_vs_declaration, table.qualified_name
            assert not table.drift.missing_vs_declaration, table.qualified_name


def test_pipeline_run_registered_every_table_as_iceberg_partitioned_by_tenant(
    pipeline_lake: Lake,
) -> None:
    catalog = load_catalog(pipeline_lake.settings.catalog_uri)
    names = load_declaration().names
    silver = {t.name: t for t in catalog.in_database("silver")}
    assert set(silver) == {*names, *(f"{n}_history" for n in names)}
    gold = {t.name: t for t in catalog.in_database("gold")}
    assert set(gold) == {m.name for m in gold_marts() if m.columns}
    for table in [*silver.values(), *gold.values()]:
        assert table.format == "iceberg", table.qualified_name
        # Iceberg partitions are hidden: tenant_id is a column the spec partitions by.
        assert table.tenant_column == "tenant_id", table.qualified_name
        assert "tenant_id" in [c.name for c in table.columns], table.qualified_name
    # Every tenant has a tenant_summary row.
    tenants = {str(r[0]) for r in pg_rows(pipeline_lake.dsn, "select id from tenants")}
    with AthenaEngine(pipeline_lake.settings, save_results=False) as engine:
        (result,) = engine.execute("select distinct tenant_id from gold.tenant_summary")
    assert {str(r[0]) for r in result.rows} == tenants


@pytest.mark.parametrize("name", sorted(BUSINESS))
def test_business_queries_equal_postgresql(pipeline_lake: Lake, name: str) -> None:
    (result,) = _run(pipeline_lake, ATHENA_QUERIES_DIR / "business" / name)
    assert_same_rows(result.rows, pg_rows(pipeline_lake.dsn, BUSINESS[name]))  # type: ignore[attr-defined]


def test_every_query_file_runs(pipeline_lake: Lake) -> None:
    for path in sorted(ATHENA_QUERIES_DIR.rglob("*.sql")):
        if path.parent.name == "ddl":
            continue
        assert _run(pipeline_lake, path), path


def test_bronze_null_and_empty_as_in_postgresql(pipeline_lake: Lake) -> None:
    results = _run(pipeline_lake, ATHENA_QUERIES_DIR / "exploration" / "01-bronze-exploration.sql")
    expected = pg_rows(
        pipeline_lake.dsn,
        """
        select count(*) filter (where company is null), count(*) filter (where company = ''),
               count(*) filter (where phone is null), count(*) filter (where phone = ''),
               count(*) filter (where notes is null), count(*) filter (where notes = ''),
               count(*)
        from customers
        """,
    )
    assert_same_rows(results[2].rows, expected)  # type: ignore[attr-defined]


def test_tenant_scoped_dashboard_is_one_row(pipeline_lake: Lake) -> None:
    (slug,) = pg_rows(pipeline_lake.dsn, "select slug from tenants order by slug limit 1")[0]
    (result,) = _run(
        pipeline_lake,
        ATHENA_QUERIES_DIR / "business" / "tenant_performance_dashboard.sql",
        tenant=str(slug),
    )
    rows = result.rows  # type: ignore[attr-defined]
    assert len(rows) == 1
    assert rows[0][2] == slug
