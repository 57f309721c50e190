"""``lakehouse`` commands as real processes over a test lake (the concurrency tests' helpers).

A command's standard error goes to a file, never to a pipe: Spark writes more there than a pipe
holds, and a command whose pipe nobody reads blocks on it. Standard output is a pipe, read by
:func:`finish` (or line by line by the test).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO

import psutil
import pytest

from lakehouse.config import Settings
from lakehouse.paths import REPO_ROOT


def command_env(settings: Settings) -> dict[str, str]:
    """The environment that points a ``lakehouse`` process at the test lake and database."""
    assert settings.database_url is not None
    return {
        **os.environ,
        "LAKEHOUSE_LAKE": settings.lake_uri,
        "DATABASE_URL": settings.database_url,
        # Replication and reconcile run as the replicator role (lake_settings gives its URL).
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": settings.replicator_database_url or "",
        "LAKEHOUSE_SLOT": settings.slot_name,
        "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
        "COLUMNS": "200",  # one line per message in the captured output
    }


_STDERR: dict[int, IO[str]] = {}


def start(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start ``lakehouse <args>``; standard output is a pipe, standard error a file."""
    log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in finish
    proc = subprocess.Popen(
        [sys.executable, "-m", "lakehouse.cli.main", *args],
        cwd=REPO_ROOT,
        env=command_env(settings),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    _STDERR[proc.pid] = log
    return proc


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Wait for ``proc``; its standard output and standard error."""
    out, _ = proc.communicate(timeout=timeout)
    log = _STDERR.pop(proc.pid)
    log.seek(0)
    err = log.read()
    log.close()
    return out, err


def run(settings: Settings, *args: str, timeout: float = 300) -> tuple[int, str, str]:
    """Run ``lakehouse <args>`` to its end: exit code, standard output, standard error."""
    proc = start(settings, *args)
    out, err = finish(proc, timeout)
    return proc.returncode, out, err


def kill_tree(proc: subprocess.Popen[str]) -> None:
    """kill -9 a command and whatever it started (its Spark JVM)."""
    with_children = [proc.pid]
    with contextlib.suppress(psutil.NoSuchProcess):
        with_children += [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    for pid in with_children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=60)
    log = _STDERR.pop(proc.pid, None)
    if log is not None:
        log.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """The ``lakehouse`` processes a test started; any still running at its end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            kill_tree(proc)
