"""``lakehouse --show-completion`` and ``--install-completion``: tab completion for the shell.

The script is click's shell completion (https://click.palletsprojects.com/en/stable/
shell-completion/) for the shell ``lakehouse`` runs under, as shellingham detects it: bash
(4.4 or later), zsh or fish. Installing writes it where each shell reads completions and, for
bash and zsh, adds the line that loads it to the shell's start-up file (once).
"""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import get_completion_class

from lakehouse.errors import ConfigError, LakehouseError

SHELLS = ("bash", "zsh", "fish")


def detect_shell() -> str:
    """The shell that runs this process: bash, zsh or fish.

    Raises:
        ConfigError: for another shell, or when it cannot be told.
    """
    import shellingham

    try:
        name, _ = shellingham.detect_shell()
    except shellingham.ShellDetectionFailure as exc:
        raise ConfigError(
            "cannot tell which shell runs lakehouse; run it from bash, zsh or fish"
        ) from exc
    if name not in SHELLS:
        raise ConfigError(f"no completion for {name}: lakehouse completes in bash, zsh or fish")
    return str(name)


def script(ctx: click.Context, shell: str) -> str:
    """The completion script of the root command for ``shell``."""
    root = ctx.find_root()
    prog_name = root.info_name or "lakehouse"
    kind = get_completion_class(shell)
    if kind is None:  # SHELLS are the shells click completes in
        raise ConfigError(f"no completion for {shell}")
    complete_var = f"_{prog_name.replace('-', '_').replace('.', '_')}_COMPLETE".upper()
    return kind(root.command, {}, prog_name, complete_var).source()


def show(ctx: click.Context) -> None:
    """Print the completion script for the current shell."""
    click.echo(script(ctx, detect_shell()))


def _add_line(rc_file: Path, line: str) -> None:
    text = rc_file.read_text("utf-8") if rc_file.is_file() else ""
    if line not in text.splitlines():
        rc_file.parent.mkdir(parents=True, exist_ok=True)
        rc_file.write_text(f"{text.rstrip()}\n{line}\n".lstrip("\n"), "utf-8")


def install(ctx: click.Context) -> Path:
    """Install the completion script for the current shell; return where it was written.

    Raises:
        LakehouseError: when a file cannot be written, naming it.
    """
    shell = detect_shell()
    home = Path.home()
    name = ctx.find_root().info_name or "lakehouse"
    rc_file, rc_line = None, ""
    if shell == "bash":
        target = home / ".bash_completions" / f"{name}.sh"
        rc_file, rc_line = home / ".bashrc", f"source '{target}'"
    elif shell == "zsh":
        target = home / ".zfunc" / f"_{name}"
        rc_file, rc_line = home / ".zshrc", "fpath+=~/.zfunc; autoload -Uz compinit; compinit"
    else:
        target = home / ".config" / "fish" / "completions" / f"{name}.fish"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script(ctx, shell) + "\n", "utf-8")
        if rc_file is not None:
            _add_line(rc_file, rc_line)
    except OSError as exc:
        raise LakehouseError(
            f"cannot install {shell} completion: {exc.filename}: {exc.strerror}"
        ) from exc
    click.secho(f"{shell} completion installed in {target}", fg="green")
    click.echo("Completion will take effect once you restart the terminal")
    return target
