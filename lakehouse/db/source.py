"""Resolving and checking the source database, wherever it runs."""

from __future__ import annotations

import psycopg

from lakehouse.config import Settings
from lakehouse.db.cluster import LocalCluster
from lakehouse.errors import LakehouseError


def local_cluster(settings: Settings) -> LocalCluster:
    """The private cluster described by the settings (it may not exist yet)."""
    return LocalCluster(
        settings.pg_dir,
        settings.pg_port,
        db_name=settings.db_name,
        bin_dir=settings.pg_bin_dir,
        os_user=settings.pg_os_user,
    )


def database_url(settings: Settings) -> str:
    """``DATABASE_URL`` when set, else the DSN of the local cluster."""
    if settings.database_url:
        return settings.database_url
    return local_cluster(settings).dsn()


def check_logical_replication(dsn: str) -> None:
    """Fail with instructions unless the server has ``wal_level=logical``."""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            row = conn.execute("show wal_level").fetchone()
    except psycopg.OperationalError as exc:
        raise LakehouseError(
            f"cannot connect to the source database: {exc}".strip()
            + "\nStart it with 'lakehouse db up' or check DATABASE_URL."
        ) from exc
    level = row[0] if row else "unknown"
    if level != "logical":
        raise LakehouseError(
            f"the source server has wal_level={level}, but change data capture needs "
            "wal_level=logical. Set it (ALTER SYSTEM SET wal_level = logical; on RDS the "
            "parameter rds.logical_replication = 1) and restart the server."
        )
