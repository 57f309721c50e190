"""A private PostgreSQL 15 cluster under the state folder, ready for logical replication.

The server listens on 127.0.0.1 only (no Unix socket) and uses scram-sha-256. The bootstrap
superuser's password is generated at ``initdb`` time; it is used only to create the roles of
:mod:`lakehouse.db.roles` and the databases. Each role's password is generated once too; all
are kept, mode 0600, in the state folder (never in the repository). PostgreSQL refuses to run
as root, so when the caller is root the data folder is handed to an unprivileged OS user and
every server binary runs as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from lakehouse.db.roles import ROLES, Role, RoleNames, database_sql, roles_sql
from lakehouse.errors import ConfigError, LakehouseError

SUPERUSER = "lakehouse"
REQUIRED_MAJOR = 15

# Settings the replicator relies on; written to postgresql.auto.conf-like include at initdb.
SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "wal_level": "logical",
    "max_replication_slots": "16",
    "max_wal_senders": "16",
    "max_slot_wal_keep_size": "'4GB'",
    "wal_sender_timeout": "'60s'",
    "shared_buffers": "'256MB'",
    "max_wal_size": "'2GB'",
    "checkpoint_timeout": "'15min'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "password_encryption": "'scram-sha-256'",
}


def find_bin_dir(configured: Path | None) -> Path:
    """Locate the PostgreSQL 15 server binaries (``initdb``, ``pg_ctl``, ``postgres``)."""
    candidates: list[Path] = []
    if configured is not None:
        candidates.append(configured)
    else:
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=False
            )
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        candidates.append(Path(f"/usr/lib/postgresql/{REQUIRED_MAJOR}/bin"))
        initdb = shutil.which("initdb")
        if initdb:
            candidates.append(Path(initdb).resolve().parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists() and (c / "postgres").exists():
            version = subprocess.run(
                [str(c / "postgres"), "--version"], capture_output=True, text=True, check=False
            ).stdout
            if f" {REQUIRED_MAJOR}." in version:
                return c
    raise ConfigError(
        f"PostgreSQL {REQUIRED_MAJOR} server binaries (initdb, pg_ctl, postgres) not found in "
        f"{', '.join(map(str, candidates)) or 'PATH'}. Install them (Debian: apt-get install "
        f"postgresql-{REQUIRED_MAJOR}), set LAKEHOUSE_PG_BIN_DIR to their folder, or use Docker "
        "(docker compose up -d) and set DATABASE_URL."
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ClusterStatus:
    initialized: bool
    running: bool
    port: int
    data_dir: Path
    pid: int | None


class LocalCluster:
    """A PostgreSQL cluster living in ``root`` (data, log, password file)."""

    def __init__(
        self,
        root: Path,
        port: int,
        *,
        db_name: str = "saas",
        bin_dir: Path | None = None,
        os_user: str = "postgres",
        roles: RoleNames | None = None,
    ) -> None:
        self.root = root.resolve()
        self.roles = roles or RoleNames()
        self.port = port
        self.db_name = db_name
        self._bin_dir_setting = bin_dir
        self._bin_dir: Path | None = None
        self.os_user = os_user

    # -- paths -------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def roles_dir(self) -> Path:
        return self.root / "roles"

    def role_password_file(self, role: Role) -> Path:
        return self.roles_dir / f"{role}.password"

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = find_bin_dir(self._bin_dir_setting)
        return self._bin_dir

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.password_file.exists()

    # -- running binaries as the right user --------------------------------------------------
    def _run_as(self) -> str | None:
        return self.os_user if os.geteuid() == 0 else None

    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._run_as()
        proc = subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=False,
            user=user,
            group=pwd.getpwnam(user).pw_gid if user else None,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )
        if check and proc.returncode != 0:
            raise LakehouseError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}):\n"
                f"{proc.stderr.strip() or proc.stdout.strip()}\n"
                f"Server log: {self.log_file}"
            )
        return proc

    def _hand_over(self) -> None:
        """When root, give the cluster folder to the unprivileged OS user."""
        user = self._run_as()
        if user is None:
            return
        try:
            pw = pwd.getpwnam(user)
        except KeyError as exc:
            raise ConfigError(
                f"running as root, and the OS user {user!r} that should run PostgreSQL does not "
                "exist; create it (useradd --system postgres) or set LAKEHOUSE_PG_OS_USER"
            ) from exc
        for dirpath, _dirs, files in os.walk(self.root):
            os.chown(dirpath, pw.pw_uid, pw.pw_gid)
            for f in files:
                os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid)
        # The server must be able to reach its folder: make every parent traversable.
        parent = self.root.parent
        while parent != parent.parent:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise ConfigError(
                    f"{parent} is not traversable by the OS user {user!r} that runs PostgreSQL; "
                    f"chmod o+x it or set LAKEHOUSE_STATE_DIR elsewhere"
                )
            parent = parent.parent

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True when it was created."""
        if self.initialized:
            return False
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise LakehouseError(
                f"{self.data_dir} exists but is not a complete cluster (no PG_VERSION or "
                f"password file); remove {self.root} and run 'lakehouse db up' again"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        password = secrets.token_hex(24)
        pw_tmp = self.root / "password.initdb"
        pw_tmp.write_text(password + "\n")
        os.chmod(pw_tmp, 0o600)
        self._hand_over()
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                f"--pwfile={pw_tmp}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        conf = self.data_dir / "postgresql.conf"
        lines = [f"{k} = {v}" for k, v in SERVER_SETTINGS.items()]
        with conf.open("a", encoding="utf-8") as fh:
            fh.write("\n# --- lakehouse: local cluster for logical replication ---\n")
            fh.write("\n".join(lines) + "\n")
        pw_tmp.rename(self.password_file)
        self._hand_over()
        return True

    def status(self) -> ClusterStatus:
        pid: int | None = None
        running = False
        if self.initialized:
            proc = self._run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"], check=False
            )
            running = proc.returncode == 0
            pid_file = self.data_dir / "postmaster.pid"
            if running and pid_file.exists():
                with contextlib.suppress(ValueError, OSError):
                    pid = int(pid_file.read_text().splitlines()[0])
        return ClusterStatus(self.initialized, running, self.port, self.data_dir, pid)

    def start(self) -> bool:
        """Start the server if it is not running. Returns True when it was started."""
        if self.status().running:
            return False
        if not port_is_free(self.port):
            raise LakehouseError(
                f"port {self.port} on 127.0.0.1 is already in use by another program; stop it "
                "or choose another port with LAKEHOUSE_PG_PORT=<port>"
            )
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {self.port}",
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        return True

    def stop(self) -> bool:
        """Stop the server (fast shutdown). Returns True when it was running."""
        if not self.status().running:
            return False
        self._run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
        )
        return True

    def up(self) -> None:
        """Initialize, start and create the application database; idempotent."""
        self.init()
        self.start()
        self.ensure_roles()
        self.ensure_database(self.db_name)

    def destroy(self) -> None:
        """Stop the server and delete the cluster folder."""
        with contextlib.suppress(LakehouseError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- connections -------------------------------------------------------------------------
    @property
    def password(self) -> str:
        if not self.password_file.exists():
            raise LakehouseError(
                f"no local PostgreSQL cluster in {self.root}; run 'lakehouse db up' (or "
                "'make db-up') first, or set DATABASE_URL"
            )
        return self.password_file.read_text().strip()

    def role_password(self, role: Role) -> str:
        path = self.role_password_file(role)
        if not path.exists():
            raise LakehouseError(
                f"no password for the {role} role in {self.roles_dir}; run 'lakehouse db up' "
                "(it creates the roles of an existing cluster too), or set DATABASE_URL"
            )
        return path.read_text().strip()

    def dsn(self, database: str | None = None, role: Role | None = None) -> str:
        """The URL of ``database`` as ``role``; no role means the bootstrap superuser."""
        db = database or self.db_name
        user, password = (
            (SUPERUSER, self.password)
            if role is None
            else (self.roles.of(role), self.role_password(role))
        )
        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:"
            f"{self.port}/{quote(db, safe='')}"
        )

    def ensure_roles(self) -> None:
        """Create the four roles (idempotent); each password generated once, kept mode 0600."""
        self.roles_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.roles_dir, 0o700)
        passwords: dict[Role, str] = {}
        for role in ROLES:
            path = self.role_password_file(role)
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(24) + "\n")
                tmp.rename(path)
            passwords[role] = path.read_text().strip()
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            for stmt in roles_sql(self.roles, passwords):
                conn.execute(stmt)

    def ensure_database(self, name: str, *, template: str | None = None) -> bool:
        """Create database ``name`` for the owner role unless it exists (then hand it over).

        Returns True when it was created. The roles are created first if they do not exist. A
        database made before the roles existed (its tables owned by the bootstrap superuser) is
        handed to the owner role, table by table.
        """
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            owner_exists = conn.execute(
                "select 1 from pg_roles where rolname = %s", (self.roles.owner,)
            ).fetchone()
        if not owner_exists:
            self.ensure_roles()
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (name,)
            ).fetchone()
            if not exists:
                stmt = sql.SQL("create database {} owner {}").format(
                    sql.Identifier(name), sql.Identifier(self.roles.owner)
                )
                if template:
                    stmt = sql.SQL("{} template {}").format(stmt, sql.Identifier(template))
                conn.execute(stmt)
            for grant in database_sql(self.roles, name):
                conn.execute(grant)
        if exists:
            self._adopt(name)
        return not exists

    def _adopt(self, name: str) -> None:
        """Give the bootstrap superuser's tables, sequences and publications to the owner."""
        owner = sql.Identifier(self.roles.owner)
        with psycopg.connect(self.dsn(name), autocommit=True) as conn:
            rows = conn.execute(
                """
                select case c.relkind when 'S' then 'sequence' else 'table' end, c.oid::regclass
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = 'public' and c.relkind in ('r', 'p', 'S')
                  and c.relowner = (select oid from pg_roles where rolname = %s)
                  and not exists (select 1 from pg_depend d where d.objid = c.oid
                                  and d.deptype in ('a', 'i') and c.relkind = 'S')
                """,
                (SUPERUSER,),
            ).fetchall()
            for kind, relation in rows:
                conn.execute(
                    sql.SQL("alter {} {} owner to {}").format(
                        sql.SQL(kind), sql.SQL(str(relation)), owner
                    )
                )
            for (pub,) in conn.execute(
                "select pubname from pg_publication where pubowner = "
                "(select oid from pg_roles where rolname = %s)",
                (SUPERUSER,),
            ).fetchall():
                conn.execute(
                    sql.SQL("alter publication {} owner to {}").format(sql.Identifier(pub), owner)
                )

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
