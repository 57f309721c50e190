"""Entry point of the ``lakehouse`` command."""

from __future__ import annotations

import os
import sys

import click

from lakehouse.cli.app import CONTEXT_SETTINGS, LazyGroup
from lakehouse.errors import LakehouseError

# Each command's module, imported when the command runs (or a help page lists it).
COMMANDS = {
    "seed": "lakehouse.cli.seed:seed_command",
    "simulate": "lakehouse.cli.seed:simulate_command",
    "reconcile": "lakehouse.cli.reconcile:reconcile_cmd",
    "maintain": "lakehouse.cli.maintain:maintain_cmd",
    "crawl": "lakehouse.cli.crawl:crawl",
    "athena": "lakehouse.cli.athena:athena",
    "athena-ddl": "lakehouse.cli.athena:athena_ddl",
    "serve": "lakehouse.cli.web:serve",
    "db": "lakehouse.cli.db:app",
    "replicate": "lakehouse.cli.replicate:app",
    "glue": "lakehouse.cli.glue:app",
    "pipeline": "lakehouse.cli.pipeline:app",
    "tenants": "lakehouse.cli.tenants:app",
    "users": "lakehouse.cli.web:users_app",
}


def _completion(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from lakehouse.cli import completion

    if param.name == "install_completion":
        completion.install(ctx)
    else:
        completion.show(ctx)
    ctx.exit()


@click.group(
    "lakehouse",
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings=CONTEXT_SETTINGS,
    no_args_is_help=True,
    help=(
        "A multi-tenant SaaS lakehouse on one machine: PostgreSQL -> DMS-compatible bronze -> "
        "silver and gold Iceberg tables -> Athena SQL."
    ),
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Show Spark's own warnings and start-up notices (LAKEHOUSE_SPARK_VERBOSE).",
)
# `lakehouse --install-completion` / `--show-completion`: bash, zsh and fish.
@click.option(
    "--install-completion",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_completion,
    help="Install completion for the current shell.",
)
@click.option(
    "--show-completion",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_completion,
    help="Show completion for the current shell, to copy it or customize the installation.",
)
def app(verbose: bool) -> None:
    # Before any command reads the settings: they come from the environment.
    if verbose:
        os.environ["LAKEHOUSE_SPARK_VERBOSE"] = "true"


def main() -> None:
    """Run the CLI; a :class:`LakehouseError` becomes a message and a nonzero exit."""
    try:
        app.main(prog_name="lakehouse")
    except LakehouseError as exc:
        click.echo(f"{click.style('error:', fg='red', bold=True)} {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
