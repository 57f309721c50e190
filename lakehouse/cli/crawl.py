"""``lakehouse crawl``: register the lake's tables in the local catalog (the Glue crawler)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lakehouse.cli.locking import lake_writer, wait_option
from lakehouse.cli.output import make_console
from lakehouse.cli.settings import get_settings

console = make_console()
_err = make_console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""

    @app.command()
    def crawl(
        database: Annotated[
            list[str] | None,
            typer.Option(
                "--database",
                "-d",
                help="Database(s) to crawl: bronze, silver, gold (default: all three).",
            ),
        ] = None,
        wait: float = wait_option(),
        as_json: bool = typer.Option(
            False, "--json", help="Print the registered tables as JSON instead of a table."
        ),
    ) -> None:
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
            result = run_crawl(settings, database or DATABASES)
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
            typer.echo(json.dumps(payload, indent=2))
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
