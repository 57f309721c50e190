"""Reading Iceberg metadata in the Hadoop layout, and registering Iceberg tables in the catalog."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse.catalog import iceberg
from lakehouse.catalog.crawler import crawl
from lakehouse.catalog.store import load_catalog
from tests.lakehouse.catalog.iceberg_lake import TENANTS, IcebergLake, build_iceberg_lake


@pytest.fixture
def lake(tmp_path: Path) -> IcebergLake:
    return build_iceberg_lake(tmp_path / "lake")


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


def test_a_tenant_plans_only_its_partition_files(lake: IcebergLake) -> None:
    table = iceberg.load_table(_orders_dir(lake))
    for slug, tenant_id in TENANTS.items():
        files = list(iceberg.live_files(table, table.current_snapshot(), {"tenant_id": tenant_id}))
        assert files
        rows = 0
        for f in files:
            assert f.partition == {"tenant_id": tenant_id}
            column = pq.read_table(f.path, columns=["tenant_id"]).column("tenant_id")
            assert set(column.to_pylist()) == {tenant_id}
            rows += f.file.record_count
        assert rows == lake.expected("third", slug)[0]


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


def test_files_written_before_the_tenant_partition_are_refused_not_skipped(
    tmp_path: Path,
) -> None:
    # Rows of every tenant in a file of an unpartitioned spec: scoping must refuse it, since
    # skipping it would silently lose the tenant's rows.
    import pyarrow as pa

    from tests.lakehouse.catalog.hadoop_catalog import HadoopCatalog
    from tests.lakehouse.catalog.iceberg_lake import ORDERS_ARROW, ORDERS_SCHEMA, order_rows

    catalog = HadoopCatalog(tmp_path)
    table = catalog.create_table("silver.orders", ORDERS_SCHEMA)
    table.append(pa.Table.from_pylist(order_rows(1, 3, "acme", 100), schema=ORDERS_ARROW))
    with catalog.load_table("silver.orders").update_spec() as spec:
        spec.add_identity("tenant_id")
    catalog.load_table("silver.orders").append(
        pa.Table.from_pylist(order_rows(10, 2, "acme", 100), schema=ORDERS_ARROW)
    )
    loaded = iceberg.load_table(tmp_path / "silver" / "orders")
    assert iceberg.tenant_partition_field(loaded, "tenant_id") == "tenant_id"
    with pytest.raises(iceberg.IcebergError, match="cannot be scoped to one tenant"):
        list(iceberg.live_files(loaded, loaded.current_snapshot(), {"tenant_id": TENANTS["acme"]}))
    # Unscoped, every file is read.
    total = sum(f.file.record_count for f in iceberg.live_files(loaded, loaded.current_snapshot()))
    assert total == 5
