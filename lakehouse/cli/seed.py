"""``lakehouse seed`` and ``lakehouse simulate``: fill the source database and keep it busy."""

from __future__ import annotations

import math

import typer
from rich.table import Table

from lakehouse.cli.output import make_console
from lakehouse.cli.settings import get_settings
from lakehouse.errors import ConfigError

console = make_console(stderr=True)


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values()):,}[/bold]")
    return table


def seed_command(
    scale: float = typer.Option(1.0, help="Data volume: 1 gives ~600,000 rows; 10 ten times more."),
    seed: int = typer.Option(
        42, help="Random seed: the same seed, scale and tenants give identical data."
    ),
    tenants: int = typer.Option(
        8,
        help="How many tenants share the volume (sizes follow a Zipf law: a few large, a long "
        "tail of small ones); up to 100,000.",
    ),
    reset: bool = typer.Option(False, "--reset", help="Replace the rows already in the database."),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing (successfully) when the database already has rows."
    ),
) -> None:
    """Load deterministic multi-tenant fake data into the source database with COPY."""
    from lakehouse.db.source import database_url
    from lakehouse.source.seed import check_scale, check_tenants, is_empty
    from lakehouse.source.seed import seed as run_seed

    check_scale(scale)
    check_tenants(tenants)
    dsn = database_url(get_settings(), "maintenance")
    if if_empty and not reset and not is_empty(dsn):
        console.print("the source database already has rows: nothing seeded (--if-empty)")
        return
    counts = run_seed(dsn, scale=scale, seed=seed, reset=reset, tenants=tenants, show_progress=True)
    console.print(
        _counts_table(f"seeded (scale {scale:g}, {tenants:,} tenants, seed {seed})", counts)
    )


def simulate_command(
    rate: float | None = typer.Option(
        None, help="Target changes per second (default: as fast as the database allows)."
    ),
    changes: int | None = typer.Option(None, help="Stop after this many row changes."),
    seconds: float | None = typer.Option(None, help="Stop after this many seconds."),
    seed: int = typer.Option(7, help="Random seed of the simulated choices."),
) -> None:
    """Simulate business activity: valid transactions of inserts, updates and deletes."""
    if changes is None and seconds is None:
        raise ConfigError("say how long to simulate: --changes N or --seconds N")
    if seconds is not None and (not math.isfinite(seconds) or seconds <= 0):
        raise ConfigError(f"--seconds must be a positive number of seconds, got {seconds}")
    if changes is not None and changes <= 0:
        raise ConfigError(f"--changes must be a positive number, got {changes}")
    if rate is not None and (not math.isfinite(rate) or rate <= 0):
        raise ConfigError(f"--rate must be a positive number of changes per second, got {rate}")
    from lakehouse.db.source import database_url
    from lakehouse.source.simulate import simulate

    stats = simulate(
        database_url(get_settings(), "maintenance"),
        changes=changes,
        seconds=seconds,
        rate=rate,
        seed=seed,
        show_progress=True,
    )
    console.print(
        f"{stats.changes:,} row changes in {stats.transactions:,} transactions over "
        f"{stats.seconds:.1f} s ({stats.changes_per_second:,.0f} changes/s)"
    )
    console.print(_counts_table("changes by table and operation", stats.by_table_op()))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("seed")(seed_command)
    app.command("simulate")(simulate_command)
