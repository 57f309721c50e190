"""Where the CLI prints: complete tables in a pipe or a file, rich ones on a terminal.

Rich lays out for 80 columns when the output is not a terminal, which cuts wide tables
(``transfor…`` for every job name) in a log or a pipe. The console here has no width limit
when it does not write to a terminal, and draws tables as Markdown there, so that a log
holds every value and a reader (or ``grep``) gets plain text.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, ConsoleDimensions
from rich.table import Table

# Wide enough for any table the commands print; rich only uses the width a table needs.
UNBOUNDED_WIDTH = 100_000


class OutputConsole(Console):
    """A :class:`rich.console.Console` that never folds or cuts output that is not a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size, or an unbounded width when writing to a pipe or a file."""
        dimensions = super().size
        if self.is_terminal:
            return dimensions
        return ConsoleDimensions(UNBOUNDED_WIDTH, dimensions.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Print like rich does; tables become Markdown when not writing to a terminal."""
        if not self.is_terminal:
            for obj in objects:
                if isinstance(obj, Table):
                    obj.box = box.MARKDOWN
                    obj.show_edge = True
        super().print(*objects, **kwargs)


def make_console(*, stderr: bool = False) -> Console:
    """The console a command prints to (standard output, or standard error)."""
    return OutputConsole(stderr=stderr)
