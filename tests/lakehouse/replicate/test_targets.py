"""Full-load splitting, the S3 target and schema changes in the middle of the stream."""

from __future__ import annotations

import gzip
import json
import logging

import psycopg
import pytest

from lakehouse.storage import open_storage
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.reference import assert_reconstructs, read_files
from tests.lakehouse.replicate.workload import insert_customer, insert_tenant
from tests.support.moto import MotoS3


def test_full_load_is_split_at_the_size_limit(repl: ReplEnv) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
        for i in range(60):
            insert_customer(conn, tenant, notes=f"customer {i}, with\nnewline")
    summary = repl.run_once(full_load_max_file_bytes=1500)
    assert summary.full_load is not None
    (customers,) = [c for c in summary.full_load if c.table == "customers"]
    names = [f"LOAD{i:08X}.csv.gz" for i in range(1, len(customers.files) + 1)]
    assert customers.files == names
    assert len(names) > 10  # LOAD0000000A and beyond: upper-case hexadecimal
    assert "LOAD0000000A.csv.gz" in names
    files = read_files(repl.storage, "customers")
    assert [f.name for f in files] == names
    assert sum(len(f.rows) for f in files) == 60
    for name in names:
        raw = gzip.decompress(repl.storage.read_bytes(f"dms/public/customers/{name}"))
        assert len(raw) <= 1500
    for f in files:
        assert f.header[0] == "Op"
        assert f.header[-1] == "dms_change_seq"
        assert f.rows  # no empty file
    assert_reconstructs(repl.storage, repl.dsn)


def test_s3_target_on_moto(repl: ReplEnv, s3_env: MotoS3) -> None:
    bucket = s3_env.new_bucket()
    target = f"s3://{bucket}/lake/bronze"
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
        insert_customer(conn, tenant, notes="")
    repl.run_once(target=target)
    with psycopg.connect(repl.dsn) as conn:
        insert_customer(conn, tenant, notes=None, company="x,y")
        conn.execute("update tenants set name = 'Renamed' where id = %s", (tenant,))
    second = repl.run_once(target=target)
    assert second.stats.changes == 2
    storage = open_storage(target)
    assert storage.list_files("dms/public/tenants")[-1] == "LOAD00000001.csv.gz"
    assert len(storage.list_files("dms/public/customers")) == 2
    assert storage.exists("_lakehouse/replication.json")
    assert_reconstructs(storage, repl.dsn)


def test_schema_change_mid_stream(repl: ReplEnv) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
    repl.run_once()
    with psycopg.connect(repl.dsn) as conn:
        conn.execute("update tenants set name = 'before' where id = %s", (tenant,))
    with psycopg.connect(repl.dsn) as conn:
        conn.execute("alter table tenants add column region text")
        conn.execute("update tenants set name = 'after', region = 'eu' where id = %s", (tenant,))
    with psycopg.connect(repl.dsn) as conn:
        insert_tenant(conn, name="third")
    repl.run_once()
    files = read_files(repl.storage, "tenants")
    assert [len(f.rows) for f in files] == [1, 1, 2]
    assert "region" not in files[1].header
    assert files[2].header[-2:] == ["region", "dms_change_seq"]
    assert [r["region"] for r in files[2].rows] == ["eu", None]
    assert_reconstructs(repl.storage, repl.dsn, ["tenants"])

    # A dropped column stops appearing.
    with psycopg.connect(repl.dsn) as conn:
        conn.execute("alter table tenants drop column country")
        conn.execute("update tenants set name = 'dropped' where id = %s", (tenant,))
    repl.run_once()
    last = read_files(repl.storage, "tenants")[-1]
    assert "country" not in last.header
    assert last.rows[0]["name"] == "dropped"
    assert last.rows[0]["region"] == "eu"


def test_cdc_files_split_at_the_size_threshold(repl: ReplEnv) -> None:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
    repl.run_once()
    with psycopg.connect(repl.dsn) as conn:
        for i in range(40):
            insert_customer(conn, tenant, notes=f"row {i}")
    # One transaction, a 1 KiB threshold: the transaction spreads over several files.
    summary = repl.run_once(min_file_bytes=1024, interval_seconds=60)
    files = [f for f in read_files(repl.storage, "customers")]
    assert len(files) == summary.stats.files > 5
    for f in files[:-1]:
        size = sum(len(",".join(v or "" for v in r.values())) for r in f.rows)
        assert size >= 1024 - 400  # flushed when the threshold was reached, not before
    seqs = [r["dms_change_seq"] or "" for f in files for r in f.rows]
    assert seqs == sorted(seqs)
    assert len({s[:20] for s in seqs}) == 1  # one transaction
    assert_reconstructs(repl.storage, repl.dsn)


def test_retained_wal_warning(repl: ReplEnv, caplog: pytest.LogCaptureFixture) -> None:
    from lakehouse.replicate import Replicator
    from lakehouse.replicate.source import connect

    repl.run_once()
    replicator = Replicator(repl.options(wal_warn_bytes=0))
    with psycopg.connect(repl.dsn, autocommit=True) as conn:
        conn.execute("create table scratch (n int)")
        conn.execute("insert into scratch select generate_series(1, 1000)")
    with caplog.at_level(logging.WARNING, logger="lakehouse.replicate"):
        replicator._check_wal(connect(repl.dsn))
    (record,) = caplog.records
    event = json.loads(record.getMessage())
    assert event["event"] == "wal_retained"
    assert event["slot"] == repl.slot
    assert event["bytes"] > 0
