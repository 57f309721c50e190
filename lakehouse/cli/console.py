"""Consoles made when a command first prints, so that importing a command loads no rich.

A command module declares ``console = lazy_console()`` at its top as before; rich (and the
console) load when the command prints, not when the CLI lists or starts the command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """Stands for the console ``factory`` makes, making it on first use."""

    def __init__(self, factory: Callable[[], Console]) -> None:
        self._factory = factory
        self._console: Console | None = None

    def made(self) -> Console:
        """The console itself (made now if it was not yet)."""
        if self._console is None:
            self._console = self._factory()
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


def real(console: Console) -> Console:
    """The console a :func:`lazy_console` stands for, to hand to rich (a progress bar's).

    rich uses its console as a context manager and compares it by identity; the stand-in
    only forwards attributes.
    """
    return console.made() if isinstance(console, _LazyConsole) else console


def lazy_console(*, stderr: bool = False) -> Console:
    """The console of :func:`lakehouse.cli.output.make_console`, made when first used.

    Args:
        stderr: print to standard error.
    """

    def make() -> Console:
        from lakehouse.cli.output import make_console

        return make_console(stderr=stderr)

    return cast("Console", _LazyConsole(make))
