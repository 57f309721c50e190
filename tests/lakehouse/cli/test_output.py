"""Tables written to a pipe or a file are complete, in a plain Markdown layout."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from rich.table import Table

from lakehouse.cli.output import OutputConsole
from lakehouse.glue.runner import job_scripts


def test_a_wide_table_in_a_file_is_not_cut_and_is_markdown() -> None:
    buffer = io.StringIO()
    console = OutputConsole(file=buffer)
    long_name = "transform_order_items_bronze_to_silver_" + "x" * 120
    table = Table("job", "state", "rows written")
    table.add_row(long_name, "[red]FAILED[/red]", "1,234")
    console.print(table)
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    assert lines[0].split("|")[1:-1] == [
        f" {'job':<{len(long_name)}} ",
        " state  ",
        " rows written ",
    ]
    assert set(lines[1]) <= {"|", "-", ":"}
    assert [c.strip() for c in lines[2].split("|")[1:-1]] == [long_name, "FAILED", "1,234"]
    assert "…" not in buffer.getvalue()
    assert "\x1b[" not in buffer.getvalue()  # no colour codes in a file


def test_piped_command_output_holds_every_value() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.main", "glue", "list-jobs"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "40"},
    ).stdout
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in out.splitlines() if "|" in line]
    assert rows[0] == ["job name", "script"]
    assert rows[2:] == [[name, path.name] for name, path in job_scripts().items()]
    assert len(rows) > 10
