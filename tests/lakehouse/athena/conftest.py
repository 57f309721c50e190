"""Fixtures of the engine's tests."""

from __future__ import annotations

import pytest

from lakehouse.athena import cache_files


@pytest.fixture
def cap_every_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache folders' bound looked at after every write (not every 32nd), from a fresh count."""
    monkeypatch.setattr(cache_files, "CHECK_EVERY", 1)
    monkeypatch.setattr(cache_files, "_writes", {})
