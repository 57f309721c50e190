"""``lakehouse maintain`` on real Iceberg tables written by the silver job: answers unchanged."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from lakehouse_glue import iceberg as ice
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

from lakehouse.athena import iceberg_plan, prepared
from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog import iceberg
from lakehouse.catalog.crawler import crawl
from lakehouse.catalog.store import load_catalog
from lakehouse.config import Settings
from lakehouse.glue.runner import start_job_run
from lakehouse.maintain import maintain_lake
from tests.support import tables
from tests.support.bronze import T1, T2, customer, customer_of, tenant_id, write_file

JOB = load_declaration().entity("customers").silver_job_name


def _duckdb_answer(folder: Path) -> list[tuple[object, ...]]:
    """The current snapshot as the local Athena engine reads it (pyiceberg plan, DuckDB)."""
    table = iceberg.load_table(folder)
    planned = iceberg.scan_files(table, table.current_snapshot())
    read = iceberg_plan.scan_sql("*", planned, False, iceberg.local_path)
    con = duckdb.connect()
    try:
        return con.execute(
            "select tenant_id, count(*), string_agg(id || first_name, ',' order by id) "
            f"from ({read}) group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()


#: Athena SQL over both tables: answers maintenance must not change.
_QUERIES = (
    "select tenant_id, count(*) as n, min(first_name) as first, max(id) as last_id "
    "from silver.customers group by tenant_id order by tenant_id",
    "select id, first_name, operation, source_change_seq, valid_from, valid_to, is_current "
    "from silver.customers_history order by id, source_change_seq",
)


def _athena_answers(lake: Settings) -> list[list[tuple[object, ...]]]:
    """Every query's rows through the local Athena engine (current snapshots, pyiceberg plan)."""
    crawl(lake, ["silver"])
    with AthenaEngine(lake, save_results=False) as engine:
        return [list(engine.execute(sql)[0].rows) for sql in _QUERIES]


def test_maintain_compacts_expires_and_removes_orphans_answers_unchanged(  # noqa: PLR0915 - one scenario, step by step
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    bronze = Path(lake.bronze_uri)
    write_file(
        bronze, "customers", "LOAD00000001.csv.gz", [customer("I", 1), customer("I", 2, tenant=T2)]
    )
    assert start_job_run(lake, JOB, spark=spark).state == "SUCCEEDED"
    # Inserts only: each run adds a small file to tenant T1's bucket; then an update.
    for n, name in ((3, "20240102-000000000001"), (4, "20240103-000000000001")):
        ts = f"2024-01-0{n - 1} 00:00:00.000000"
        write_file(bronze, "customers", f"{name}.csv.gz", [customer("I", n, s=n, ts=ts)])
        assert start_job_run(lake, JOB, spark=spark).state == "SUCCEEDED"
    upd = [customer("U", 2, tenant=T2, s=9, ts="2024-01-05 00:00:00.000000", first_name="Grace")]
    write_file(bronze, "customers", "20240105-000000000001.csv.gz", upd)
    assert start_job_run(lake, JOB, spark=spark).state == "SUCCEEDED"

    silver = tables.silver_table(spark, lake, "customers")
    folder = Path(lake.silver_uri) / "customers"
    assert len(tables.files_by_tenant(spark, silver)[T1]) == 3
    spark_before = sorted(map(tuple, tables.read(spark, silver).collect()))
    history = tables.history_table(spark, lake, "customers")
    history_before = sorted(map(tuple, tables.read(spark, history).collect()))
    duck_before = _duckdb_answer(folder)
    athena_before = _athena_answers(lake)
    assert [len(rows) for rows in athena_before] == [2, 5]  # two tenants; four rows, one update
    # A file no snapshot ever committed (a killed writer's), four days old: an orphan.
    some_file = next(iter(tables.files_by_tenant(spark, silver)[T1]))
    bucket_folder = iceberg.local_path(some_file).parent  # T1's bucket (data/tenant_id_bucket=N)
    orphan = bucket_folder / "orphan-from-a-killed-run.parquet"
    shutil.copy(iceberg.local_path(some_file), orphan)
    old = time.time() - 4 * 86400
    os.utime(orphan, (old, old))
    fresh = bucket_folder / "being-written-right-now.parquet"
    shutil.copy(iceberg.local_path(some_file), fresh)

    plans = Path(lake.lake_uri).joinpath(*iceberg_plan.CACHE_DIR)
    planned_before = set(plans.glob("*.json"))
    assert len(planned_before) == 2  # one plan per table read, of its current snapshot
    statements = Path(lake.lake_uri).joinpath(*prepared.CACHE_DIR)
    kept_statements = set(statements.glob("*.json"))
    assert len(kept_statements) == len(_QUERIES)  # prepared against the current catalog
    of_another_catalog = statements / f"{'0' * 64}.json"
    of_another_catalog.write_text(
        json.dumps({"catalog": "0" * 64, "code": prepared.code_fingerprint(), "statements": []})
    )

    done = {m.table: m for m in maintain_lake(lake, spark, retention=timedelta(0), retain_last=1)}

    # Compaction and expiry commit new snapshots: the plans of the old ones are gone.
    assert not set(plans.glob("*.json")) & planned_before
    assert set(statements.glob("*.json")) == kept_statements

    assert set(done) == {"silver.customers", "silver.customers_history"}
    m = done["silver.customers"]
    # T1's three small files -> one; T2's first file, whose row the update deleted by position,
    # and the update's file -> one, without the deleted row.
    assert (m.files_rewritten, m.files_added) == (5, 2)
    loaded = iceberg.load_table(folder)
    assert not any(t.deletes for t in iceberg.scan_files(loaded, loaded.current_snapshot()))
    assert m.snapshots_before == 4  # one commit per run
    # Retention 0 expires every snapshot older than the run: what is left are compaction's two
    # commits (the rewrite, then the removal of the delete files it left dangling).
    assert m.snapshots_after == 2
    assert m.orphans_removed == 1
    assert not orphan.exists()
    assert fresh.exists()  # younger than the orphan margin: maybe a running writer's
    assert len(tables.files_by_tenant(spark, silver)[T1]) == 1
    # Every answer is the same, through Spark and through the local engine's reader.
    assert sorted(map(tuple, tables.read(spark, silver).collect())) == spark_before
    assert sorted(map(tuple, tables.read(spark, history).collect())) == history_before
    assert _duckdb_answer(folder) == duck_before
    assert _athena_answers(lake) == athena_before
    catalog = load_catalog(lake.catalog_uri)
    current = {
        plans / f"{iceberg_plan.key_of(catalog.get('silver', name), None)}.json"  # type: ignore[arg-type]
        for name in ("customers", "customers_history")
    }
    assert set(plans.glob("*.json")) == current
    # Settings' defaults keep 7 days and at least 10 snapshots: nothing more to expire.
    again = maintain_lake(lake, spark)
    assert all(x.snapshots_after == x.snapshots_before for x in again)


def _file_order(path: Path) -> list[tuple[str, str]]:
    """``(tenant_id, id)`` of a data file's rows, in the order the file stores them."""
    rows = pq.read_table(path, columns=["tenant_id", "id"]).to_pylist()
    return [(r["tenant_id"], r["id"]) for r in rows]


def test_compaction_keeps_tenants_sorted_so_a_tenant_plans_only_its_own_files(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = Settings(lake=str(tmp_path / "lake"), state_dir=tmp_path / "state")
    bronze = Path(lake.bronze_uri)
    tenants = range(200)  # ~60 of the 64 buckets, three or four tenants to a bucket
    write_file(bronze, "customers", "LOAD00000001.csv.gz", [customer_of(n, 0) for n in tenants])
    assert start_job_run(lake, JOB, spark=spark).state == "SUCCEEDED"
    # Two runs, each adding a customer to half of the tenants: each bucket gets small files
    # whose tenants interleave with its first file's.
    for r in (1, 2):
        ts = f"2024-01-0{r + 1} 00:00:00.000000"
        rows = [customer_of(n, r, s=r, ts=ts) for n in tenants if n % 2 == r - 1]
        write_file(bronze, "customers", f"2024010{r + 1}-000000000001.csv.gz", rows)
        assert start_job_run(lake, JOB, spark=spark).state == "SUCCEEDED"
    silver = tables.silver_table(spark, lake, "customers")
    history = tables.history_table(spark, lake, "customers")
    probes = [tenant_id(n) for n in (0, 1, 2, 77, 199)]
    # Files of a few KB, so that compaction writes several files per bucket: their tenant
    # ranges are what min/max pruning works with.
    for table in (silver, history):
        target = "'write.target-file-size-bytes' = '2500'"
        spark.sql(f"alter table {table.ident} set tblproperties ({target})")

    def rows(table: ice.Table) -> list[tuple[object, ...]]:
        return sorted(map(tuple, tables.read(spark, table).collect()))

    before = {table.name: rows(table) for table in (silver, history)}

    done = {m.table: m for m in maintain_lake(lake, spark, retention=timedelta(0), retain_last=1)}

    for table in (silver, history):
        assert done[f"silver.{table.name}"].files_rewritten > 0
        assert rows(table) == before[table.name]
        loaded = iceberg.load_table(Path(lake.silver_uri) / table.name)
        snapshot = loaded.current_snapshot()
        every = list(iceberg.live_files(loaded, snapshot))
        by_bucket: dict[object, list[list[tuple[str, str]]]] = {}
        for f in every:
            order = _file_order(f.path)
            # Rows in the tables' write order within a file: tenant, then key...
            assert order == sorted(order), f.path
            by_bucket.setdefault(f.partition[ice.PARTITION_FIELD], []).append(order)
        assert len(every) > len(by_bucket)  # several files to a bucket
        # ...and across a bucket's files: each file a run of tenants that no other file's
        # range overlaps (a tenant at a boundary may span two). binpack would write files
        # of interleaved tenant ranges.
        for bucket, files in by_bucket.items():
            ranges = sorted((f[0][0], f[-1][0]) for f in files)
            for (_, high), (low, _) in itertools.pairwise(ranges):
                assert high <= low, (table.name, bucket, ranges)
        holding = tables.files_by_tenant(spark, table)
        for probe in probes:
            planned = {f.path for f in iceberg.tenant_files(loaded, snapshot, "tenant_id", probe)}
            # Exactly the files that hold the tenant's rows, a small share of the table's.
            assert planned == {iceberg.local_path(uri) for uri in holding[probe]}, probe
            assert len(planned) / len(every) <= 0.02
