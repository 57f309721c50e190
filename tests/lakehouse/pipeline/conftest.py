"""Fixtures of the pipeline tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.lakehouse.pipeline.processes import kill_tree


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """The ``lakehouse`` processes a test started; any still running at its end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            kill_tree(proc)
