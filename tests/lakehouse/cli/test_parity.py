"""What users see of the CLI stays as it is: every command's help, and its usage errors.

``parity/help/*.txt`` holds the ``--help`` of every command and group, ``parity/errors.json``
what a mistyped command line prints and its exit status, as the CLI printed them when they were
written. A change of either is a change for users: make it on purpose, then rewrite the files
with ``python -m tests.lakehouse.cli.test_parity`` and review their diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PARITY = Path(__file__).parent / "parity"
HELP = PARITY / "help"
ERRORS = PARITY / "errors.json"

# Every command and group, as typed after `lakehouse`.
COMMANDS = [
    [],
    ["seed"],
    ["simulate"],
    ["reconcile"],
    ["maintain"],
    ["crawl"],
    ["athena"],
    ["athena-ddl"],
    ["serve"],
    ["db"],
    ["db", "up"],
    ["db", "down"],
    ["db", "status"],
    ["db", "url"],
    ["db", "roles-sql"],
    ["db", "migrate"],
    ["db", "counts"],
    ["replicate"],
    ["replicate", "status"],
    ["glue"],
    ["glue", "start-job-run"],
    ["glue", "list-jobs"],
    ["glue", "reset-job-bookmark"],
    ["pipeline"],
    ["pipeline", "run"],
    ["pipeline", "watch"],
    ["pipeline", "daemon"],
    ["pipeline", "daemon", "start"],
    ["pipeline", "daemon", "serve"],
    ["pipeline", "daemon", "status"],
    ["pipeline", "daemon", "stop"],
    ["tenants"],
    ["tenants", "offboard"],
    ["users"],
    ["users", "create"],
]

# Command lines a user gets wrong; none of them reaches the lake or a database.
MISTAKES = [
    [],
    ["db"],
    ["glue"],
    ["pipeline"],
    ["tenants"],
    ["users"],
    ["nope"],
    ["db", "nope"],
    ["--bogus"],
    ["replicate", "--bogus"],
    ["glue", "start-job-run"],
    ["glue", "reset-job-bookmark"],
    ["tenants", "offboard"],
    ["users", "create", "--email", "a@b.c"],
    ["athena"],
    ["athena", "--file"],
    ["athena", "--format", "xml", "select 1"],
    ["athena", "--engine", "x", "select 1"],
    ["athena", "--timeout", "abc", "select 1"],
    ["athena", "--timeout", "nan", "select 1"],
    ["athena", "select 1", "select 2"],
    ["pipeline", "run", "--wait", "-1"],
    ["pipeline", "watch", "--interval", "-1"],
    ["pipeline", "watch", "--max-batches", "x"],
    ["pipeline", "daemon", "start", "--idle-timeout", "0"],
    ["pipeline", "daemon", "serve", "--idle-timeout", "soon"],
    ["pipeline", "daemon", "stop", "--timeout", "-1"],
    ["maintain", "--retain-last", "0"],
    ["maintain", "--retention-days", "-1"],
    ["serve", "--port", "0"],
    ["serve", "--port", "70000"],
    ["serve", "--host", "0.0.0.0"],
    ["users", "create", "--tenant", "acme", "--email", "a@b.c", "--role", "root"],
    ["db", "url", "--role", "nobody"],
    ["db", "up", "--migrate", "yes"],
    ["seed", "--scale", "abc"],
    ["seed", "--tenants", "1.5"],
    ["simulate"],
    ["simulate", "--seconds", "abc"],
    ["simulate", "--changes", "-5"],
    ["crawl", "--wait", "x"],
    ["reconcile", "--show", "many"],
    ["glue", "start-job-run", "--job-name", "x", "--arguments", "[1]"],
]

# Runs every command line in one process, as `lakehouse ...` would, and prints what it printed.
_PROBE = """
import contextlib, io, json, sys
from lakehouse.cli.main import main

pages = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["lakehouse", *argv]
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    page = {"argv": argv, "exit_code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
    pages.append(page)
print(json.dumps(pages))
"""


def run_all(command_lines: list[list[str]], cwd: Path) -> list[dict[str, Any]]:
    """What each command line prints and its exit status, at a terminal width of 80."""
    env = {**os.environ, "COLUMNS": "80", "LAKEHOUSE_LAKE": str(cwd / "lake")}
    for name in ("DATABASE_URL", "LAKEHOUSE_SPARK_VERBOSE", "NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(command_lines)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=cwd,  # no .env of the checkout
        timeout=300,
    )
    pages: list[dict[str, Any]] = json.loads(out.stdout)
    return pages


def _help_file(argv: list[str]) -> Path:
    return HELP / f"{'_'.join(['lakehouse', *argv])}.txt"


def test_every_help_page_is_unchanged(tmp_path: Path) -> None:
    pages = run_all([[*argv, "--help"] for argv in COMMANDS], tmp_path)
    for argv, page in zip(COMMANDS, pages, strict=True):
        assert (page["exit_code"], page["stderr"]) == (0, ""), page
        assert page["stdout"] == _help_file(argv).read_text("utf-8"), " ".join(argv)
    assert sorted(HELP.iterdir()) == sorted(_help_file(argv) for argv in COMMANDS)


def test_every_usage_error_is_unchanged(tmp_path: Path) -> None:
    expected = json.loads(ERRORS.read_text("utf-8"))
    got = run_all(MISTAKES, tmp_path)
    assert [page["argv"] for page in expected] == MISTAKES
    for want, page in zip(expected, got, strict=True):
        assert page == want, " ".join(page["argv"])
        assert "Traceback" not in page["stderr"]
        assert page["exit_code"] != 0


def _write() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        pages = run_all([[*argv, "--help"] for argv in COMMANDS], Path(tmp))
        errors = run_all(MISTAKES, Path(tmp))
    HELP.mkdir(parents=True, exist_ok=True)
    for stale in HELP.iterdir():
        stale.unlink()
    for argv, page in zip(COMMANDS, pages, strict=True):
        _help_file(argv).write_text(page["stdout"], "utf-8")
    ERRORS.write_text(json.dumps(errors, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    _write()
