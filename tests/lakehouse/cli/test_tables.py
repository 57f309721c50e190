"""A result table written to a pipe is rich's Markdown layout, with every value as it is."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.table import Table
from rich.text import Text

from lakehouse.cli.output import OutputConsole
from lakehouse.cli.tables import cell_width, markdown_table
from tests.support.lake import Lake


def _rich(columns: list[str], rows: list[list[str]]) -> str:
    """The oracle: the table as rich draws it for a file (values as text)."""
    buffer = io.StringIO()
    table = Table(show_lines=False)
    for name in columns:
        table.add_column(Text(name), no_wrap=True)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    OutputConsole(file=buffer).print(table)
    return buffer.getvalue()


def test_the_layout_is_rich_s_for_wide_accented_and_multiline_values() -> None:
    columns = ["tenant", "total", "note", "é"]
    rows = [
        ["acme", "1234.50", "NULL", "café"],
        ["日本の会社", "0.00", "", "a\u0301"],
        ["\uff57\uff49\uff44\uff45", "-7", "two\nlines", "x" * 120],
    ]
    assert markdown_table(columns, rows) == _rich(columns, rows)
    assert markdown_table(["n"], []) == _rich(["n"], [])
    assert [cell_width(t) for t in ("abc", "日本", "a\u0301", "\u200b", "")] == [3, 4, 1, 0, 0]


def test_values_are_printed_as_they_are_not_as_markup(athena_lake: Lake, tmp_path: Path) -> None:
    value = "[red]x[/red] :smile: [link=http://e.vil]y[/link]"
    env = {**os.environ, "LAKEHOUSE_LAKE": athena_lake.settings.lake_uri}
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", "athena", f"select '{value}' as v"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    ).stdout
    assert out == markdown_table(["v"], [[value]])
    assert f"| {value} |" in out.splitlines()
