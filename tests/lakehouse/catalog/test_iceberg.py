"""Reading Iceberg metadata in the Hadoop layout, and registering Iceberg tables in the catalog."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse.catalog import iceberg
from lakehouse.catalog.crawler import crawl
from lakehouse.catalog.store import load_catalog
from tests.support.lake import build_lake
from tests.support.lake_iceberg import (
    BUCKET_FIELD,
    TENANTS,
    IcebergLake,
    bucket_of,
)


@pytest.fixture
def lake(tmp_path: Path) -> IcebergLake:
    return build_lake(tmp_path / "lake", "iceberg", crawled=False)


def _orders_dir(lake: IcebergLake) -> Path:
    return lake.root / "silver" / "orders"


def test_the_current_metadata_is_the_hinted_version(lake: IcebergLake) -> None:
    folder = _orders_dir(lake)
    hint = (folder / "metadata" / "version-hint.text").read_text().strip()
    assert iceberg.current_metadata_file(folder).name == f"v{hint}.metadata.json"
    current = iceberg.load_table(folder).current_snapshot()
    assert current is not None
    assert current.snapshot_id == lake.snapshots["third"]


def test_a_lagging_hint_walks_forward_to_the_newest_metadata(lake: IcebergLake) -> None:
    # A commit creates vN+1 before it replaces the hint: a reader in between must see vN+1.
    folder = _orders_dir(lake)
    newest = iceberg.current_metadata_file(folder)
    (folder / "metadata" / "version-hint.text").write_text("1")
    assert iceberg.current_metadata_file(folder) == newest


@pytest.mark.parametrize("hint", ["", "garbage", None])
def test_an_unreadable_hint_falls_back_to_the_listing(lake: IcebergLake, hint: str | None) -> None:
    folder = _orders_dir(lake)
    newest = iceberg.current_metadata_file(folder)
    path = folder / "metadata" / "version-hint.text"
    if hint is None:
        path.unlink()
    else:
        path.write_text(hint)
    assert iceberg.current_metadata_file(folder) == newest


def test_a_folder_without_metadata_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "t" / "metadata").mkdir(parents=True)
    with pytest.raises(iceberg.IcebergError, match=r"t holds no Iceberg metadata"):
        iceberg.current_metadata_file(tmp_path / "t")
    assert not iceberg.is_iceberg_table(tmp_path / "t")


def _tenant_rows(files: list[iceberg.LiveFile], tenant_id: str) -> int:
    return sum(
        pq.read_table(f.path, columns=["tenant_id"])
        .column("tenant_id")
        .to_pylist()
        .count(tenant_id)
        for f in files
    )


def test_a_tenant_plans_only_the_files_of_its_bucket(lake: IcebergLake) -> None:
    table = iceberg.load_table(_orders_dir(lake))
    every = list(iceberg.live_files(table, table.current_snapshot()))
    for slug, tenant_id in TENANTS.items():
        files = list(iceberg.tenant_files(table, table.current_snapshot(), "tenant_id", tenant_id))
        assert files
        assert {f.partition[BUCKET_FIELD] for f in files} == {bucket_of(tenant_id)}
        # Nothing of the tenant is left out of the plan...
        assert _tenant_rows(files, tenant_id) == lake.expected("third", slug)[0]
        assert _tenant_rows(every, tenant_id) == lake.expected("third", slug)[0]
        # ...and the other bucket's files are not planned.
        others = [f for f in every if f.partition[BUCKET_FIELD] != bucket_of(tenant_id)]
        assert others
        assert not {f.file.file_path for f in others} & {f.file.file_path for f in files}
    # acme and initech share a bucket. At the second snapshot its files hold both tenants, so
    # a reader must filter by value; at the third, acme's rewrite left files of initech alone,
    # which min/max of tenant_id (exact bounds) prunes from acme's plan.
    second = iceberg.snapshot_by_version(table, lake.snapshots["second"])
    mixed = iceberg.tenant_files(table, second, "tenant_id", TENANTS["acme"])
    tenants_in_files = {
        t
        for f in mixed
        for t in pq.read_table(f.path, columns=["tenant_id"]).column("tenant_id").to_pylist()
    }
    assert tenants_in_files == {TENANTS["acme"], TENANTS["initech"]}
    third = table.current_snapshot()
    bucket = [f for f in every if f.partition[BUCKET_FIELD] == bucket_of(TENANTS["acme"])]
    acme = list(iceberg.tenant_files(table, third, "tenant_id", TENANTS["acme"]))
    assert len(acme) < len(bucket)
    for f in acme:
        assert TENANTS["acme"] in pq.read_table(f.path).column("tenant_id").to_pylist()


def test_every_snapshot_keeps_its_own_files(lake: IcebergLake) -> None:
    table = iceberg.load_table(_orders_dir(lake))
    for name in ("first", "second", "third"):
        snapshot = iceberg.snapshot_by_version(table, lake.snapshots[name])
        total = sum(f.file.record_count for f in iceberg.live_files(table, snapshot))
        assert total == lake.expected(name)[0]


def test_time_travel_picks_the_snapshot_current_at_that_time(lake: IcebergLake) -> None:
    table = iceberg.load_table(_orders_dir(lake))
    second_ms = lake.committed_at["second"]
    at = iceberg.ms_time(second_ms)
    assert iceberg.snapshot_as_of(table, at).snapshot_id == lake.snapshots["second"]
    just_before_third = iceberg.ms_time(lake.began_at["third"] - 1)
    assert iceberg.snapshot_as_of(table, just_before_third).snapshot_id == lake.snapshots["second"]
    with pytest.raises(iceberg.IcebergError, match="no snapshot of the table at or before"):
        iceberg.snapshot_as_of(table, iceberg.ms_time(lake.began_at["first"] - 1))
    with pytest.raises(iceberg.IcebergError, match="snapshot id does not exist: 42"):
        iceberg.snapshot_by_version(table, 42)


def test_crawl_registers_iceberg_tables_from_their_metadata(lake: IcebergLake) -> None:
    result = crawl(lake.settings, ["silver"])
    assert sorted(t.name for t in result.tables) == ["orders", "tenants"]
    orders = load_catalog(lake.settings.catalog_uri).get("silver", "orders")
    assert orders is not None
    assert orders.format == "iceberg"
    assert orders.serde["table_type"] == "ICEBERG"
    assert orders.partition_keys == ()
    assert orders.partitions == ()
    assert orders.tenant_column == "tenant_id"
    assert [(c.name, c.type) for c in orders.columns] == [
        ("order_id", "bigint"),
        ("tenant_id", "string"),
        ("status", "string"),
        ("amount", "decimal(12,2)"),
        ("ordered_at", "timestamp"),
    ]
    table = iceberg.load_table(_orders_dir(lake))
    assert orders.files == len(list(iceberg.live_files(table, table.current_snapshot())))
    # Its data folder is not mistaken for a Hive-partitioned Parquet table.
    assert load_catalog(lake.settings.catalog_uri).get("silver", "data") is None


def test_files_written_before_the_tenant_partition_are_planned_not_skipped(
    tmp_path: Path,
) -> None:
    # Rows of every tenant in a file of an unpartitioned spec (a table Terraform created, or an
    # older layout): a tenant's plan must include it, since skipping it would silently lose the
    # tenant's rows; the reader filters its rows by value.
    import pyarrow as pa

    from tests.support.iceberg_catalog import HadoopCatalog
    from tests.support.lake_iceberg import ORDERS_ARROW, ORDERS_SCHEMA, order_rows

    catalog = HadoopCatalog(tmp_path)
    table = catalog.create_table("silver.orders", ORDERS_SCHEMA)
    old = order_rows(1, 3, "acme", 100) + order_rows(50, 4, "globex", 100)
    table.append(pa.Table.from_pylist(old, schema=ORDERS_ARROW))
    with catalog.load_table("silver.orders").update_spec() as spec:
        spec.add_identity("tenant_id")
    catalog.load_table("silver.orders").append(
        pa.Table.from_pylist(order_rows(10, 2, "acme", 100), schema=ORDERS_ARROW)
    )
    loaded = iceberg.load_table(tmp_path / "silver" / "orders")
    snapshot = loaded.current_snapshot()
    acme = list(iceberg.tenant_files(loaded, snapshot, "tenant_id", TENANTS["acme"]))
    assert len(acme) == 2
    assert _tenant_rows(acme, TENANTS["acme"]) == 5
    # globex's plan: the old unpartitioned file only (the identity partition prunes acme's).
    globex = list(iceberg.tenant_files(loaded, snapshot, "tenant_id", TENANTS["globex"]))
    assert [f.file.record_count for f in globex] == [7]
    # Unscoped, every file is read.
    total = sum(f.file.record_count for f in iceberg.live_files(loaded, snapshot))
    assert total == 9
