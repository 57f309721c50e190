"""Resolving and checking the source database, wherever it runs."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg

from lakehouse.config import Settings
from lakehouse.db.cluster import LocalCluster
from lakehouse.db.roles import Role, RoleNames
from lakehouse.errors import LakehouseError


def local_cluster(settings: Settings) -> LocalCluster:
    """The private cluster described by the settings (it may not exist yet)."""
    return LocalCluster(
        settings.pg_dir,
        settings.pg_port,
        db_name=settings.db_name,
        bin_dir=settings.pg_bin_dir,
        os_user=settings.pg_os_user,
        roles=role_names(settings),
    )


def role_names(settings: Settings) -> RoleNames:
    return RoleNames(
        app=settings.app_role,
        owner=settings.owner_role,
        maintenance=settings.maintenance_role,
        replicator=settings.replicator_role,
    )


def database_url(settings: Settings, role: Role = "app") -> str:
    """The source database's URL as ``role`` (see :mod:`lakehouse.db.roles`).

    With ``DATABASE_URL`` set: the role's own URL (``LAKEHOUSE_<ROLE>_DATABASE_URL``) when
    given, else ``DATABASE_URL`` itself, so that a server with one login keeps working. Without
    it: the local cluster, as that role.
    """
    if settings.database_url:
        own = {
            "app": None,
            "owner": settings.owner_database_url,
            "maintenance": settings.maintenance_database_url,
            "replicator": settings.replicator_database_url,
        }[role]
        return own or settings.database_url
    return local_cluster(settings).dsn(role=role)


def mask_password(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(unquote(user), safe='')}:***@{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


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
