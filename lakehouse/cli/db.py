"""``lakehouse db``: the source database (the private local cluster, or DATABASE_URL)."""

from __future__ import annotations

import psycopg
import typer
from lakehouse_glue.model import load_declaration
from psycopg import sql
from rich.console import Console
from rich.table import Table

from lakehouse.config import get_settings
from lakehouse.db.migrate import migrate as run_migrations
from lakehouse.db.source import check_logical_replication, database_url, local_cluster

app = typer.Typer(
    help="The source PostgreSQL: the private local cluster, or the server in DATABASE_URL.",
    no_args_is_help=True,
)
console = Console()


@app.command()
def up(
    migrate: bool = typer.Option(True, help="Apply the Django migrations after starting."),
) -> None:
    """Create (once) and start the local cluster with wal_level=logical, then migrate.

    Idempotent. With DATABASE_URL set, no cluster is started: the server is checked for
    wal_level=logical and migrated.
    """
    settings = get_settings()
    if settings.database_url:
        console.print("DATABASE_URL is set: using that server, no local cluster started")
    else:
        cluster = local_cluster(settings)
        created = cluster.init()
        started = cluster.start()
        cluster.ensure_database(settings.db_name)
        what = "created and started" if created else ("started" if started else "already running")
        console.print(
            f"PostgreSQL {what} on 127.0.0.1:{settings.pg_port} (data in {cluster.data_dir})"
        )
    dsn = database_url(settings)
    check_logical_replication(dsn)
    if migrate:
        run_migrations(dsn)
        console.print("migrations applied")


@app.command()
def down() -> None:
    """Stop the local cluster (the data stays)."""
    cluster = local_cluster(get_settings())
    console.print("stopped" if cluster.stop() else "not running")


@app.command()
def status() -> None:
    """Show whether the local cluster exists and runs; exit 1 when it is not running."""
    st = local_cluster(get_settings()).status()
    console.print(
        f"initialized: {st.initialized}\nrunning: {st.running}\nport: {st.port}\n"
        f"pid: {st.pid or '-'}\ndata: {st.data_dir}"
    )
    if not st.running:
        raise typer.Exit(1)


@app.command()
def url() -> None:
    """Print the DSN of the source database (DATABASE_URL, or the local cluster's)."""
    typer.echo(database_url(get_settings()))


@app.command()
def migrate() -> None:
    """Apply the Django migrations to the source database."""
    run_migrations(database_url(get_settings()))
    console.print("migrations applied")


@app.command()
def counts() -> None:
    """Print the row count of every entity table in the source database."""
    declaration = load_declaration()
    table = Table(title="source row counts")
    table.add_column("table")
    table.add_column("rows", justify="right")
    total = 0
    with psycopg.connect(database_url(get_settings())) as conn:
        for entity in declaration.entities:
            query = sql.SQL("select count(*) from {}.{}").format(
                sql.Identifier(entity.schema), sql.Identifier(entity.name)
            )
            row = conn.execute(query).fetchone()
            n = int(row[0]) if row else 0
            total += n
            table.add_row(entity.name, f"{n:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{total:,}[/bold]")
    console.print(table)
