"""Where an Iceberg table's current metadata is, in the Hadoop (file system) layout.

Kept apart from :mod:`lakehouse.catalog.iceberg` because it needs no pyiceberg: finding the
current ``vN.metadata.json`` is all a query of a table whose files are already planned needs
(:mod:`lakehouse.athena.iceberg_plan`), and pyiceberg's import costs more than the query.
"""

from __future__ import annotations

import re
from pathlib import Path

from lakehouse.errors import LakehouseError

# The catalog ``format`` of an Iceberg table (Glue: ``table_type = ICEBERG``).
FORMAT = "iceberg"
METADATA_DIR = "metadata"
VERSION_HINT = "version-hint.text"
_VERSION_FILE = re.compile(r"^v(\d+)(?:\.gz)?\.metadata\.json$")


class IcebergError(LakehouseError):
    """An Iceberg table cannot be read as asked; the message says which table and what to do."""


def is_version_file(name: str) -> bool:
    """Whether a file name is a Hadoop-layout metadata version (``vN.metadata.json``)."""
    return _VERSION_FILE.match(name) is not None


def is_iceberg_table(folder: Path) -> bool:
    """Whether ``folder`` holds an Iceberg table in the Hadoop catalog layout."""
    meta = folder / METADATA_DIR
    if (meta / VERSION_HINT).is_file():
        return True
    return meta.is_dir() and any(_VERSION_FILE.match(p.name) for p in meta.iterdir())


def _version_file(meta: Path, version: int) -> Path | None:
    for name in (f"v{version}.metadata.json", f"v{version}.gz.metadata.json"):
        if (meta / name).is_file():
            return meta / name
    return None


def current_metadata_file(folder: Path) -> Path:
    """The current ``vN.metadata.json`` of a Hadoop-catalog table.

    As Iceberg's ``HadoopTableOperations`` does: start from ``version-hint.text``; a hint that is
    missing or unreadable (a writer replacing it) falls back to the highest ``vN`` listed; then
    walk forward while ``v(N+1)`` exists, because a commit creates the metadata file before it
    updates the hint.

    Raises:
        IcebergError: the folder holds no Iceberg metadata.
    """
    meta = folder / METADATA_DIR
    version: int | None = None
    try:
        text = (meta / VERSION_HINT).read_text(encoding="utf-8").strip()
        version = int(text) if text.isdigit() else None
    except OSError:
        version = None
    if version is None or _version_file(meta, version) is None:
        listed = (
            [int(m.group(1)) for p in meta.iterdir() if (m := _VERSION_FILE.match(p.name))]
            if meta.is_dir()
            else []
        )
        if not listed:
            raise IcebergError(
                f"{folder} holds no Iceberg metadata ({meta}/vN.metadata.json); run the "
                "pipeline to create the table, or remove the folder"
            )
        version = max(listed)
    while _version_file(meta, version + 1) is not None:
        version += 1
    found = _version_file(meta, version)
    if found is None:  # removed between the listing and now: a concurrent expiry
        raise IcebergError(f"the metadata of {folder} changed while it was read; run again")
    return found
