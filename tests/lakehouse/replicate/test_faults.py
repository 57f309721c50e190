"""Bad input and faults: a clear error, a nonzero exit, and nothing acknowledged to the slot."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import psycopg2
import psycopg2.extras
import pytest

from lakehouse.db.cluster import LocalCluster, free_port
from lakehouse.replicate import ReplicationError
from lakehouse.replicate.source import slot_info
from lakehouse.storage import StorageError
from tests.lakehouse.replicate.conftest import ReplEnv
from tests.lakehouse.replicate.reference import assert_reconstructs
from tests.lakehouse.replicate.workload import insert_customer, insert_tenant


def _confirmed(repl: ReplEnv) -> int | None:
    with psycopg.connect(repl.dsn, autocommit=True) as conn:
        info = slot_info(conn, repl.slot)
    return None if info is None else info.confirmed_flush_lsn


def _loaded_with_pending_changes(repl: ReplEnv) -> tuple[str, int]:
    with psycopg.connect(repl.dsn) as conn:
        tenant = insert_tenant(conn)
    repl.run_once()
    with psycopg.connect(repl.dsn) as conn:
        insert_customer(conn, tenant)
    confirmed = _confirmed(repl)
    assert confirmed is not None
    return tenant, confirmed


def test_missing_publication(repl: ReplEnv) -> None:
    _, confirmed = _loaded_with_pending_changes(repl)
    with pytest.raises(ReplicationError, match="publication 'nope' does not exist"):
        repl.run_once(publication="nope")
    assert _confirmed(repl) == confirmed


def test_role_without_replication(repl: ReplEnv) -> None:
    _, confirmed = _loaded_with_pending_changes(repl)
    # The maintenance role reads and writes every table but has no REPLICATION.
    with pytest.raises(ReplicationError, match="may not use logical replication"):
        repl.run_once(dsn=repl.dsn)
    assert _confirmed(repl) == confirmed


def test_slot_in_use(repl: ReplEnv) -> None:
    _, confirmed = _loaded_with_pending_changes(repl)
    other = psycopg2.connect(
        repl.replicator_dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection
    )
    try:
        cur = other.cursor()
        cur.start_replication(
            slot_name=repl.slot,
            decode=False,
            options={"proto_version": "1", "publication_names": repl.publication},
        )
        with pytest.raises(ReplicationError, match="in use by server process"):
            repl.run_once(slot_busy_wait_seconds=0.3)
    finally:
        other.close()
    assert _confirmed(repl) == confirmed
    # Once the other consumer is gone, the replicator goes on (after the server notices).
    repl.run_once()
    assert_reconstructs(repl.storage, repl.dsn)


def test_lost_slot_stops_until_resync(repl: ReplEnv) -> None:
    tenant, _ = _loaded_with_pending_changes(repl)
    with psycopg.connect(repl.replicator_dsn, autocommit=True) as conn:
        conn.execute("select pg_drop_replication_slot(%s)", (repl.slot,))
    with psycopg.connect(repl.dsn, autocommit=True) as conn:
        insert_customer(conn, tenant)
    with pytest.raises(ReplicationError, match="--resync"):
        repl.run_once()
    summary = repl.run_once(resync=True)
    assert summary.full_load is not None
    # The reload replaced the old files: only LOAD files remain, and they match the source.
    assert all(n.startswith("LOAD") for n in repl.storage.list_files("dms/public/customers"))
    assert_reconstructs(repl.storage, repl.dsn)


def test_existing_slot_without_state(repl: ReplEnv, tmp_path: Path) -> None:
    _loaded_with_pending_changes(repl)
    with pytest.raises(ReplicationError, match="has no replication state"):
        repl.run_once(target=str(tmp_path / "other"))


def test_unwritable_target(repl: ReplEnv, tmp_path: Path) -> None:
    with psycopg.connect(repl.dsn) as conn:
        insert_tenant(conn)
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StorageError, match=r"not writable|cannot write"):
        repl.run_once(target=str(tmp_path / "file" / "bronze"))
    with psycopg.connect(repl.dsn, autocommit=True) as conn:
        assert slot_info(conn, repl.slot) is None


def test_unreachable_s3_target(repl: ReplEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with pytest.raises(StorageError, match="endpoint"):
        repl.run_once(target="s3://bucket/bronze")
    with psycopg.connect(repl.dsn, autocommit=True) as conn:
        assert slot_info(conn, repl.slot) is None


def test_cli_exits_nonzero_with_the_message(repl: ReplEnv) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": repl.dsn,
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": repl.replicator_dsn,
        "LAKEHOUSE_SLOT": repl.slot,
        "LAKEHOUSE_PUBLICATION": "missing_pub",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakehouse.cli.main",
            "replicate",
            "--once",
            "--target",
            str(repl.target),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "publication 'missing_pub' does not exist" in proc.stderr


@pytest.mark.slow
def test_server_without_logical_wal_level() -> None:
    root = Path(tempfile.mkdtemp(prefix="lakehouse-test-replica-"))
    os.chmod(root, 0o755)
    cluster = LocalCluster(root / "pg", free_port(), db_name="postgres")
    try:
        cluster.init()
        with (cluster.data_dir / "postgresql.conf").open("a") as fh:
            fh.write("wal_level = replica\n")
        cluster.start()
        from tests.lakehouse.replicate.conftest import ReplEnv as Env

        env = Env(dsn=cluster.dsn("postgres"), slot="never", target=root / "bronze")
        with pytest.raises(ReplicationError, match="wal_level=replica"):
            env.run_once()
    finally:
        cluster.destroy()


@pytest.mark.slow
def test_invalidated_slot_stops_with_resync_instructions(tmp_path: Path) -> None:
    """A slot that lost its WAL (max_slot_wal_keep_size exceeded) is never streamed from."""
    root = Path(tempfile.mkdtemp(prefix="lakehouse-test-lostslot-"))
    os.chmod(root, 0o755)
    cluster = LocalCluster(root / "pg", free_port(), db_name="postgres")
    try:
        cluster.init()
        with (cluster.data_dir / "postgresql.conf").open("a") as fh:
            fh.write("max_slot_wal_keep_size = '1MB'\nmin_wal_size = '32MB'\n")
        cluster.start()
        dsn = cluster.dsn("postgres")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create table t (id int primary key, v text)")
            conn.execute("alter table t replica identity full")
            conn.execute("create publication lakehouse_pub for table t")
            conn.execute("insert into t values (1, 'a')")
        env = ReplEnv(dsn=dsn, slot="doomed", target=tmp_path / "bronze")
        env.run_once()
        with psycopg.connect(dsn, autocommit=True) as conn:
            for _ in range(4):
                conn.execute(
                    "insert into t select g, repeat('x', 200) from generate_series(2, 60000) g"
                )
                conn.execute("delete from t where id > 1")
                conn.execute("select pg_switch_wal()")
            conn.execute("checkpoint")
            info = slot_info(conn, "doomed")
        assert info is not None
        assert info.wal_status == "lost"
        with pytest.raises(ReplicationError, match=r"invalidated.*--resync"):
            env.run_once()
        summary = env.run_once(resync=True)
        assert summary.full_load is not None
        assert [c.rows for c in summary.full_load] == [1]
    finally:
        cluster.destroy()


def test_truncate_stops_until_resync(repl: ReplEnv) -> None:
    tenant, confirmed = _loaded_with_pending_changes(repl)
    with psycopg.connect(repl.dsn) as conn:
        insert_customer(conn, tenant)
        conn.execute("truncate events")
    with pytest.raises(ReplicationError, match=r"TRUNCATE on public\.events.*--resync"):
        repl.run_once()
    # Files of the changes before it may be written, but the TRUNCATE is never confirmed.
    after = _confirmed(repl)
    assert after is not None
    with pytest.raises(ReplicationError, match="TRUNCATE"):
        repl.run_once()
    assert _confirmed(repl) == after
    assert after >= confirmed
    repl.run_once(resync=True)
    assert_reconstructs(repl.storage, repl.dsn)
