"""The private cluster: real server, logical replication ready, clear errors."""

from __future__ import annotations

import socket

import psycopg
import pytest

from lakehouse.db.cluster import LocalCluster, free_port
from lakehouse.db.source import check_logical_replication
from lakehouse.errors import LakehouseError


def test_cluster_is_ready_for_logical_replication(pg_cluster: LocalCluster) -> None:
    with psycopg.connect(pg_cluster.dsn("postgres")) as conn:
        settings = dict(
            conn.execute(
                "select name, setting from pg_settings where name = any(%s)",
                (["wal_level", "max_replication_slots", "listen_addresses", "TimeZone"],),
            ).fetchall()
        )
    assert settings == {
        "wal_level": "logical",
        "max_replication_slots": "16",
        "listen_addresses": "127.0.0.1",
        "TimeZone": "UTC",
    }
    check_logical_replication(pg_cluster.dsn("postgres"))


def test_password_is_required(pg_cluster: LocalCluster) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://lakehouse:wrong@127.0.0.1:{pg_cluster.port}/postgres")


def test_up_is_idempotent(pg_cluster: LocalCluster) -> None:
    assert pg_cluster.init() is False
    assert pg_cluster.start() is False
    assert pg_cluster.ensure_database("postgres") is False


def test_busy_port_is_reported(tmp_path_factory: pytest.TempPathFactory) -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        cluster = LocalCluster(tmp_path_factory.mktemp("busy") / "pg", port)
        with pytest.raises(LakehouseError, match=f"port {port}.*LAKEHOUSE_PG_PORT"):
            cluster.start()


def test_unreachable_server_is_reported() -> None:
    port = free_port()
    with pytest.raises(LakehouseError, match="cannot connect to the source database"):
        check_logical_replication(f"postgresql://x:y@127.0.0.1:{port}/db")
