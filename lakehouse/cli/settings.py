"""The settings, loaded when a command runs rather than when the CLI starts.

Reading and checking the settings costs more than the rest of ``lakehouse --help``; the
commands call :func:`get_settings` from here, which imports :mod:`lakehouse.config` when one
runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.config import Settings


def get_settings() -> Settings:
    """The process's settings (:func:`lakehouse.config.get_settings`, cached there)."""
    from lakehouse.config import get_settings as load

    return load()
