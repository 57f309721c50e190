"""Tenant lifecycle and the bucketed layout on real components (``lakehouse.tenants``): a change
to 10 tenants rewrites only their buckets, a new tenant flows with no deploy, and offboarding
erases a tenant for good. Each test builds a small lake from hand-made bronze files and runs the
real silver job on it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue.model import load_declaration
from lakehouse_glue.tenants import (
    Offboarded,
    OffboardedListError,
    offboarded,
    offboarded_list_path,
)
from pyspark.sql import SparkSession

from lakehouse.catalog import iceberg
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import start_job_run
from lakehouse.tenants import offboard
from tests.support import tables
from tests.support.bronze import cid, customer, customer_of, tenant_id, tenant_row, write_file

pytestmark = pytest.mark.slow


def _customers_of(n: int, per_tenant: int = 2) -> list[dict[str, str | None]]:
    return [customer_of(n, k) for k in range(per_tenant)]


def _run(spark: SparkSession, settings: Settings, entity: str, **arguments: str) -> None:
    job = load_declaration().entity(entity).silver_job_name
    run = start_job_run(settings, job, {f"--{k}": v for k, v in arguments.items()}, spark=spark)
    assert run.state == "SUCCEEDED", run.error


def _summary(settings: Settings, entity: str) -> dict[str, str]:
    table = iceberg.load_table(Path(settings.silver_uri) / entity)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    assert snapshot.summary is not None
    return dict(snapshot.summary.additional_properties)


def test_a_change_to_10_tenants_touches_only_their_buckets_and_a_new_tenant_flows(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    bronze = Path(settings.bronze_uri)
    tenants = range(300)
    rows = [r for n in tenants for r in _customers_of(n)]
    write_file(bronze, "customers", "LOAD00000001.csv.gz", rows)
    _run(spark, settings, "customers")
    table = iceberg.load_table(Path(settings.silver_uri) / "customers")
    every = list(iceberg.live_files(table, table.current_snapshot()))
    buckets = {tables.bucket_of(tenant_id(n)) for n in tenants}
    # One file per bucket: 300 tenants, at most 64 files; one tenant plans one of them.
    assert len(every) == len(buckets) <= ice.LAYOUT.tenant_buckets
    planned = list(iceberg.tenant_files(table, table.current_snapshot(), "tenant_id", tenant_id(7)))
    assert [f.partition[ice.PARTITION_FIELD] for f in planned] == [tables.bucket_of(tenant_id(7))]

    changed = list(range(0, 300, 30))  # 10 tenants
    newcomer = 1000  # onboarding: a new tenant's first customer, no deploy, no command
    cdc = [
        customer(
            "U",
            n * 100,
            tenant=tenant_id(n),
            s=5,
            ts="2024-01-02 00:00:00.000000",
            first_name="Changed",
        )
        for n in changed
    ] + [
        customer(
            "I", newcomer * 100, tenant=tenant_id(newcomer), s=6, ts="2024-01-02 00:00:00.000000"
        )
    ]
    write_file(bronze, "customers", "20240102-000000000001.csv.gz", cdc)
    _run(spark, settings, "customers")

    touched = {tables.bucket_of(tenant_id(n)) for n in [*changed, newcomer]}
    rewritten = {tables.bucket_of(tenant_id(n)) for n in changed}
    summary = _summary(settings, "customers")
    # Merge-on-read: each bucket whose rows changed gets a position delete file and a file of
    # the new versions; the newcomer's insert adds a file to its bucket; no data file is
    # rewritten and nothing else is touched.
    assert int(summary["changed-partition-count"]) == len(touched)
    assert int(summary.get("deleted-data-files", 0)) == 0
    assert int(summary["added-data-files"]) == len(touched)
    assert int(summary["total-data-files"]) == len(every) + len(touched)
    table = iceberg.load_table(Path(settings.silver_uri) / "customers")
    deleted_in = {
        d.partition[ice.PARTITION_FIELD]
        for task in iceberg.scan_files(table, table.current_snapshot())
        for d in task.deletes
    }
    assert deleted_in == rewritten
    silver = {
        r.id: (r.tenant_id, r.first_name)
        for r in tables.read(spark, tables.silver_table(spark, settings, "customers")).collect()
    }
    assert len(silver) == len(rows) + 1
    for n in changed:
        assert silver[cid(n * 100)] == (tenant_id(n), "Changed")
        assert silver[cid(n * 100 + 1)] == (tenant_id(n), "Ada")
    assert silver[cid(newcomer * 100)] == (tenant_id(newcomer), "Ada")


def _rows_of(spark: SparkSession, table: ice.Table, tenant_id: str) -> tuple[int, list[Any]]:
    df = spark.table(table.ident)
    mine = df.where(df["tenant_id"] == tenant_id).count()
    others = sorted((tuple(r) for r in df.where(df["tenant_id"] != tenant_id).collect()), key=repr)
    return mine, others


def test_offboarding_erases_a_tenant_for_good(spark: SparkSession, tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    bronze = Path(settings.bronze_uri)
    write_file(bronze, "tenants", "LOAD00000001.csv.gz", [tenant_row(n) for n in range(3)])
    load = write_file(
        bronze, "customers", "LOAD00000001.csv.gz", [r for n in range(3) for r in _customers_of(n)]
    )
    _run(spark, settings, "tenants")
    _run(spark, settings, "customers")
    gone = tenant_id(1)
    catalog = register_lake_catalog(spark, settings)
    everything = [
        ice.silver_table(catalog, settings.silver_uri, "tenants"),
        ice.history_table(catalog, settings.silver_uri, "tenants"),
        ice.silver_table(catalog, settings.silver_uri, "customers"),
        ice.history_table(catalog, settings.silver_uri, "customers"),
    ]
    before = {t.name: _rows_of(spark, t, gone) for t in everything}
    assert before["customers"][0] == 2
    with pytest.raises(LakehouseError, match="no tenant with slug or id 'tenant-9'"):
        offboard(settings, spark, "tenant-9")

    result = offboard(settings, spark, "tenant-1", expire_snapshots=True)

    assert (result.tenant_id, result.slug) == (gone, "tenant-1")
    assert result.deleted == {
        "silver.tenants": 1,
        "silver.tenants_history": 1,
        "silver.customers": 2,
        "silver.customers_history": 2,
    }
    for table in everything:
        mine, others = _rows_of(spark, table, gone)
        assert mine == 0, table.name
        assert others == before[table.name][1], table.name  # every other tenant unchanged
        # Time travel cannot reach the rows: only the current snapshot is left.
        snapshots = spark.sql(f"select count(*) from {table.metadata_table('snapshots')}")
        assert snapshots.collect()[0][0] == 1, table.name
    # Bronze still holds them, and the command says where.
    held = {(Path(f.uri).name, f.tenant_rows, f.rows) for f in result.bronze}
    assert held == {("LOAD00000001.csv.gz", 1, 3), (load.name, 2, 6)}
    assert offboarded(spark, settings.silver_uri)[gone].slug == "tenant-1"

    # The source changes the tenant once more; neither the next run nor a full refresh brings
    # it back from bronze, and the other tenants stay exactly as bronze says.
    late = [customer("U", 100, tenant=gone, s=7, ts="2024-01-03 00:00:00.000000", notes="x")]
    write_file(bronze, "customers", "20240103-000000000001.csv.gz", late)
    for arguments in ({}, {"full_refresh": "true"}):
        _run(spark, settings, "customers", **arguments)
        for table in everything[2:]:
            mine, others = _rows_of(spark, table, gone)
            assert mine == 0, (table.name, arguments)
        ids = sorted(r.id for r in tables.read(spark, everything[2]).collect())
        assert ids == sorted(cid(n * 100 + k) for n in (0, 2) for k in range(2))
    # Offboarding again (by id) is harmless: nothing left to delete.
    again = offboard(settings, spark, gone)
    assert set(again.deleted.values()) == {0}


def _stored_tenants(settings: Settings, table: str) -> set[str]:
    """Every tenant with a row stored in a live data file of ``table``, deleted by position
    or not (the files read raw, as anyone with the bucket could)."""
    loaded = iceberg.load_table(Path(settings.silver_uri) / table)
    found: set[str] = set()
    for task in iceberg.scan_files(loaded, loaded.current_snapshot()):
        column = pq.read_table(task.data.path, columns=["tenant_id"]).column("tenant_id")
        found |= {str(v) for v in column.to_pylist()}
    return found


def test_offboarding_leaves_no_row_in_a_live_file_after_merges(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A customer updated twice: the merge-written file of its first update then holds only
    a deleted row of the tenant, which a ``delete`` of the tenant's visible rows never reads."""
    settings = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    bronze = Path(settings.bronze_uri)
    gone = tenant_id(1)
    write_file(bronze, "tenants", "LOAD00000001.csv.gz", [tenant_row(n) for n in range(3)])
    write_file(
        bronze, "customers", "LOAD00000001.csv.gz", [r for n in range(3) for r in _customers_of(n)]
    )
    _run(spark, settings, "tenants")
    _run(spark, settings, "customers")
    for s in (5, 6):
        change = customer("U", 100, tenant=gone, s=s, ts=f"2024-01-0{s} 00:00:00.000000")
        write_file(bronze, "customers", f"2024010{s}-000000000001.csv.gz", [change])
        _run(spark, settings, "customers")
    assert gone in _stored_tenants(settings, "customers")
    customers = tables.silver_table(spark, settings, "customers")
    others = _rows_of(spark, customers, gone)[1]

    offboard(settings, spark, "tenant-1", expire_snapshots=True)

    for table in ("customers", "customers_history"):
        assert gone not in _stored_tenants(settings, table), table
        assert _stored_tenants(settings, table) == {tenant_id(0), tenant_id(2)}, table
    assert _rows_of(spark, customers, gone) == (0, others)


def test_a_damaged_offboarded_list_stops_silver_and_offboarding_naming_it(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    bronze = Path(settings.bronze_uri)
    write_file(bronze, "tenants", "LOAD00000001.csv.gz", [tenant_row(n) for n in range(2)])
    write_file(
        bronze, "customers", "LOAD00000001.csv.gz", [r for n in range(2) for r in _customers_of(n)]
    )
    _run(spark, settings, "tenants")
    _run(spark, settings, "customers")
    customers = tables.silver_table(spark, settings, "customers")
    before = sorted(map(tuple, tables.read(spark, customers).collect()))
    # What a writer that truncates and then writes (Hadoop's create) leaves when killed midway:
    # the first bytes of the list. Read as empty, it would let silver take tenant 0 back.
    whole = json.dumps({"tenants": [vars(Offboarded(tenant_id(0), "tenant-0", "2024-01-01"))]})
    listed = Path(offboarded_list_path(settings.silver_uri))
    for damaged in (whole[:40], whole[:40].encode() + b"\xc3", b""):
        data = damaged.encode() if isinstance(damaged, str) else damaged
        listed.write_bytes(data)
        with pytest.raises(OffboardedListError, match=re.escape(str(listed))):
            offboarded(spark, settings.silver_uri)
        job = load_declaration().entity("customers").silver_job_name
        run = start_job_run(settings, job, {"--full_refresh": "true"}, spark=spark)
        assert run.state == "FAILED"
        assert run.error is not None
        assert f"{listed} is not a list of offboarded tenants" in run.error
        with pytest.raises(LakehouseError, match="is not a list of offboarded tenants"):
            offboard(settings, spark, "tenant-1")
        assert listed.read_bytes() == data  # left for the operator to restore, not overwritten
        assert sorted(map(tuple, tables.read(spark, customers).collect())) == before
