"""The folders of the engine's kept files (Iceberg plans, prepared statements): pruning and
a bound on their size.

Each cache keeps one JSON file per entry directly in its folder, written under a temporary
name first; what makes an entry stale is the cache's own rule (:func:`prune`, run by
``lakehouse maintain``). Between two maintenance runs a folder is also bounded by a number of
entries (:func:`cap`, after each write): every distinct query text and every tenant's plan of
every snapshot is an entry, so without a bound a user trying page after page or filter after
filter, or a watch committing every few seconds, would grow the lake without end. An entry
read is touched (:func:`touch`), so the entries evicted first are the least recently used.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


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


def touch(path: Path) -> None:
    """Mark the entry ``path`` as just used (its modification time), so :func:`cap` keeps it
    over entries unused for longer. A lake this process may not write is left as it is."""
    try:
        os.utime(path)
    except OSError:
        return


#: A process looks at a folder's size on its first write there and then every this many writes
#: (a listing of tens of thousands of names on every write would cost more than the misses it
#: saves); between two looks a folder may exceed its bound by as many writes times processes.
CHECK_EVERY = 32
_writes: dict[Path, int] = {}


def write_entry(path: Path, document: Any, temp_prefix: str, max_entries: int) -> None:
    """Write ``document`` as the JSON entry ``path``, atomically (a reader sees the whole entry
    or none: it is written under a temporary name, then renamed), then :func:`after_write`.

    Raises:
        OSError: the folder cannot be written. TypeError or ValueError: ``document`` is not
            JSON. Either way nothing is left behind, and an entry already at ``path`` stays.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    after_write(path.parent, temp_prefix, max_entries)


def after_write(folder: Path, temp_prefix: str, max_entries: int) -> int:
    """Called after each entry written to ``folder``: :func:`cap` on the process's first write
    there and every :data:`CHECK_EVERY` writes after it; returns how many entries were removed."""
    count = _writes.get(folder, 0)
    _writes[folder] = count + 1
    if count % CHECK_EVERY:
        return 0
    return cap(folder, temp_prefix, max_entries)


def cap(folder: Path, temp_prefix: str, max_entries: int) -> int:
    """Keep at most ``max_entries`` entries in ``folder``: above that, remove the least recently
    used (oldest modification time) down to three quarters of it, so that a folder at its bound
    is not listed and sorted again on every write; returns how many were removed.

    Only regular ``.json`` files directly in ``folder`` count and are removed; temporary files
    are :func:`prune`'s. An entry removed while another process reads it is prepared again by
    that process (a missing entry is a miss, never an error).
    """
    if max_entries < 1:
        raise ValueError(f"max_entries must be at least 1, not {max_entries}")
    try:
        with os.scandir(folder) as listing:
            entries = [
                e
                for e in listing
                if e.name.endswith(".json")
                and not e.name.startswith(temp_prefix)
                and e.is_file(follow_symlinks=False)
            ]
    except FileNotFoundError:
        return 0
    if len(entries) <= max_entries:
        return 0
    aged: list[tuple[float, Path]] = []
    for entry in entries:
        try:
            aged.append((entry.stat(follow_symlinks=False).st_mtime, Path(entry.path)))
        except FileNotFoundError:
            continue  # removed by another process meanwhile
    aged.sort()
    removed = 0
    for _, path in aged[: max(0, len(aged) - max_entries * 3 // 4)]:
        path.unlink(missing_ok=True)
        removed += 1
    return removed
