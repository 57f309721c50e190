"""``lakehouse crawl`` on a real lake: tables, Athena types, partitions and schema drift."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from lakehouse_glue.model import load_declaration

from lakehouse.athena.ddl import gold_marts
from lakehouse.catalog.crawler import crawl
from lakehouse.catalog.store import load_catalog
from lakehouse.config import Settings
from tests.support.lake import Lake


def test_the_fixture_crawl_registers_every_layer(athena_lake: Lake) -> None:
    catalog = load_catalog(athena_lake.settings.catalog_uri)
    names = load_declaration().names
    assert [t.name for t in catalog.in_database("bronze")] == sorted(names)
    assert [t.name for t in catalog.in_database("silver")] == sorted(names)
    # The test lake holds every mart of gold.json (the business queries read them all).
    assert [t.name for t in catalog.in_database("gold")] == sorted(
        m.name for m in gold_marts() if m.columns
    )
    orders = catalog.get("silver", "orders")
    assert orders is not None
    types = {c.name: c.type for c in orders.columns}
    assert types["total"] == "decimal(12,2)"
    assert types["placed_at"] == "timestamp"
    assert types["id"] == "string"
    assert "tenant_id" not in types
    assert [k.name for k in orders.partition_keys] == ["tenant_id"]
    assert sorted(orders.partitions) == sorted(athena_lake.tenant_ids.values())
    assert not orders.drift.any
    bronze = catalog.get("bronze", "customers")
    assert bronze is not None
    assert bronze.format == "csv"
    assert bronze.tenant_column == "tenant_id"
    assert not bronze.drift.any


def _copy_lake(src: Settings, dst: Path) -> Settings:
    shutil.copytree(src.lake_uri, dst / "lake", ignore=shutil.ignore_patterns("_catalog"))
    return Settings(lake=str(dst / "lake"), _env_file=None)  # type: ignore[call-arg]


def test_drift_against_declaration_and_previous_crawl(athena_lake: Lake, tmp_path: Path) -> None:
    settings = _copy_lake(athena_lake.settings, tmp_path)
    crawl(settings)
    folder = Path(settings.bronze_uri) / "dms" / "public" / "tenants"
    original = gzip.decompress((folder / "LOAD00000001.csv.gz").read_bytes()).decode()
    header, first, *_ = original.split("\n")
    columns = header.split(",")
    # A CDC file written after the source gained a column and lost the change sequence.
    new_header = ",".join([*columns[:-1], "region"])
    row = ",".join([*first.split(",")[: len(columns) - 1], "emea"])
    cdc = folder / "20240702-000000123456.csv.gz"
    cdc.write_bytes(gzip.compress(f"{new_header}\n{row}\n".encode()))
    result = crawl(settings)
    tenants = next(t for t in result.tables if t.qualified_name == "bronze.tenants")
    assert tenants.files == 2
    assert [c.name for c in tenants.columns][-2:] == ["dms_change_seq", "region"]
    assert tenants.drift.added_vs_declaration == ("region",)
    assert tenants.drift.added_vs_previous == ("region",)
    assert tenants.drift.missing_vs_declaration == ()
    # Only the new file: the change sequence is gone from the union.
    (folder / "LOAD00000001.csv.gz").unlink()
    result = crawl(settings)
    tenants = next(t for t in result.tables if t.qualified_name == "bronze.tenants")
    assert tenants.drift.missing_vs_declaration == ("dms_change_seq",)
    assert tenants.drift.removed_vs_previous == ("dms_change_seq",)


def test_a_table_whose_data_is_gone_leaves_the_catalog(athena_lake: Lake, tmp_path: Path) -> None:
    settings = _copy_lake(athena_lake.settings, tmp_path)
    crawl(settings)
    shutil.rmtree(Path(settings.gold_uri) / "revenue_daily")
    result = crawl(settings)
    assert result.removed == ("gold.revenue_daily",)
    assert load_catalog(settings.catalog_uri).get("gold", "revenue_daily") is None
    assert not (Path(settings.catalog_uri) / "gold" / "revenue_daily.json").exists()
