"""``lakehouse tenants offboard``: erase a tenant from the lake (onboarding needs no command)."""

from __future__ import annotations

import sys

import click

from lakehouse.cli.app import command, flag, group, option, wait_option
from lakehouse.cli.console import lazy_console
from lakehouse.cli.locking import lake_writer
from lakehouse.cli.settings import get_settings
from lakehouse.errors import LakehouseError

console = lazy_console()

app = group(
    "tenants",
    "Tenant lifecycle. Onboarding needs no deploy and no command: a new tenant's rows flow "
    "from the source into bronze, silver and gold like every other tenant's.",
)


@command(app, "offboard")
@option("--tenant", "tenant", required=True, help="The tenant's slug or id.")
@flag("--yes", help="Do not ask for confirmation.")
@flag(
    "--expire-snapshots",
    help=(
        "Also expire every snapshot but the current one of each table, so time travel "
        "cannot reach the tenant's rows (it ends time travel for every tenant)."
    ),
)
@wait_option()
def offboard_cmd(tenant: str, yes: bool, expire_snapshots: bool, wait: float) -> None:
    """Delete a tenant's rows from every silver, history and gold table, for good.

    The tenant is recorded in the lake's offboarded list first, so no later pipeline run (a
    --full-refresh included) brings it back from bronze. Older snapshots keep its rows until
    they expire (--expire-snapshots, or `lakehouse maintain`). Bronze and the source database
    are not changed: the command lists the bronze files that still hold the tenant's rows.
    Takes the lake's writer lock (see --wait).
    """
    from lakehouse.tenants import check_tenant_argument

    settings = get_settings()
    wanted = check_tenant_argument(tenant)
    if not yes:
        if not sys.stdin.isatty():
            raise LakehouseError(
                f"offboarding {wanted!r} deletes its rows from every silver, history and gold "
                "table; confirm with --yes (standard input is not a terminal to ask on)"
            )
        click.confirm(
            f"Delete every row of tenant {wanted!r} from silver, history and gold in "
            f"{settings.lake_uri}?",
            abort=True,
        )
    from rich.table import Table

    from lakehouse.glue.runner import spark_session
    from lakehouse.tenants import offboard

    with lake_writer(settings, "tenants offboard", wait) as lock:
        with console.status("starting Spark"):
            spark = spark_session(settings, quick_start=True)
        with console.status("offboarding") as status:
            result = offboard(
                settings,
                spark,
                wanted,
                expire_snapshots=expire_snapshots,
                on_step=status.update,
            )
        lock.ensure_held()
    table = Table("table", "rows deleted", "files expired")
    for name, deleted in result.deleted.items():
        expired = result.expired_files.get(name) if result.expired_files is not None else None
        table.add_row(name, str(deleted), "-" if expired is None else str(expired))
    console.print(f"offboarded tenant {result.slug} ({result.tenant_id})", highlight=False)
    console.print(table)
    if result.expired_files is None:
        console.print(
            "Older snapshots still hold the tenant's rows (time travel reaches them) until they "
            "expire: run `lakehouse maintain` (snapshots older than LAKEHOUSE_SNAPSHOT_RETENTION_"
            "DAYS) or this command again with --expire-snapshots. On AWS the table optimizers' "
            "snapshot retention expires them.",
            highlight=False,
        )
    if result.bronze:
        console.print(
            f"Bronze still holds the tenant's rows in {len(result.bronze)} file(s) (bronze is the "
            "replayable copy of the source and never expires; on AWS it moves to infrequent "
            "access). Silver skips them on every run, --full-refresh included. To erase them, "
            "delete the files that hold only this tenant's rows and rewrite the others without "
            "them:",
            highlight=False,
        )
        for f in result.bronze:
            only = " (only this tenant)" if f.tenant_rows == f.rows else ""
            console.print(f"  {f.uri}: {f.tenant_rows} of {f.rows} row(s){only}", highlight=False)
    else:
        console.print("Bronze holds no row of the tenant.")
    console.print(
        "The source database is the application's: delete the tenant there too, or its next "
        "changes replicate into bronze (silver keeps skipping them).",
        highlight=False,
    )
