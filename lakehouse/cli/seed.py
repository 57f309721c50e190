"""``lakehouse seed`` and ``lakehouse simulate``: fill the source database and keep it busy."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from lakehouse.cli.app import flag, option, standalone
from lakehouse.cli.console import lazy_console
from lakehouse.cli.settings import get_settings
from lakehouse.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

console = lazy_console(stderr=True)


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    table.add_row("[bold]total[/bold]", f"[bold]{sum(counts.values()):,}[/bold]")
    return table


@standalone("seed")
@option(
    "--scale",
    "scale",
    type=float,
    default=1.0,
    help="Data volume: 1 gives ~600,000 rows; 10 ten times more.",
)
@option(
    "--seed",
    "seed",
    type=int,
    default=42,
    help="Random seed: the same seed, scale and tenants give identical data.",
)
@option(
    "--tenants",
    "tenants",
    type=int,
    default=8,
    help="How many tenants share the volume (sizes follow a Zipf law: a few large, a long "
    "tail of small ones); up to 100,000.",
)
@flag("--reset", help="Replace the rows already in the database.")
@flag(
    "--if-empty", "if_empty", help="Do nothing (successfully) when the database already has rows."
)
def seed_command(scale: float, seed: int, tenants: int, reset: bool, if_empty: bool) -> None:
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


@standalone("simulate")
@option(
    "--rate",
    "rate",
    type=float,
    help="Target changes per second (default: as fast as the database allows).",
)
@option("--changes", "changes", type=int, help="Stop after this many row changes.")
@option("--seconds", "seconds", type=float, help="Stop after this many seconds.")
@option("--seed", "seed", type=int, default=7, help="Random seed of the simulated choices.")
def simulate_command(
    rate: float | None, changes: int | None, seconds: float | None, seed: int
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
