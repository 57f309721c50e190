"""The click pieces every command module shares: lazy groups, options and the help layout.

A command's module is imported when that command runs (or when a group's help lists it), so
``lakehouse athena`` loads the query engine and nothing of Spark, PostgreSQL or AWS, and
``lakehouse --help`` loads only the command modules, which import their libraries inside the
commands. This is click's documented lazy loading (a :class:`click.Group` whose
``get_command`` imports the subcommand's module; https://click.palletsprojects.com/en/stable/
complex/#lazily-loading-subcommands).

The help keeps the layout the CLI had under typer: ``<type>`` metavars, defaults and ranges
shown, and an ``Arguments:`` section (``tests/lakehouse/cli/test_parity.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

from lakehouse.errors import EXIT_LOCKED

F = TypeVar("F", bound=Callable[..., Any])

# As typer laid help out: every default shown beside the option's help.
CONTEXT_SETTINGS: dict[str, Any] = {"show_default": True}


class LazyGroup(click.Group):
    """A group whose commands are ``module:attribute`` names, imported when first used.

    Args:
        lazy_commands: command name -> ``"package.module:attribute"`` (a click command or
            group), in the order the help lists them.
    """

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands in the order they were declared (click would sort them)."""
        return [*self.commands, *(n for n in self.lazy_commands if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command named ``cmd_name``, importing its module the first time."""
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            self.commands[cmd_name] = command
        return self.commands.get(cmd_name)


class Command(click.Command):
    """A command whose help lists its arguments with their help, as typer's did."""

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Nothing: the arguments are listed with their types by :meth:`format_options`."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The ``Arguments:`` section (those with help), then the options."""
        rows = [
            (f"{p.name} {p.type_metavar}", p.help)
            for p in self.get_params(ctx)
            if isinstance(p, HelpArgument) and p.help
        ]
        if rows:
            with formatter.section("Arguments"):
                formatter.write_dl(rows)
        super().format_options(ctx, formatter)


class HelpArgument(click.Argument):
    """An argument with a help text, shown in the ``Arguments:`` section of :class:`Command`."""

    def __init__(
        self, *args: Any, help: str | None = None, type_metavar: str = "<str>", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.help = help
        self.type_metavar = type_metavar


def group(
    name: str, help: str, *, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any
) -> LazyGroup:
    """A (sub)group of commands with ``help``, showing its help when called bare."""
    kwargs.setdefault("no_args_is_help", True)
    return LazyGroup(
        name=name,
        help=help,
        lazy_commands=lazy_commands,
        context_settings=CONTEXT_SETTINGS,
        **kwargs,
    )


def command(
    into: click.Group, name: str | None = None, **kwargs: Any
) -> Callable[[Callable[..., Any]], click.Command]:
    """Declare a command of ``into`` (its help is the function's docstring)."""
    kwargs.setdefault("cls", Command)
    kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
    return into.command(name, **kwargs)


def standalone(name: str | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], Command]:
    """Declare a top-level command, which the root group loads lazily by its name."""
    kwargs.setdefault("cls", Command)
    kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
    return click.command(name, **kwargs)  # type: ignore[no-any-return]


def _metavar(kind: click.ParamType[Any]) -> str:
    if isinstance(kind, click.Choice):
        return "<" + "|".join(str(c) for c in kind.choices) + ">"
    names = {
        click.INT: "int",
        click.FLOAT: "float",
        click.STRING: "str",
        click.BOOL: "bool",
    }
    if isinstance(kind, click.IntRange):
        return "<int range>"
    if isinstance(kind, click.FloatRange):
        return "<float range>"
    if isinstance(kind, click.Path):
        return "<path>"
    return f"<{names.get(kind, kind.name)}>"


def option(*decls: str, type: Any = str, multiple: bool = False, **kwargs: Any) -> Callable[[F], F]:
    """A click option with typer's ``<type>`` metavar (``<list[str]>`` when repeatable)."""
    if "is_flag" not in kwargs and "/" not in "".join(decls):
        kind = click.types.convert_type(type)
        kwargs.setdefault("metavar", "<list[str]>" if multiple else _metavar(kind))
        kwargs["type"] = kind
    return click.option(*decls, multiple=multiple, **kwargs)


def flag(*decls: str, help: str, default: bool = False) -> Callable[[F], F]:
    """A boolean flag (``--name``, or ``--name/--no-name``)."""
    return click.option(*decls, is_flag=True, default=default, help=help)


def argument(name: str, *, help: str, required: bool = True, **kwargs: Any) -> Callable[[F], F]:
    """A positional argument with a help text (listed under ``Arguments:``)."""
    metavar = f"<{name}>" if required else f"[{name}]"
    return click.argument(
        name, cls=HelpArgument, required=required, help=help, metavar=metavar, **kwargs
    )


WAIT_HELP = (
    "Seconds to wait for another command that is writing the lake (default 0: do not wait). "
    f"If it still holds the lake then, exit {EXIT_LOCKED} naming it."
)


def at_least(low: float) -> click.FloatRange:
    """A number of at least ``low`` (its errors say "not a valid float", not "float range")."""
    kind = click.FloatRange(min=low)
    kind.name = "float"
    return kind


def int_range(low: int, high: int | None = None) -> click.IntRange:
    """An integer from ``low`` (to ``high``); its errors say "not a valid integer"."""
    kind = click.IntRange(min=low, max=high)
    kind.name = "integer"
    return kind


def wait_option() -> Callable[[F], F]:
    """The ``--wait SECONDS`` option of every command that writes the lake."""
    return option("--wait", "wait", type=at_least(0.0), default=0.0, help=WAIT_HELP)


def choices(values: Sequence[str]) -> click.Choice[str]:
    """A choice among ``values``, matched exactly (as typer's enums were)."""
    return click.Choice(list(values))
