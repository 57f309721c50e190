"""``lakehouse db``: the source database (the private local cluster, or DATABASE_URL)."""

from __future__ import annotations

import json

import click

from lakehouse.cli.app import command, flag, group, option
from lakehouse.cli.console import lazy_console
from lakehouse.cli.settings import get_settings
from lakehouse.db.roles import ROLES, Role

# psycopg and Django load when a command needs them, not when the CLI starts.

app = group(
    "db", "The source PostgreSQL: the private local cluster, or the server in DATABASE_URL."
)
console = lazy_console()


@command(app)
@flag("--migrate/--no-migrate", default=True, help="Apply the Django migrations after starting.")
def up(migrate: bool) -> None:
    """Create (once) and start the local cluster with wal_level=logical, then migrate.

    Idempotent. With DATABASE_URL set, no cluster is started: the server is checked for
    wal_level=logical and migrated.
    """
    from lakehouse.db.migrate import migrate as run_migrations
    from lakehouse.db.source import check_logical_replication, database_url, local_cluster

    settings = get_settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: using that server, no local cluster started")
    else:
        cluster = local_cluster(settings)
        created = cluster.init()
        started = cluster.start()
        cluster.ensure_roles()
        cluster.ensure_database(settings.db_name)
        what = "created and started" if created else ("started" if started else "already running")
        console.print(
            f"PostgreSQL {what} on 127.0.0.1:{settings.pg_port} (data in {cluster.data_dir})"
        )
    check_logical_replication(database_url(settings, "replicator"))
    if migrate:
        run_migrations(database_url(settings, "owner"))
        console.print("migrations applied")


@command(app)
def down() -> None:
    """Stop the local cluster (the data stays)."""
    from lakehouse.db.source import local_cluster

    cluster = local_cluster(get_settings())
    console.print("stopped" if cluster.stop() else "not running")


@command(app)
def status() -> None:
    """Show whether the local cluster exists and runs; exit 1 when it is not running."""
    from lakehouse.db.source import local_cluster

    st = local_cluster(get_settings()).status()
    console.print(
        f"initialized: {st.initialized}\nrunning: {st.running}\nport: {st.port}\n"
        f"pid: {st.pid or '-'}\ndata: {st.data_dir}"
    )
    if not st.running:
        raise click.exceptions.Exit(1)


def _role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise click.BadParameter(f"{value!r} is not a role; choose one of {', '.join(ROLES)}")


@command(app)
@option(
    "--role",
    "role",
    default="app",
    help=f"Whose URL: {', '.join(ROLES)} (app: the Django app's login).",
    callback=lambda ctx, param, value: _role(value),
)
@flag("--show-password", help="Print the password instead of '***'.")
def url(role: str, show_password: bool) -> None:
    """Print the source database's URL as one role (password masked unless asked for)."""
    from lakehouse.db.source import database_url, mask_password

    dsn = database_url(get_settings(), _role(role))
    click.echo(dsn if show_password else mask_password(dsn))


@command(app, "roles-sql")
@option("--database", "database", help="The source database (default: LAKEHOUSE_DB_NAME).")
@flag("--rds", help="Amazon RDS: grant rds_replication instead of REPLICATION.")
def roles_sql_command(database: str | None, rds: bool) -> None:
    """Print the SQL that creates the roles on a server of your own (DATABASE_URL).

    Run it as a superuser (RDS: the master user), then set each role's password with psql's
    \\password and give the URLs in LAKEHOUSE_<ROLE>_DATABASE_URL (see django-backend/README.md).
    """
    from lakehouse.db.roles import database_sql, render, roles_sql
    from lakehouse.db.source import role_names

    settings = get_settings()
    names = role_names(settings)
    statements = [*roles_sql(names, rds=rds), *database_sql(names, database or settings.db_name)]
    click.echo(render(statements))


@command(app)
def migrate() -> None:
    """Apply the Django migrations to the source database, as the owner role."""
    from lakehouse.db.migrate import migrate as run_migrations
    from lakehouse.db.source import database_url

    run_migrations(database_url(get_settings(), "owner"))
    console.print("migrations applied")


@command(app)
@flag("--json", "as_json", help='Print {"tables": {name: rows}, "total": rows} instead of a table.')
def counts(as_json: bool) -> None:
    """Print the row count of every entity table in the source database."""
    import psycopg
    from lakehouse_glue.model import load_declaration
    from psycopg import sql
    from rich.table import Table

    from lakehouse.db.source import database_url

    declaration = load_declaration()
    rows: dict[str, int] = {}
    with psycopg.connect(database_url(get_settings(), "replicator")) as conn:
        for entity in declaration.entities:
            query = sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(entity.schema), sql.Identifier(entity.name)
            )
            row = conn.execute(query).fetchone()
            rows[entity.name] = int(row[0]) if row else 0
    total = sum(rows.values())
    if as_json:
        click.echo(json.dumps({"tables": rows, "total": total}, indent=2))
        return
    table = Table(title="source row counts")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in rows.items():
        table.add_row(name, f"{n:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{total:,}[/bold]")
    console.print(table)
