"""Entry point of the ``lakehouse`` command."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from lakehouse.cli import (
    athena,
    crawl,
    db,
    glue,
    maintain,
    pipeline,
    reconcile,
    replicate,
    seed,
    tenants,
    web,
)
from lakehouse.errors import LakehouseError

app = typer.Typer(
    name="lakehouse",
    help=(
        "A multi-tenant SaaS lakehouse on one machine: PostgreSQL -> DMS-compatible bronze -> "
        "silver and gold Iceberg tables -> Athena SQL."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain (click) help: typer's rich help loads rich's Markdown renderer and doubles the
    # start-up time of every command; the commands import what they need when they run.
    rich_markup_mode=None,
    # `lakehouse --install-completion` / `--show-completion`: bash, zsh, fish, PowerShell.
    add_completion=True,
)


@app.callback()
def _options(
    verbose: bool = typer.Option(
        False,
        "--verbose",
        "-v",
        help="Show Spark's own warnings and start-up notices (LAKEHOUSE_SPARK_VERBOSE).",
    ),
) -> None:
    # Before any command reads the settings: they come from the environment.
    if verbose:
        os.environ["LAKEHOUSE_SPARK_VERBOSE"] = "true"


app.add_typer(db.app, name="db")
seed.register(app)
replicate.register(app)
glue.register(app)
pipeline.register(app)
reconcile.register(app)
maintain.register(app)
crawl.register(app)
athena.register(app)
tenants.register(app)
web.register(app)

_err = Console(stderr=True)


def main() -> None:
    """Run the CLI; a :class:`LakehouseError` becomes a message and a nonzero exit."""
    try:
        app()
    except LakehouseError as exc:
        _err.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
