"""``lakehouse replicate``: the local DMS, from the source PostgreSQL into bronze."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

import click

from lakehouse.cli.app import CONTEXT_SETTINGS, LazyGroup, command, flag, option
from lakehouse.cli.console import lazy_console, real
from lakehouse.cli.locking import stop_on_signals
from lakehouse.cli.settings import get_settings

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from lakehouse.replicate.bronze import NullMarkerCollision

console = lazy_console(stderr=True)

_TARGET_HELP = "Bronze root: a folder or s3://bucket/prefix (default: <lake>/bronze)."


def _setup_logging(verbose: bool) -> None:
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("lakehouse.replicate")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


@click.group(
    "replicate",
    cls=LazyGroup,
    context_settings=CONTEXT_SETTINGS,
    invoke_without_command=True,
    subcommand_metavar="COMMAND [ARGS]...",
    help=(
        "Replicate the source database into DMS-compatible bronze files: a full load under the "
        "slot's snapshot, then change data capture. Runs until Ctrl-C, or with --once until "
        "caught up with the WAL position at start."
    ),
)
@click.pass_context
@flag("--once", help="Full load if needed, stream until caught up with the WAL at start.")
@flag(
    "--resync",
    help="Drop the slot and this target's table files, then reload everything (after a "
    "lost slot; run the pipeline with full_refresh=true afterwards).",
)
@option("--target", "target", help=_TARGET_HELP)
@flag("--quiet", help="No log line per written file.")
def app(ctx: click.Context, once: bool, resync: bool, target: str | None, quiet: bool) -> None:
    """Run the replicator (see ``lakehouse replicate status`` for where it stands)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from lakehouse.replicate import ReplicationOptions, Replicator

    _setup_logging(not quiet)
    settings = get_settings()
    options = ReplicationOptions.from_settings(settings, target=target)
    with stop_on_signals(console, "writing what is buffered and confirming it") as stop:
        bar = Progress(
            TextColumn("full load {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=real(console),
        )
        tasks: dict[str, TaskID] = {}
        lock = threading.Lock()

        def progress(table: str, done: int, total: int) -> None:
            with lock:
                if not tasks:
                    bar.start()
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=max(total, 1))
                bar.update(tasks[table], completed=done if total else 1)

        def stream_started() -> None:
            bar.stop()  # the log lines of the stream follow; a live bar would garble them
            if not once:
                console.print(
                    f"streaming into {options.target} (slot {options.slot_name}); Ctrl-C stops"
                )

        try:
            summary = Replicator(options, progress=progress).run(
                once=once, resync=resync, should_stop=stop.is_set, on_stream_start=stream_started
            )
        finally:
            bar.stop()
    if summary.full_load is not None:
        rows = sum(c.rows for c in summary.full_load)
        files = sum(len(c.files) for c in summary.full_load)
        console.print(f"full load: {rows:,} rows in {files} files")
    console.print(
        f"streamed {summary.stats.changes:,} changes in {summary.stats.transactions:,} "
        f"transactions into {summary.stats.files} files; confirmed {summary.confirmed_lsn} "
        f"({summary.reason}); bronze at {summary.target}"
    )
    _report_collisions(console, summary.collisions)


def _report_collisions(console: Console, found: list[NullMarkerCollision], show: int = 20) -> None:
    """Name every source text that equals the bronze NULL marker (it reads as NULL downstream)."""
    if not found:
        return
    from lakehouse_glue.model import load_bronze_contract

    marker = load_bronze_contract().csv_null_value
    console.print(
        f"[yellow]warning: {len(found)} source value(s) equal the bronze NULL marker "
        f"{marker!r} and will read as NULL in silver:[/yellow]",
        highlight=False,
    )
    for hit in found[:show]:
        console.print(f"  {hit.describe(marker)}", highlight=False, markup=False)
    if len(found) > show:
        console.print(f"  ... and {len(found) - show} more (see the log)", highlight=False)


@command(app)
@option("--target", "target", help=_TARGET_HELP)
@flag("--json", "as_json", help="Print JSON instead of a table.")
def status(target: str | None, as_json: bool) -> None:
    """Slot, confirmed position, lag (bytes, seconds), WAL retained, last file per table."""
    from rich.table import Table

    from lakehouse.replicate import ReplicationOptions
    from lakehouse.replicate.status import replication_status

    options = ReplicationOptions.from_settings(get_settings(), target=target)
    st = replication_status(options)
    if as_json:
        click.echo(json.dumps(st.as_dict(), indent=2))
        return
    from lakehouse.cli.output import make_console

    out = make_console()
    table = Table(title=f"replication into {st.target}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows = [
        ("slot", f"{st.slot} ({'exists' if st.slot_exists else 'missing'})"),
        ("active", f"{st.active} (pid {st.active_pid})" if st.active else str(st.active)),
        ("wal status", str(st.wal_status)),
        ("full load", f"{st.full_load} (task start {st.task_start_time})"),
        ("current WAL", str(st.current_lsn)),
        ("confirmed", f"{st.confirmed_lsn} at {st.last_confirmed_at}"),
        ("lag", f"{st.lag_bytes} bytes, {st.lag_seconds} s"),
        ("WAL retained", f"{st.wal_retained_bytes} bytes"),
    ]
    rows += [(f"last file {t}", str(name)) for t, name in st.last_files.items()]
    for k, v in rows:
        table.add_row(k, v)
    out.print(table)
