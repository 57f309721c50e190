"""``lakehouse maintain``: compact, expire snapshots and remove orphan files of every table."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.console import Console
from rich.table import Table

from lakehouse.cli.locking import lake_writer, wait_option
from lakehouse.cli.settings import get_settings

console = Console()


def maintain_cmd(
    retention_days: float | None = typer.Option(
        None,
        "--retention-days",
        min=0,
        help="Expire snapshots older than this (default: LAKEHOUSE_SNAPSHOT_RETENTION_DAYS, 7).",
    ),
    retain_last: int | None = typer.Option(
        None,
        "--retain-last",
        min=1,
        help="Always keep this many snapshots (default: LAKEHOUSE_SNAPSHOT_RETAIN_LAST, 10).",
    ),
    orphan_margin_hours: float = typer.Option(
        72.0,
        "--orphan-margin-hours",
        min=0,
        help="Files younger than this are never removed as orphans (a writer may be running).",
    ),
    wait: float = wait_option(),
) -> None:
    """Compact small files, expire old snapshots and remove orphan files, table by table.

    Query answers do not change; time travel to expired snapshots ends. Takes the lake's writer
    lock like every command that writes the lake (see --wait).
    """
    from lakehouse.glue.runner import spark_session
    from lakehouse.maintain import maintain_lake

    settings = get_settings()
    table = Table("table", "snapshots", "files compacted", "files expired", "orphans removed")
    with lake_writer(settings, "maintain", wait) as lock:
        with console.status("starting Spark"):
            spark = spark_session(settings, quick_start=True)
        with console.status("maintaining") as status:
            done = maintain_lake(
                settings,
                spark,
                retention=None if retention_days is None else timedelta(days=retention_days),
                retain_last=retain_last,
                orphan_margin=timedelta(hours=orphan_margin_hours),
                on_table=lambda m: status.update(f"maintained {m.table}"),
            )
        lock.ensure_held()
    for m in done:
        table.add_row(
            m.table,
            f"{m.snapshots_before} -> {m.snapshots_after}",
            f"{m.files_rewritten} -> {m.files_added}",
            str(m.files_expired),
            str(m.orphans_removed),
        )
    console.print(table)
    if not done:
        console.print("no Iceberg tables yet: run `lakehouse pipeline run` first")


def register(root: typer.Typer) -> None:
    root.command("maintain")(maintain_cmd)
