"""Result tables as plain Markdown text, for a pipe or a file, without loading rich.

The layout is the one :class:`lakehouse.cli.output.OutputConsole` draws with rich when output
is not a terminal (a blank edge line above and below, ``| a | b |`` rows, a ``|---|`` rule
under the header), so that ``lakehouse athena`` prints the same table, but each value is
printed as it is: rich would read ``[red]`` in a value as markup and ``:smile:`` as an emoji.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

# Zero width: combining and enclosing marks, format characters (ZWJ...) and control characters.
_ZERO_WIDTH = frozenset({"Mn", "Me", "Cf", "Cc"})


def cell_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: 2 for wide (East Asian) characters, 0 for marks."""
    width = 0
    for char in text:
        if unicodedata.category(char) in _ZERO_WIDTH:
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_width(text))


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``columns`` and ``rows`` (text cells) as a Markdown table, left-aligned, every value whole.

    A value holding line breaks takes as many lines as it has, as rich lays it out.
    """
    widths = [
        max(
            [
                cell_width(line)
                for cell in (name, *(row[i] for row in rows))
                for line in cell.split("\n")
            ]
        )
        for i, name in enumerate(columns)
    ]
    edge = " " * (sum(widths) + 3 * len(widths) + 1)

    def lines(cells: Sequence[str]) -> list[str]:
        parts = [cell.split("\n") for cell in cells]
        height = max(len(p) for p in parts)
        return [
            "| "
            + " | ".join(
                _pad(p[n] if n < len(p) else "", w) for p, w in zip(parts, widths, strict=True)
            )
            + " |"
            for n in range(height)
        ]

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [edge, *lines(columns), rule]
    for row in rows:
        out += lines(row)
    out.append(edge)
    return "\n".join(out) + "\n"
