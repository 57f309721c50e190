"""``lakehouse maintain``: compact, expire snapshots and remove orphan files of every table."""

from __future__ import annotations

from datetime import timedelta

from lakehouse.cli.app import at_least, int_range, option, standalone, wait_option
from lakehouse.cli.console import lazy_console
from lakehouse.cli.locking import lake_writer
from lakehouse.cli.settings import get_settings

console = lazy_console()


@standalone("maintain")
@option(
    "--retention-days",
    "retention_days",
    type=at_least(0),
    help="Expire snapshots older than this (default: LAKEHOUSE_SNAPSHOT_RETENTION_DAYS, 7).",
)
@option(
    "--retain-last",
    "retain_last",
    type=int_range(1),
    help="Always keep this many snapshots (default: LAKEHOUSE_SNAPSHOT_RETAIN_LAST, 10).",
)
@option(
    "--orphan-margin-hours",
    "orphan_margin_hours",
    type=at_least(0),
    default=72.0,
    help="Files younger than this are never removed as orphans (a writer may be running).",
)
@wait_option()
def maintain_cmd(
    retention_days: float | None,
    retain_last: int | None,
    orphan_margin_hours: float,
    wait: float,
) -> None:
    """Compact small files, expire old snapshots and remove orphan files, table by table.

    Query answers do not change; time travel to expired snapshots ends. Takes the lake's writer
    lock like every command that writes the lake (see --wait).
    """
    from rich.table import Table

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
