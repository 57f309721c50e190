"""``lakehouse reconcile``: compare PostgreSQL with silver per tenant and table."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.table import Table

from lakehouse.cli.output import make_console
from lakehouse.cli.settings import get_settings

console = make_console()


def reconcile_cmd(
    entity: Annotated[
        list[str] | None,
        typer.Option("--entity", help="Only this entity (repeatable); default all."),
    ] = None,
    show: int = typer.Option(20, "--show", help="How many differences to list."),
    as_json: bool = typer.Option(
        False, "--json", help="Print every entity's counts and all differences as JSON."
    ),
) -> None:
    """Row counts, money sums to the cent and latest updated_at, per tenant and table.

    Exits 1 on any difference.
    """
    from lakehouse.analytics.operations import save_reconcile
    from lakehouse.db.source import database_url
    from lakehouse.reconcile import reconcile

    settings = get_settings()
    results = reconcile(settings, database_url(settings, "replicator"), entity or None)
    save_reconcile(settings, results)
    if as_json:
        payload = {
            "entities": [dataclasses.asdict(r) for r in results],
            "differences": sum(len(r.differences) for r in results),
        }
        # Money sums are Decimals and latest updates datetimes: printed as their text.
        typer.echo(json.dumps(payload, indent=2, default=str))
        if payload["differences"]:
            raise typer.Exit(1)
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
        raise typer.Exit(1)
    console.print("[green]silver matches PostgreSQL[/green]")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("reconcile")(reconcile_cmd)
