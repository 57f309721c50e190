"""Session fixtures that start real things: a PostgreSQL 15 cluster and migrated databases.

The cluster lives in a fresh folder under /tmp on a free port and is destroyed at the end of
the session. Each test that needs a source database gets its own, cloned from a migrated
template, so tests never see each other's rows, slots or files.

The roles are the production ones (``lakehouse.db.roles``): the template is migrated by the
owner role, ``source_db`` is the maintenance role's URL (it writes test rows across tenants,
as the seed does), the replicator replicates as the replicator role, and ``as_role`` gives
any test database's URL as another role. The bootstrap superuser only creates and drops.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from lakehouse.db.cluster import LocalCluster, free_port
from lakehouse.db.migrate import migrate
from lakehouse.db.roles import Role

TEMPLATE_DB = "lakehouse_template"


_CLUSTER: list[LocalCluster] = []  # the session's cluster, for role_dsn


def role_dsn(dsn: str, role: Role | None) -> str:
    """The same test database's URL as ``role`` (None: the bootstrap superuser)."""
    assert _CLUSTER, "role_dsn needs the pg_cluster fixture"
    return _CLUSTER[0].dsn(str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]), role=role)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    """A private PostgreSQL 15 cluster for the whole test session."""
    root = Path(tempfile.mkdtemp(prefix="lakehouse-test-pg-"))
    os.chmod(root, 0o755)  # the unprivileged server user must reach it when we are root
    cluster = LocalCluster(root / "pg", free_port(), db_name="postgres")
    cluster.init()
    cluster.start()
    cluster.ensure_roles()
    _CLUSTER.append(cluster)
    try:
        yield cluster
    finally:
        _CLUSTER.remove(cluster)
        cluster.destroy()
        root.rmdir() if root.exists() and not any(root.iterdir()) else None


@pytest.fixture(scope="session")
def migrated_template(pg_cluster: LocalCluster) -> str:
    """Name of a database holding the migrated source schema (no rows), used as a template."""
    pg_cluster.ensure_database(TEMPLATE_DB)
    migrate(pg_cluster.dsn(TEMPLATE_DB, role="owner"))
    return TEMPLATE_DB


@pytest.fixture(scope="session")
def as_role(pg_cluster: LocalCluster) -> Callable[[str, Role | None], str]:
    """``as_role(dsn, role)``: the same database's URL as ``role`` (None: the superuser)."""
    return role_dsn


@pytest.fixture
def make_source_db(pg_cluster: LocalCluster, migrated_template: str) -> Iterator[Callable[[], str]]:
    """Factory: a new, empty, migrated source database; returns its maintenance-role DSN.

    Dropped afterwards.
    """
    created: list[str] = []

    def make() -> str:
        name = f"src_{uuid.uuid4().hex[:12]}"
        pg_cluster.ensure_database(name, template=migrated_template)
        created.append(name)
        return pg_cluster.dsn(name, role="maintenance")

    yield make
    for name in created:
        pg_cluster.drop_database(name)


@pytest.fixture
def source_db(make_source_db: Callable[[], str]) -> str:
    """DSN of a fresh, empty, migrated source database."""
    return make_source_db()
