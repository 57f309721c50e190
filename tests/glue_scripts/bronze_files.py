"""Hand-made bronze files, written with Python's gzip and csv modules per the bronze contract.

NULL is written as the contract's marker, unquoted, and every other value quoted (so '' is
``""``; the readers take an unquoted empty field as '' too, see ``EMPTY_UNQUOTED``).
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Sequence
from pathlib import Path

from lakehouse_glue.model import load_bronze_contract, load_declaration

CONTRACT = load_bronze_contract()
DECL = load_declaration()

Row = dict[str, str | None]


#: A value for a row dict that is written as an unquoted empty field (DMS may write '' so).
EMPTY_UNQUOTED = object()


def csv_field(value: object) -> str:
    if value is None:
        return CONTRACT.csv_null_value
    if value is EMPTY_UNQUOTED:
        return ""
    assert isinstance(value, str)
    return '"' + value.replace('"', '""') + '"'


def csv_text(header: Sequence[str], rows: Sequence[Row]) -> str:
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for row in rows:
        out.write(",".join(csv_field(row.get(h)) for h in header) + "\n")
    return out.getvalue()


def table_dir(bronze: Path, entity: str) -> Path:
    return bronze / CONTRACT.table_folder("public", entity)


def default_header(entity: str, with_seq: bool = True) -> list[str]:
    cols = ["Op", CONTRACT.timestamp_column_name, *DECL.entity(entity).column_names]
    return [*cols, CONTRACT.change_seq_column] if with_seq else cols


def write_file(
    bronze: Path,
    entity: str,
    name: str,
    rows: Sequence[Row],
    header: Sequence[str] | None = None,
    mtime: float | None = None,
) -> Path:
    """Write ``<bronze>/dms/public/<entity>/<name>`` atomically (temporary name + rename)."""
    folder = table_dir(bronze, entity)
    folder.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(csv_text(header or default_header(entity), rows).encode("utf-8"))
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    path = folder / name
    os.replace(tmp, path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def seq(n: int) -> str:
    """A 35-digit change sequence."""
    return f"{n:035d}"
