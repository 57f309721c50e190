"""``lakehouse pipeline``: the Glue DAG in one Spark session, once or in micro-batches."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from lakehouse.cli.app import at_least, command, flag, group, option, wait_option
from lakehouse.cli.console import lazy_console, real
from lakehouse.cli.locking import lake_writer, stop_on_signals
from lakehouse.cli.settings import get_settings

if TYPE_CHECKING:
    from rich.table import Table

    from lakehouse.config import Settings
    from lakehouse.pipeline.run import PipelineResult, Step

app = group("pipeline", "Run the pipeline: silver jobs, gold jobs, quality report.")
console = lazy_console()
_err = lazy_console(stderr=True)


def _summary(result: PipelineResult) -> Table:
    from rich.table import Table

    table = Table("job", "state", "seconds", "files", "changes in", "quarantined", "rows written")
    for run in result.runs:
        r = run.report or {}
        files = r.get("files", {})
        state = run.state if run.state == "SUCCEEDED" else f"[red]{run.state}[/red]"
        table.add_row(
            run.job_name,
            state,
            f"{run.seconds:.1f}",
            str(files.get("processed", "")),
            str(r.get("rows_in", "")),
            str(run.quarantined) if r else "",
            str(r.get("rows_out", "")),
        )
    for job in result.up_to_date:
        table.add_row(job, "UP TO DATE", "", "", "", "", "inputs and code unchanged")
    for job, why in result.skipped:
        table.add_row(job, "[yellow]SKIPPED[/yellow]", "", "", "", "", why)
    return table


def _run_once(full_refresh: bool, wait: float, *, as_json: bool = False) -> int:
    from lakehouse.pipeline.run import PipelineResult, check_layout, nothing_new, plan

    settings = get_settings()
    if not full_refresh:
        check_layout(settings)  # decided from files, before a JVM starts
    steps = plan()
    with lake_writer(settings, "pipeline run", wait) as lock:
        if not full_refresh and nothing_new(settings):  # also before Spark, under the lock
            result = PipelineResult(nothing_new=True)
        else:
            result = _run_with_progress(settings, steps, full_refresh, as_json=as_json)
        lock.ensure_held()
    if as_json:
        click.echo(json.dumps(_as_json(result), indent=2, default=str))
        if result.fatal:
            from lakehouse.glue.runner import SparkLostError

            raise SparkLostError(result.fatal)
    elif result.nothing_new:
        console.print(
            "nothing new: every bronze file is in silver, and gold and the quality report "
            "were built from the current silver snapshots"
        )
    else:
        _report(settings, result)
    return result.exit_code


def _run_with_progress(
    settings: Settings, steps: list[Step], full_refresh: bool, *, as_json: bool
) -> PipelineResult:
    from lakehouse.glue.runner import spark_session, spark_sizing
    from lakehouse.pipeline.run import is_short_run, run_pipeline

    # With --json, standard output holds the JSON document only.
    out = _err if as_json else console
    sizing = spark_sizing(settings)
    out.print(
        f"Spark: {sizing.driver_memory} driver memory, {sizing.shuffle_partitions} shuffle "
        f"partitions, {sizing.max_partition_bytes // 2**20} MiB read splits, "
        f"{sizing.slice_bytes // 2**20} MiB silver slices ({sizing.basis})",
        highlight=False,
    )
    running: list[str] = []

    def label() -> str:
        # Jobs of a stage run side by side: the bar counts steps and names those under way.
        return f"steps ({', '.join(running)})" if running else "steps"

    # rich's progress and text modules load when a run starts, not with every command.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=real(out),
    ) as progress:
        task = progress.add_task("starting Spark", total=len(steps))
        # A short run (incremental, silver exists) gets a JVM tuned to warm up fast.
        spark = spark_session(
            settings,
            quick_start=is_short_run(settings, full_refresh=full_refresh),
            sizing=sizing,
        )
        progress.update(task, description=label())

        def started(step: Step) -> None:
            running.append(step.job_name)
            progress.update(task, description=label())

        def finished(step: Step, run: object, why: object) -> None:
            if step.job_name in running:
                running.remove(step.job_name)
            progress.update(task, advance=1, description=label())

        result = run_pipeline(
            settings,
            full_refresh=full_refresh,
            spark=spark,
            on_start=started,
            on_finish=finished,
        )
    return result


def _as_json(result: PipelineResult) -> dict[str, Any]:
    """The run's outcome as plain data: what ``--json`` prints."""
    jobs: list[dict[str, Any]] = []
    for run in result.runs:
        r = run.report or {}
        jobs.append(
            {
                "job": run.job_name,
                "state": run.state,
                "seconds": round(run.seconds, 3),
                "files": r.get("files", {}).get("processed"),
                "rows_in": r.get("rows_in"),
                "quarantined": run.quarantined if r else None,
                "rows_out": r.get("rows_out"),
                "error": run.error,
            }
        )
    jobs += [{"job": job, "state": "UP_TO_DATE"} for job in result.up_to_date]
    jobs += [{"job": job, "state": "SKIPPED", "why": why} for job, why in result.skipped]
    return {
        "jobs": jobs,
        "quarantined": result.quarantined,
        "crawl_error": result.crawl_error,
        "schema_notes": result.schema_notes,
        "seconds": round(result.seconds, 3),
        "exit_code": result.exit_code,
    }


def _report(settings: Settings, result: PipelineResult) -> None:
    from rich.text import Text

    from lakehouse.glue.runner import SparkLostError

    console.print(_summary(result))
    if result.fatal:
        raise SparkLostError(result.fatal)  # one line; the other failures are its echoes
    for run in result.failed:
        console.print(f"[red]{run.job_name} failed:[/red] {run.error}", highlight=False)
    if result.crawl_error:
        console.print(f"[red]crawl failed:[/red] {result.crawl_error}", highlight=False)
    for job, why in result.skipped:
        console.print(f"[yellow]warning:[/yellow] skipped {job}: {why}")
    if result.quarantined:
        console.print(
            f"[yellow]{result.quarantined} row(s)/file(s) quarantined[/yellow] - see "
            f"{settings.quarantine_uri} and {settings.reports_uri}/quality/"
        )
    for note in result.schema_notes:
        # Names come from bronze headers: printed as text, never as console markup.
        console.print(Text.assemble(("note: ", "yellow"), note))
    console.print(f"pipeline finished in {result.seconds:.1f} s")


@command(app)
@flag("--full-refresh", help="Rebuild silver from all bronze instead of new files only.")
@wait_option()
@flag("--json", "as_json", help="Print the outcome of every job as JSON instead of a table.")
def run(full_refresh: bool, wait: float, as_json: bool) -> None:
    """Run every silver job, then every gold job and the quality report, then the crawler.

    Exits 1 when a job failed, 3 when rows or files were quarantined and 75 when another
    command was writing the lake (see --wait).
    """
    code = _run_once(full_refresh, wait, as_json=as_json)
    if code:
        raise click.exceptions.Exit(code)


@command(app)
@option(
    "--interval",
    "interval",
    type=at_least(0.0),
    default=5.0,
    help="Seconds between batch starts.",
)
@option("--max-batches", "max_batches", type=int, help="Stop after N batches.")
@wait_option()
def watch(interval: float, max_batches: int | None, wait: float) -> None:
    """Replicate and process in micro-batches until Ctrl-C or SIGTERM, so gold follows the source.

    Holds the lake's writer lock the whole time. A stop signal lets the batch under way finish
    (a second one stops at once); exits 75 when another command was writing the lake.
    """
    from lakehouse.glue.runner import spark_session
    from lakehouse.pipeline.watch import Batch
    from lakehouse.pipeline.watch import watch as watch_loop

    settings = get_settings()

    def show(batch: Batch) -> None:
        from lakehouse.glue.runner import SparkLostError

        res = batch.result
        if res.fatal:
            raise SparkLostError(res.fatal)
        changes = sum(int((r.report or {}).get("rows_in", 0)) for r in res.runs)
        console.print(
            f"batch {batch.number}: replicated in {batch.replicate_seconds:.1f} s, "
            f"{changes} change(s) processed in {res.seconds:.1f} s, "
            f"{len(res.failed)} failed job(s), {res.quarantined} quarantined"
        )
        for run in res.failed:
            console.print(f"[red]{run.job_name} failed:[/red] {run.error}", highlight=False)
        if res.crawl_error:
            console.print(f"[red]crawl failed:[/red] {res.crawl_error}", highlight=False)

    with (
        lake_writer(settings, "pipeline watch", wait) as lock,
        stop_on_signals(console, "finishing the batch under way") as stop,
    ):
        spark = spark_session(settings)

        def on_batch(batch: Batch) -> None:
            show(batch)
            lock.ensure_held()

        def on_between(batch: Batch) -> None:
            if batch.report is not None:
                if batch.report.state == "SUCCEEDED":
                    console.print(
                        f"after batch {batch.number}: published the quality report in "
                        f"{batch.report_seconds:.1f} s",
                        highlight=False,
                    )
                else:
                    console.print(
                        f"[red]after batch {batch.number}: the quality report failed:[/red] "
                        f"{batch.report.error}",
                        highlight=False,
                    )
            if batch.compacted:
                tables = ", ".join(f"{c.table} ({len(c.buckets)})" for c in batch.compacted)
                console.print(
                    f"after batch {batch.number}: compacted the fragmented buckets of {tables} "
                    f"in {batch.compact_seconds:.1f} s",
                    highlight=False,
                )
            lock.ensure_held()

        batches = watch_loop(
            settings,
            interval=interval,
            spark=spark,
            max_batches=max_batches,
            on_batch=on_batch,
            on_between=on_between,
            stop=stop,
        )
    done = batches[-1].number if batches else 0
    if stop.is_set():
        console.print(f"stopped after {done} batch(es); the lake lock is released")
