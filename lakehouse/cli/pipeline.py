"""``lakehouse pipeline``: the Glue DAG in one Spark session, once or in micro-batches."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from lakehouse.cli.app import at_least, command, flag, group, option, wait_option
from lakehouse.cli.console import lazy_console, real
from lakehouse.cli.daemon import IDLE_TIMEOUT, Emit
from lakehouse.cli.locking import lake_writer, stop_on_signals
from lakehouse.cli.settings import get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table

    from lakehouse.config import Settings
    from lakehouse.glue.sizing import SparkSizing
    from lakehouse.pipeline.run import PipelineResult

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


def _run_once(
    full_refresh: bool, wait: float, *, as_json: bool = False, daemon: bool = True
) -> int:
    from lakehouse.pipeline.run import check_layout, plan

    settings = get_settings()
    if not full_refresh:
        check_layout(settings)  # decided from files, before a JVM starts
    steps = plan()
    # With --json, standard output holds the JSON document only.
    out = _err if as_json else console
    result = _hand_to_daemon(settings, len(steps), full_refresh, wait, out) if daemon else None
    if result is None:
        with _Shown(out, len(steps)) as show:
            result = run_locked(settings, full_refresh, wait, show, _new_session(settings))
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


def run_locked(
    settings: Settings,
    full_refresh: bool,
    wait: float,
    emit: Emit,
    session: Callable[[bool, SparkSizing], SparkSession],
    *,
    command: str = "pipeline run",
) -> PipelineResult:
    """One ``pipeline run`` under the lake's writer lock, in this process or the daemon's.

    "Nothing new" is decided under the lock before Spark. ``emit`` is told what the user sees
    while it runs: ``message`` (the lock's), ``sizing``, ``spark`` (the session is up),
    ``start`` and ``finish`` of every step. ``session(quick_start, sizing)`` gives the Spark
    session: a new one tuned for the run, or the daemon's.
    """
    from lakehouse.glue.runner import spark_sizing
    from lakehouse.pipeline.run import PipelineResult, is_short_run, nothing_new, run_pipeline

    def say(text: str) -> None:
        emit("message", {"text": text})

    with lake_writer(settings, command, wait, say) as lock:
        if not full_refresh and nothing_new(settings):
            result = PipelineResult(nothing_new=True)
        else:
            sizing = spark_sizing(settings)
            emit(
                "sizing",
                {
                    "text": f"Spark: {sizing.driver_memory} driver memory, "
                    f"{sizing.shuffle_partitions} shuffle partitions, "
                    f"{sizing.max_partition_bytes // 2**20} MiB read splits, "
                    f"{sizing.slice_bytes // 2**20} MiB silver slices ({sizing.basis})"
                },
            )
            # A short run (incremental, silver exists) gets a JVM tuned to warm up fast.
            spark = session(is_short_run(settings, full_refresh=full_refresh), sizing)
            emit("spark", {})
            result = run_pipeline(
                settings,
                full_refresh=full_refresh,
                spark=spark,
                on_start=lambda step: emit("start", {"job": step.job_name}),
                on_finish=lambda step, run, why: emit("finish", {"job": step.job_name}),
            )
        lock.ensure_held()
    return result


def _new_session(settings: Settings) -> Callable[[bool, SparkSizing], SparkSession]:
    def session(quick_start: bool, sizing: SparkSizing) -> SparkSession:
        from lakehouse.glue.runner import spark_session

        return spark_session(settings, quick_start=quick_start, sizing=sizing)

    return session


class _Shown:
    """Shows a run's events as ``pipeline run`` always has: the lock's messages on standard
    error, the Spark line, then a bar of the steps naming those under way."""

    def __init__(self, out: Console, total: int) -> None:
        self.out = out
        self.total = total
        self.running: list[str] = []
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self._lock = threading.Lock()  # jobs of a stage end side by side

    def __enter__(self) -> _Shown:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _label(self) -> str:
        return f"steps ({', '.join(self.running)})" if self.running else "steps"

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        with self._lock:
            self._show(event, fields)

    def _show(self, event: str, fields: dict[str, Any]) -> None:
        if event == "message":
            _err.print(str(fields.get("text")), markup=False, highlight=False, soft_wrap=True)
        elif event == "sizing":
            self.out.print(str(fields.get("text")), markup=False, highlight=False)
            # rich's progress module loads when a run starts, not with every command.
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=real(self.out),
            )
            self.progress.start()
            self.task = self.progress.add_task("starting Spark", total=self.total)
        elif self.progress is None or self.task is None:
            return
        elif event == "spark":
            self.progress.update(self.task, description=self._label())
        elif event == "start":
            self.running.append(str(fields.get("job")))
            self.progress.update(self.task, description=self._label())
        elif event == "finish":
            job = str(fields.get("job"))
            if job in self.running:
                self.running.remove(job)
            self.progress.update(self.task, advance=1, description=self._label())


def _hand_to_daemon(
    settings: Settings, total: int, full_refresh: bool, wait: float, out: Console
) -> PipelineResult | None:
    """The run done by this state directory's pipeline daemon; None when there is none, or it
    declined (this process then runs it, and says why when the daemon declined)."""
    from lakehouse.cli.daemon import SocketFolderError, run_remote

    def on_event(event: dict[str, Any]) -> None:
        kind = str(event.get("event"))
        if kind == "accepted":
            out.print(
                f"handed to the pipeline daemon (pid {event.get('pid')}, its run "
                f"{event.get('run')})",
                highlight=False,
            )
        else:
            show(kind, event)

    with _Shown(out, total) as show:
        try:
            handed = run_remote(settings, full_refresh=full_refresh, wait=wait, on_event=on_event)
        except SocketFolderError as exc:
            _err.print(f"note: {exc}: running in this process", markup=False, highlight=False)
            return None
    if handed is None:
        return None
    if handed.declined:
        _err.print(
            f"note: the pipeline daemon declined the run ({handed.declined}): running it in "
            "this process",
            markup=False,
            highlight=False,
        )
        return None
    return handed.result


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
@flag(
    "--no-daemon",
    "no_daemon",
    help="Run in this process even when a pipeline daemon runs (see `pipeline daemon`).",
)
def run(full_refresh: bool, wait: float, as_json: bool, no_daemon: bool) -> None:
    """Run every silver job, then every gold job and the quality report, then the crawler.

    A pipeline daemon of this state directory (`pipeline daemon start`), started with the same
    code, settings and environment, runs it in its warm Spark session; otherwise this process
    does. Exits 1 when a job failed, 3 when rows or files were quarantined and 75 when another
    command was writing the lake (see --wait).
    """
    code = _run_once(full_refresh, wait, as_json=as_json, daemon=not no_daemon)
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


daemon_app = group("daemon", "A long-lived Spark driver that `pipeline run` hands its runs to.")
app.add_command(daemon_app)


def _idle_option() -> Callable[[Any], Any]:
    return option(
        "--idle-timeout",
        "idle_timeout",
        type=at_least(1.0),
        default=IDLE_TIMEOUT,
        help="Seconds without a run after which the daemon ends.",
    )


def _warm_up_option() -> Callable[[Any], Any]:
    return flag(
        "--no-warm-up",
        "no_warm_up",
        help="Serve at once, without first running the pipeline on a scratch sample of the "
        "lake's bronze (the first run is then slower).",
    )


@command(daemon_app)
@_idle_option()
@_warm_up_option()
def serve(idle_timeout: float, no_warm_up: bool) -> None:
    """Run the pipeline daemon in the foreground (`start` runs this in the background).

    Before its first run it warms up: it runs the pipeline on a scratch sample of the lake's
    bronze, in a folder of its state directory, never writing the lake. A run asked for
    meanwhile waits for it. Ctrl-C or SIGTERM stops it after the run under way.
    """
    from lakehouse.cli.daemon import Daemon
    from lakehouse.glue.runner import session_sizing, spark_session, spark_sizing

    settings = get_settings()

    def warm_up() -> str:
        from lakehouse.pipeline.warmup import warm_up as on_a_sample

        assert daemon.spark is not None
        done = on_a_sample(settings, daemon.spark, log=_log)
        if done.skipped:
            return f"skipped: {done.skipped}"
        failed = f", {len(done.failed)} failed ({', '.join(done.failed)})" if done.failed else ""
        return f"done in {done.seconds:.1f} s ({done.jobs} job(s) on the sample{failed})"

    daemon = Daemon(
        settings,
        None,
        daemon_runner,
        idle_timeout=idle_timeout,
        log=_log,
        fits=lambda: _outgrown(session_sizing(), spark_sizing(settings)),
        warm_up=None if no_warm_up else warm_up,
    )
    daemon.claim()
    try:
        with stop_on_signals(console, "finishing the run under way") as stop:
            _log(f"pipeline daemon {os.getpid()}: starting Spark")
            daemon.spark = spark_session(settings, app_name="lakehouse-pipeline-daemon")
            daemon.stop = stop
            daemon.listen()
            _log(
                f"pipeline daemon {os.getpid()}: listening on {daemon.path} for "
                f"{settings.state_dir.resolve()} (idle timeout {idle_timeout:g} s)"
            )
            why = daemon.serve()
    finally:
        daemon.close()
    _log(f"pipeline daemon {os.getpid()}: stopped ({why}) after {daemon.runs} run(s)")


def daemon_runner(
    settings: Settings, spark: SparkSession, full_refresh: bool, wait: float, emit: Emit
) -> PipelineResult:
    """How the daemon runs a client's ``pipeline run``: as this process would, in its session
    (with the run's shuffle partitions and read split: runtime settings, sized per run)."""

    def session(quick_start: bool, sizing: SparkSizing) -> SparkSession:
        from lakehouse.glue.runner import resize

        resize(spark, sizing)
        return spark

    return run_locked(
        settings,
        full_refresh,
        wait,
        emit,
        session,
        command=f"pipeline run (daemon pid {os.getpid()})",
    )


#: How far a run's sizing may ask for more driver memory than the daemon's JVM has before the
#: daemon declines it. The sizing grows with bronze (4 bytes of heap per byte) and with the
#: memory free at the moment: a few MiB more after each round of changes is no risk.
OUTGROWN_FACTOR = 1.25


def _outgrown(started: SparkSizing | None, wanted: SparkSizing) -> str | None:
    """Why a daemon's session is too small for a run: its driver memory, fixed when its JVM
    started, is well under what the run's sizing asks for now (the lake grew)."""
    if started is None:
        return None
    if wanted.driver_memory_mib > OUTGROWN_FACTOR * started.driver_memory_mib:
        return (
            f"its driver has {started.driver_memory} of memory and this run is sized for "
            f"{wanted.driver_memory} (the lake grew): restart it with `lakehouse pipeline "
            "daemon stop` and `start`"
        )
    return None


def _log(line: str) -> None:
    console.print(line, markup=False, highlight=False, soft_wrap=True)


@command(daemon_app)
@_idle_option()
@_warm_up_option()
@option(
    "--timeout",
    "timeout",
    type=at_least(1.0),
    default=600.0,
    help="Seconds to wait for the daemon to start and warm up.",
)
def start(idle_timeout: float, no_warm_up: bool, timeout: float) -> None:
    """Start the pipeline daemon of this state directory in the background.

    Returns once it serves warm: it first runs the pipeline on a scratch sample of the lake's
    bronze (see `serve`; about as long as one run). It writes its log to
    <state dir>/pipeline-daemon.log. Exits 0 when one already runs.
    """
    import subprocess
    import sys
    import time

    from lakehouse.cli.daemon import DaemonError, ask, log_path

    settings = get_settings()
    running = ask(settings, "ping")
    if running is not None:
        console.print(f"a pipeline daemon already runs (pid {running.get('pid')})")
        return
    log = log_path(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "lakehouse", "pipeline", "daemon", "serve"]
    argv += ["--idle-timeout", repr(idle_timeout)] + (["--no-warm-up"] if no_warm_up else [])
    with open(log, "ab") as sink:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while (answer := ask(settings, "ping")) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.terminate()
            tail = log.read_text(errors="replace").splitlines()[-15:]
            raise DaemonError(
                f"the pipeline daemon did not start (exit {proc.poll()}); the end of {log}:\n"
                + "\n".join(tail)
            )
        time.sleep(0.25)
    if not no_warm_up:
        console.print(
            f"pipeline daemon {answer.get('pid')} is up; warming up on a sample of the lake's "
            "bronze",
            highlight=False,
        )
    while (state := ask(settings, "status")) is not None and not state.get("warm"):
        if time.monotonic() > deadline:
            console.print(
                f"the pipeline daemon is still warming up after {timeout:g} s; runs wait for it",
                highlight=False,
            )
            break
        time.sleep(0.5)
    warmed = "" if no_warm_up or state is None else f"warm-up {state.get('warm_up')}; "
    console.print(
        f"pipeline daemon started (pid {answer.get('pid')}, idle timeout {idle_timeout:g} s, "
        f"{warmed}log {log}); `lakehouse pipeline run` now hands its runs to it",
        highlight=False,
    )


@command(daemon_app)
def status() -> None:
    """Show whether the pipeline daemon of this state directory runs, and what it does.

    Exits 3 when none runs.
    """
    from lakehouse.cli.daemon import ask

    settings = get_settings()
    answer = ask(settings, "status")
    if answer is None:
        console.print(f"no pipeline daemon runs for {settings.state_dir.resolve()}")
        raise click.exceptions.Exit(3)
    for key in ("pid", "state_dir", "lake", "runs", "running", "warm_up", "idle_seconds"):
        console.print(f"{key}: {answer.get(key)}", markup=False, highlight=False)
    console.print(f"idle_timeout: {answer.get('idle_timeout')}", markup=False, highlight=False)
    console.print(f"log: {answer.get('log')}", markup=False, highlight=False)


@command(daemon_app)
@option(
    "--timeout",
    "timeout",
    type=at_least(0.0),
    default=600.0,
    help="Seconds to wait for a run under way to end.",
)
def stop(timeout: float) -> None:
    """Stop the pipeline daemon of this state directory (after the run under way)."""
    import time

    from lakehouse.cli.daemon import DaemonError, ask, process_alive

    settings = get_settings()
    answer = ask(settings, "stop")
    if answer is None:
        console.print(f"no pipeline daemon runs for {settings.state_dir.resolve()}")
        return
    if answer.get("after_run"):
        console.print("the daemon stops after the run under way")
    pid = int(answer["pid"])
    deadline = time.monotonic() + timeout
    while process_alive(pid):  # it stops listening at once, and ends after the run under way
        if time.monotonic() > deadline:
            raise DaemonError(f"the pipeline daemon (pid {pid}) has not stopped")
        time.sleep(0.2)
    console.print(f"pipeline daemon stopped (pid {pid})")
