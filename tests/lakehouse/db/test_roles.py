"""The roles: created once with private passwords locally, by an operator's script elsewhere,
and `lakehouse db url` never prints a password unless asked."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from lakehouse.db.cluster import LocalCluster
from lakehouse.db.migrate import migrate
from lakehouse.db.roles import ROLES, Role
from lakehouse.db.source import mask_password
from lakehouse.paths import DJANGO_DIR


def test_each_role_has_its_own_private_password(pg_cluster: LocalCluster) -> None:
    folder = pg_cluster.roles_dir
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    passwords = {}
    for role in ROLES:
        path = pg_cluster.role_password_file(role)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        passwords[role] = path.read_text().strip()
    assert len(set(passwords.values())) == len(ROLES)
    assert all(len(p) >= 32 for p in passwords.values())
    # Idempotent: a second bootstrap keeps every password, and each one logs in.
    pg_cluster.ensure_roles()
    for role in ROLES:
        assert pg_cluster.role_password(role) == passwords[role]
        with psycopg.connect(pg_cluster.dsn("postgres", role=role)) as conn:
            assert conn.execute("select current_user").fetchone() == (pg_cluster.roles.of(role),)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            f"postgresql://{pg_cluster.roles.app}:{passwords['owner']}@127.0.0.1:"
            f"{pg_cluster.port}/postgres"
        )


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql://app:s3cr%40t@db.example:5432/saas",
            "postgresql://app:***@db.example:5432/saas",
        ),
        (
            "postgresql://app:pw@127.0.0.1/saas?sslmode=require",
            "postgresql://app:***@127.0.0.1/saas?sslmode=require",
        ),
        ("postgresql://app@127.0.0.1/saas", "postgresql://app@127.0.0.1/saas"),
        ("postgresql://app:pw@[::1]:5432/saas", "postgresql://app:***@[::1]:5432/saas"),
    ],
)
def test_mask_password(url: str, masked: str) -> None:
    assert mask_password(url) == masked


def _cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@dataclass
class OwnServer:
    """A database on 'someone else's server': roles made only by `lakehouse db roles-sql`."""

    names: dict[Role, str]
    passwords: dict[Role, str]
    urls: dict[Role, str]
    env: dict[str, str]


@pytest.fixture
def own_server(pg_cluster: LocalCluster, tmp_path: Path) -> Iterator[OwnServer]:
    suffix = uuid.uuid4().hex[:8]
    database = f"own_{suffix}"
    names: dict[Role, str] = {role: f"op{suffix}_{role}" for role in ROLES}
    passwords: dict[Role, str] = {role: uuid.uuid4().hex for role in ROLES}
    base = f"127.0.0.1:{pg_cluster.port}/{database}"
    urls = {role: f"postgresql://{names[role]}:{passwords[role]}@{base}" for role in ROLES}
    env = {
        "LAKEHOUSE_STATE_DIR": str(tmp_path / "state"),  # no local cluster there
        "LAKEHOUSE_DB_NAME": database,
        **{f"LAKEHOUSE_{role.upper()}_ROLE": names[role] for role in ROLES},
        "DATABASE_URL": urls["app"],
        "LAKEHOUSE_OWNER_DATABASE_URL": urls["owner"],
        "LAKEHOUSE_MAINTENANCE_DATABASE_URL": urls["maintenance"],
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": urls["replicator"],
    }
    admin = pg_cluster.dsn("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{database}"')
    try:
        yield OwnServer(names, passwords, urls, env)
    finally:
        pg_cluster.drop_database(database)
        with psycopg.connect(admin, autocommit=True) as conn:
            existing = conn.execute(
                "select rolname from pg_roles where rolname = any(%s)", (list(names.values()),)
            ).fetchall()
            for (name,) in existing:
                conn.execute(f'drop owned by "{name}"')
                conn.execute(f'drop role "{name}"')


def test_an_operator_creates_the_roles_with_the_printed_script(
    pg_cluster: LocalCluster, own_server: OwnServer
) -> None:
    script = _cli(own_server.env, "db", "roles-sql").stdout
    assert "password" not in script.lower()  # the operator sets passwords, never the script
    with psycopg.connect(pg_cluster.dsn("postgres"), autocommit=True) as conn:
        conn.execute(script.encode())
        for role in ROLES:
            conn.execute(
                f"alter role \"{own_server.names[role]}\" password '{own_server.passwords[role]}'"
            )
    # The usual commands, each as its own role.
    _cli(own_server.env, "db", "migrate")
    _cli(own_server.env, "seed", "--scale", "0.005", "--seed", "3")
    counts = _cli(own_server.env, "db", "counts").stdout
    with psycopg.connect(own_server.urls["maintenance"]) as conn:
        row = conn.execute("select count(*) from customers").fetchone()
    assert row is not None
    assert row[0] > 0
    assert f"{row[0]:,}" in counts
    with psycopg.connect(own_server.urls["app"]) as conn:
        assert conn.execute("select count(*) from customers").fetchone() == (0,)
        owners = conn.execute(
            "select distinct tableowner from pg_tables where schemaname = 'public'"
        ).fetchall()
    assert owners == [(own_server.names["owner"],)]
    # `db url`: the app's URL, masked unless asked; other roles on request.
    masked = _cli(own_server.env, "db", "url").stdout.strip()
    assert masked == own_server.urls["app"].replace(own_server.passwords["app"], "***")
    shown = _cli(own_server.env, "db", "url", "--show-password").stdout.strip()
    assert shown == own_server.urls["app"]
    replicator = _cli(own_server.env, "db", "url", "--role", "replicator").stdout.strip()
    assert replicator == own_server.urls["replicator"].replace(
        own_server.passwords["replicator"], "***"
    )
    bad = _cli(own_server.env, "db", "url", "--role", "root", check=False)
    assert bad.returncode == 2
    assert "'root' is not a role" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_migrations_name_the_missing_roles(pg_cluster: LocalCluster, own_server: OwnServer) -> None:
    # No roles created: the owner does not exist, so migrate as the superuser to see the
    # migrations' own message about the missing roles. (0002, already applied on existing
    # databases and so left as it was, still creates the app's role when missing.)
    env = {
        **own_server.env,
        "LAKEHOUSE_OWNER_DATABASE_URL": pg_cluster.dsn(own_server.env["LAKEHOUSE_DB_NAME"]),
    }
    proc = _cli(env, "db", "migrate", check=False)
    assert proc.returncode == 1
    names = own_server.names
    assert (
        f"the database roles {names['maintenance']}, {names['replicator']} do not exist"
        in proc.stderr + proc.stdout
    )
    assert "lakehouse db roles-sql" in proc.stderr + proc.stdout


def test_a_database_from_before_the_roles_is_handed_to_the_owner(pg_cluster: LocalCluster) -> None:
    """An existing local cluster: migrated to 0002 by the superuser, then `lakehouse db up`."""
    name = f"old_{uuid.uuid4().hex[:8]}"
    admin = pg_cluster.dsn("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        proc = subprocess.run(
            [sys.executable, "manage.py", "migrate", "core", "0002", "-v", "0"],
            cwd=DJANGO_DIR,
            env={**os.environ, "DATABASE_URL": pg_cluster.dsn(name)},
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert pg_cluster.ensure_database(name) is False
        migrate(pg_cluster.dsn(name, role="owner"))
        with psycopg.connect(pg_cluster.dsn(name)) as conn:
            owners = conn.execute(
                "select distinct tableowner from pg_tables where schemaname = 'public'"
            ).fetchall()
            publication = conn.execute(
                "select pubowner::regrole::text from pg_publication"
            ).fetchall()
            forced = conn.execute(
                "select count(*) from pg_class where relforcerowsecurity"
            ).fetchone()
        assert owners == [(pg_cluster.roles.owner,)]
        assert publication == [(pg_cluster.roles.owner,)]
        assert forced == (9,)  # the eight entities and memberships
    finally:
        pg_cluster.drop_database(name)
