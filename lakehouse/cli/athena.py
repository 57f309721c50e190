"""``lakehouse athena``: Athena SQL on the local lake; ``lakehouse athena-ddl``: the DDL files."""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from lakehouse.cli.app import argument, choices, flag, option, standalone
from lakehouse.cli.console import lazy_console
from lakehouse.cli.tables import markdown_table
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from lakehouse.athena.engine import QueryResult

# The engine (DuckDB, sqlglot, pyiceberg) loads when a query runs, not when the CLI starts.

console = lazy_console()


class EngineChoice(StrEnum):
    local = "local"
    athena = "athena"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _as_json(result: QueryResult) -> str:
    # A value's text as Athena prints it; NULL is JSON's null (no text is the empty string
    # here: a NULL's text is None, and "" is an empty string's).
    records = [dict(zip(result.columns, row, strict=True)) for row in result.values.text_rows(None)]
    return json.dumps(records, ensure_ascii=False, indent=2)


def _terminal() -> bool:
    """Whether rich would treat standard output as a terminal (and draw a boxed table)."""
    if os.environ.get("TTY_COMPATIBLE") or os.environ.get("FORCE_COLOR") is not None:
        return True  # rich's own switches: let rich decide
    return sys.stdout.isatty()


def _rich_table(columns: Sequence[str], cells: list[list[str]]) -> None:
    """A boxed table on a terminal; values are text, never rich markup or emoji codes."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False)
    for name in columns:
        table.add_column(Text(name), no_wrap=True)
    for row_cells in cells:
        table.add_row(*(Text(cell) for cell in row_cells))
    # A result is data: never fold values into one-character columns to fit a narrow
    # terminal; let wide results be wide.
    needed = 1 + sum(
        3 + max([cell_len(name)] + [cell_len(row_cells[i]) for row_cells in cells])
        for i, name in enumerate(columns)
    )
    wide = Console(width=needed) if needed > console.width else console
    wide.print(table)


def _print(result: QueryResult, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.table:
        cells = result.text_rows(null="NULL")
        if _terminal():
            _rich_table(result.columns, cells)
        else:  # a pipe or a file: Markdown, drawn without loading rich
            sys.stdout.write(markdown_table(result.columns, cells))
    elif fmt is OutputFormat.csv:
        sys.stdout.write(result.result_path.read_text("utf-8") if result.result_path else "")
    else:
        sys.stdout.write(_as_json(result) + "\n")


def _write_output(result: QueryResult, fmt: OutputFormat, output: Path) -> None:
    if fmt is OutputFormat.json:
        output.write_text(_as_json(result) + "\n", encoding="utf-8")
    else:
        from lakehouse.athena.engine import write_csv

        write_csv(output, result.columns, result.values)


def read_sql_file(path: Path, max_bytes: int) -> str:
    """The SQL in ``path``: a regular file of UTF-8 text, at most ``max_bytes`` long.

    Raises:
        LakehouseError: for a device, a folder, a missing, oversized or non-UTF-8 file.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise LakehouseError(f"cannot read SQL file {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise LakehouseError(f"{path} is not a regular file; -f reads SQL text files only")
    if info.st_size > max_bytes:
        raise LakehouseError(
            f"{path} is {info.st_size} bytes; SQL files may be at most {max_bytes} bytes "
            "(LAKEHOUSE_ATHENA_MAX_SQL_BYTES)"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise LakehouseError(f"cannot read SQL file {path}: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise LakehouseError(f"{path} grew past {max_bytes} bytes while being read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LakehouseError(
            f"{path} is not UTF-8 text (byte {exc.start} is invalid); save it as UTF-8"
        ) from exc
    if "\x00" in text:
        raise LakehouseError(f"{path} holds NUL characters; -f reads SQL text files only")
    return text.removeprefix("\ufeff")


@standalone("athena")
@argument("sql", required=False, help="Athena SQL; several statements with ';'.")
@option(
    "--file",
    "-f",
    "file",
    type=click.Path(path_type=Path),
    help="Read the SQL from a UTF-8 text file.",
)
@option("--tenant", "-t", "tenant", help="Tenant slug or id: every table holds only its rows.")
@option(
    "--timeout",
    "timeout",
    type=float,
    help="Cancel after this many seconds (default LAKEHOUSE_ATHENA_TIMEOUT, 60).",
)
@option(
    "--format",
    "fmt",
    type=choices([f.value for f in OutputFormat]),
    default=OutputFormat.table.value,
    help="Output format.",
)
@option(
    "--output",
    "-o",
    "output",
    type=click.Path(path_type=Path),
    help="Also write the last statement's result here.",
)
@option(
    "--engine",
    "engine_kind",
    type=choices([e.value for e in EngineChoice]),
    help="local: DuckDB over the lake; athena: Amazon Athena through boto3 "
    "(default: LAKEHOUSE_ATHENA_ENGINE).",
)
def athena(
    sql: str | None,
    file: Path | None,
    tenant: str | None,
    timeout: float | None,
    fmt: str,
    output: Path | None,
    engine_kind: Literal["local", "athena"] | None,
) -> None:
    """Run Athena (Trino) SQL on the local lake with DuckDB.

    Tables are resolved through the local catalog (`lakehouse crawl`). Each statement's
    result CSV and metadata are kept under settings.athena_results_uri by query id.
    """
    if (sql is None) == (file is None):
        raise LakehouseError("give the SQL either as an argument or with -f FILE, not both")
    from lakehouse.athena.engines import open_engine
    from lakehouse.config import get_settings

    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= 86400):
        raise LakehouseError(f"--timeout must be between 0 and 86400 seconds, not {timeout}")
    settings = get_settings()
    if timeout is not None:
        settings = settings.replace(athena_timeout_seconds=timeout)
    text = read_sql_file(file, settings.athena_max_sql_bytes) if file is not None else str(sql)
    engine = open_engine(settings, tenant=tenant, kind=engine_kind)
    try:
        # Results are only printed here: as text, so a large one does not load pyarrow.
        results = engine.execute(text, as_text=True)
    finally:
        engine.close()
    for i, result in enumerate(results):
        if len(results) > 1:
            click.echo(f"-- statement {i + 1} of {len(results)}", err=True)
        _print(result, OutputFormat(fmt))
        click.echo(
            f"query {result.query_id}: {result.row_count} rows in "
            f"{result.elapsed_ms:.1f} ms; results in {result.result_path}",
            err=True,
        )
    if output is not None and results:
        _write_output(results[-1], OutputFormat(fmt), output)


@standalone("athena-ddl")
@flag("--write", help="Rewrite the generated files.")
def athena_ddl(write: bool) -> None:
    """Generate the DDL and declared-rule checks in athena-queries/ from the declarations.

    Without --write, only check that the committed files are current (exit 1 if not).
    """
    from lakehouse.athena import ddl

    if write:
        changed = ddl.write()
        console.print("\n".join(f"wrote {p}" for p in changed) or "generated files are up to date")
        return
    stale = ddl.stale()
    if stale:
        raise LakehouseError(
            f"generated files in athena-queries/ are out of date ({', '.join(stale)}): run "
            "`lakehouse athena-ddl --write` and commit the result"
        )
    console.print("generated files in athena-queries/ are up to date")
