"""``lakehouse reconcile``: compare PostgreSQL with silver per tenant and table."""

from __future__ import annotations

import dataclasses
import json

import click

from lakehouse.cli.app import flag, option, standalone
from lakehouse.cli.console import lazy_console
from lakehouse.cli.settings import get_settings

console = lazy_console()


@standalone("reconcile")
@option("--entity", "entity", multiple=True, help="Only this entity (repeatable); default all.")
@option("--show", "show", type=int, default=20, help="How many differences to list.")
@flag("--json", "as_json", help="Print every entity's counts and all differences as JSON.")
def reconcile_cmd(entity: tuple[str, ...], show: int, as_json: bool) -> None:
    """Row counts, money sums to the cent and latest updated_at, per tenant and table.

    Exits 1 on any difference.
    """
    from rich.table import Table

    from lakehouse.analytics.operations import save_reconcile
    from lakehouse.db.source import database_url
    from lakehouse.reconcile import reconcile

    settings = get_settings()
    results = reconcile(settings, database_url(settings, "replicator"), list(entity) or None)
    save_reconcile(settings, results)
    if as_json:
        payload = {
            "entities": [dataclasses.asdict(r) for r in results],
            "differences": sum(len(r.differences) for r in results),
        }
        # Money sums are Decimals and latest updates datetimes: printed as their text.
        click.echo(json.dumps(payload, indent=2, default=str))
        if payload["differences"]:
            raise click.exceptions.Exit(1)
        return
    table = Table("entity", "tenants", "source rows", "silver rows", "differences")
    for r in results:
        n = len(r.differences)
        table.add_row(
            r.entity,
            str(r.tenants),
            str(r.source_rows),
            str(r.silver_rows),
            "[green]0[/green]" if n == 0 else f"[red]{n}[/red]",
        )
    console.print(table)
    diffs = [d for r in results for d in r.differences]
    if diffs:
        detail = Table("entity", "tenant_id", "metric", "source", "silver")
        for d in diffs[:show]:
            detail.add_row(d.entity, d.tenant_id, d.metric, str(d.source), str(d.silver))
        console.print(detail)
        console.print(f"[red]{len(diffs)} difference(s)[/red] between PostgreSQL and silver")
        raise click.exceptions.Exit(1)
    console.print("[green]silver matches PostgreSQL[/green]")
