"""The folders of the engine's kept files (Iceberg plans, prepared statements): pruning.

Each cache keeps one JSON file per entry directly in its folder, written under a temporary
name first; what makes an entry stale is the cache's own rule.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path


def prune(
    folder: Path, temp_prefix: str, temp_margin_seconds: float, is_current: Callable[[Path], bool]
) -> int:
    """Remove the entries of ``folder`` that are not current and the temporary files older
    than ``temp_margin_seconds`` (a younger one may be a write in progress); returns how many
    were removed. Only regular files directly in ``folder`` are ever removed."""
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    removed = 0
    now = time.time()
    for path in entries:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # a temporary file renamed into place meanwhile
        if not stat.S_ISREG(info.st_mode):
            continue
        if path.name.startswith(temp_prefix):
            stale = now - info.st_mtime > temp_margin_seconds
        else:
            stale = path.suffix == ".json" and not is_current(path)
        if stale:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
