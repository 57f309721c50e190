"""``lakehouse glue``: run the Glue job scripts locally, like the ``aws glue`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lakehouse.cli.app import command, group, option, wait_option
from lakehouse.cli.console import lazy_console
from lakehouse.cli.locking import lake_writer
from lakehouse.cli.settings import get_settings
from lakehouse.errors import LakehouseError

app = group("glue", "The local AWS Glue: run job scripts unchanged (job name = script stem).")
console = lazy_console()


def _parse_arguments(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LakehouseError(
            f'--arguments is not valid JSON ({exc}); example: \'{{"--full_refresh": "true"}}\''
        ) from exc
    if not isinstance(data, dict):
        raise LakehouseError("--arguments must be a JSON object of '--name': 'value' pairs")
    return {str(k): str(v) for k, v in data.items()}


@command(app, "start-job-run")
@option(
    "--job-name",
    "job_name",
    required=True,
    help="Glue job name, e.g. transform_orders_bronze_to_silver.",
)
@option(
    "--arguments",
    "arguments",
    help='JSON object overriding default arguments, e.g. {"--full_refresh": "true"}.',
)
@option(
    "--script",
    "script",
    help="Run this Glue script (any .py, e.g. from Glue Studio) as job --job-name.",
)
@wait_option()
def start_job_run_cmd(
    job_name: str, arguments: str | None, script: str | None, wait: float
) -> None:
    """Run one job to completion (default arguments from settings, bookmarks enabled).

    With --script, any Glue script runs under --job-name with Glue's special arguments
    (bookmarks disabled unless --arguments enables them). Exits 1 when the job fails, 3 when
    it quarantined rows or files and 75 when another command was writing the lake (see --wait).
    """
    from lakehouse.glue.runner import (
        SparkLostError,
        check_job_name,
        job_scripts,
        spark_session,
        start_job_run,
    )

    settings = get_settings()
    overrides = _parse_arguments(arguments)
    check_job_name(job_name)
    if script is None and job_name not in job_scripts():
        raise LakehouseError(
            f"no Glue job {job_name!r}; 'lakehouse glue list-jobs' shows the job names"
        )
    with (
        lake_writer(settings, f"glue start-job-run --job-name {job_name}", wait) as lock,
        console.status(f"running {job_name} (Spark {settings.spark_master})"),
    ):
        full = str(overrides.get("--full_refresh", "false")).lower() == "true"
        spark = spark_session(settings, quick_start=not full)
        run = start_job_run(
            settings, job_name, overrides, spark=spark, script=Path(script) if script else None
        )
        lock.ensure_held()
    if run.fatal:
        raise SparkLostError(run.fatal)
    summary = {"JobRunId": run.run_id, "JobRunState": run.state, "ExecutionTime": run.seconds}
    console.print_json(json.dumps(summary))
    if run.report:
        r = run.report
        console.print(
            f"{r['entity']}: {r['files']['processed']} file(s), {r['rows_in']} change(s) in, "
            f"{r['rows_quarantined']} row(s) and {r['files']['quarantined']} file(s) quarantined, "
            f"{r['rows_out']} row(s) written in {r['buckets_rewritten']} tenant bucket(s)"
        )
    if run.error:
        console.print(f"[red]{run.error}[/red]", highlight=False)
        raise click.exceptions.Exit(1)
    if run.quarantined:
        raise click.exceptions.Exit(3)


@command(app, "list-jobs")
def list_jobs() -> None:
    """List the job scripts in glue-scripts/."""
    from rich.table import Table

    from lakehouse.glue.runner import job_scripts

    table = Table("job name", "script")
    for name, path in job_scripts().items():
        table.add_row(name, str(path.name))
    console.print(table)


@command(app, "reset-job-bookmark")
@option("--job-name", "job_name", required=True, help="The job whose bookmark to forget.")
@wait_option()
def reset_job_bookmark(job_name: str, wait: float) -> None:
    """Forget a job's bookmark: its next run processes every bronze file again."""
    from lakehouse.glue.runner import check_job_name, ensure_stubs_on_path, spark_session

    check_job_name(job_name)  # it names the bookmark file
    settings = get_settings()
    ensure_stubs_on_path()
    from awsglue import _local
    from awsglue.job import bookmark_path
    from lakehouse_glue import fs

    _local.configure(settings.glue_state_uri)
    with lake_writer(settings, f"glue reset-job-bookmark --job-name {job_name}", wait):
        spark = spark_session(settings)
        removed = fs.delete(spark, bookmark_path(job_name))
    console.print(f"bookmark of {job_name} {'reset' if removed else 'was not set'}")
