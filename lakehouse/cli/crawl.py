"""``lakehouse crawl``: register the lake's tables in the local catalog (the Glue crawler)."""

from __future__ import annotations

import json

import click

from lakehouse.cli.app import flag, option, standalone, wait_option
from lakehouse.cli.console import lazy_console
from lakehouse.cli.locking import lake_writer
from lakehouse.cli.settings import get_settings

console = lazy_console()
_err = lazy_console(stderr=True)


@standalone("crawl")
@option(
    "--database",
    "-d",
    "database",
    multiple=True,
    help="Database(s) to crawl: bronze, silver, gold (default: all three).",
)
@wait_option()
@flag("--json", "as_json", help="Print the registered tables as JSON instead of a table.")
def crawl(database: tuple[str, ...], wait: float, as_json: bool) -> None:
    """Discover bronze, silver and gold tables, their schemas, partitions and drift.

    Registers them in the local catalog (settings.catalog_uri) as databases bronze, silver
    and gold, for `lakehouse athena`. Schema drift is reported, not an error. Exits 75
    when another command was writing the lake (see --wait).
    """
    from rich.table import Table

    from lakehouse.catalog.crawler import crawl as run_crawl
    from lakehouse.catalog.store import DATABASES

    settings = get_settings()
    status = (_err if as_json else console).status("crawling the lake")
    with lake_writer(settings, "crawl", wait), status:
        result = run_crawl(settings, list(database) or DATABASES)
    if as_json:
        tables = [
            {
                "table": t.qualified_name,
                "format": t.format,
                "columns": len(t.all_columns),
                # Iceberg tables track their files in their metadata: nothing to register.
                "partitions": None if t.format == "iceberg" else len(t.partitions),
                "files": t.files,
                "drift": t.drift.describe(),
            }
            for t in result.tables
        ]
        payload = {"catalog": settings.catalog_uri, "tables": tables, "removed": result.removed}
        click.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"catalog: {settings.catalog_uri}")
    for name, justify in (
        ("table", "left"),
        ("format", "left"),
        ("columns", "right"),
        ("partitions", "right"),
        ("files", "right"),
        ("drift", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in result.tables:
        table.add_row(
            t.qualified_name,
            t.format,
            str(len(t.all_columns)),
            # Iceberg tables track their files in their metadata: nothing to register.
            "-" if t.format == "iceberg" else str(len(t.partitions)),
            str(t.files),
            t.drift.describe(),
        )
    console.print(table)
    if result.removed:
        console.print(f"removed (no data any more): {', '.join(result.removed)}")
    if not result.tables:
        console.print(
            f"no tables found under {settings.lake_uri}: replicate and run the pipeline first"
        )
