"""Shell completion: the script ``--show-completion`` prints completes commands and values in
bash, and ``--install-completion`` installs it once."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

# The console script of this environment, as a shell would run it.
LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


def _bash(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in bash (the shell lakehouse then detects), with ``home`` as HOME."""
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def _complete(source: str, words: list[str], home: Path) -> list[str]:
    """What bash offers for the last of ``words`` after sourcing the completion script."""
    script = (
        f"source {shlex.quote(source)}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
        f"COMP_CWORD={len(words) - 1}; COMPREPLY=()\n"
        f"_lakehouse_completion {shlex.quote(str(LAKEHOUSE))}\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    return _bash(script, home).stdout.split()


def test_the_shown_script_completes_commands_and_values(tmp_path: Path) -> None:
    shown = _bash(f"{shlex.quote(str(LAKEHOUSE))} --show-completion", tmp_path).stdout
    assert "_LAKEHOUSE_COMPLETE=bash_complete" in shown
    source = tmp_path / "lakehouse.sh"
    source.write_text(shown, "utf-8")
    assert _complete(str(source), ["lakehouse", "gl"], tmp_path) == ["glue"]
    assert _complete(str(source), ["lakehouse", "pipeline", ""], tmp_path) == [
        "run",
        "watch",
        "daemon",
    ]
    assert _complete(str(source), ["lakehouse", "glue", "st"], tmp_path) == ["start-job-run"]
    assert _complete(str(source), ["lakehouse", "athena", "--format", ""], tmp_path) == [
        "table",
        "csv",
        "json",
    ]


def test_install_writes_the_script_and_one_line_in_bashrc(tmp_path: Path) -> None:
    (tmp_path / ".bashrc").write_text("alias ll='ls -l'\n", "utf-8")
    for _ in range(2):
        out = _bash(f"{shlex.quote(str(LAKEHOUSE))} --install-completion", tmp_path).stdout
    installed = tmp_path / ".bash_completions" / "lakehouse.sh"
    assert f"bash completion installed in {installed}" in out
    assert (tmp_path / ".bashrc").read_text("utf-8") == (
        f"alias ll='ls -l'\nsource '{installed}'\n"
    )
    shown = _bash(f"{shlex.quote(str(LAKEHOUSE))} --show-completion", tmp_path).stdout
    assert installed.read_text("utf-8") == shown
    assert _complete(str(installed), ["lakehouse", "db", "co"], tmp_path) == ["counts"]
