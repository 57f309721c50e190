"""Statements parsed, checked and translated once, kept by what they were made from.

Parsing, checking (:mod:`~lakehouse.athena.guard`) and translating
(:mod:`~lakehouse.athena.translate`) a statement need sqlglot, whose import costs more than a
small query. But their outcome is a pure function of their inputs: the SQL text, the catalog
(every table document: which tables exist, their columns and types), the limits on the text's
size and nesting, and the code that parses, checks and translates (this package's modules and
sqlglot's version). :func:`key_of` hashes exactly those, so an entry found under its key is what
parsing, checking and translating the text would give now: another text, a crawl that changed a
table document, another limit or an edit of the code all make another key. Nothing is skipped:
the text was parsed and checked, with the same inputs, when its entry was made.

Only statements that read the catalog's own tables are kept; a statement bound to an Iceberg
snapshot or metadata table (:mod:`lakehouse.athena.iceberg`) depends on more than the catalog
and is prepared each time. Failures are never kept (they are reported again each time).

An entry holds SQL, so it is trusted as far as the lake it lies in, like the data files next to
it: a process that can write the lake can change its answers in any case. It cannot widen what a
query reads, because the second wall does not depend on it: a tenant's session holds only the
tenant's rows of the tables it copies, with every file and every file-reading function locked
away (:mod:`~lakehouse.athena.session`); a session without a tenant is confined to the lake's
bronze, silver and gold folders. An entry naming a table the catalog does not hold is not used.

Entries live in ``<lake>/_cache/athena-statements/<key>.json``; a missing or unreadable one is
prepared again, one that cannot be written is not kept (a read-only lake still answers), and
``lakehouse maintain`` removes the entries of another catalog or other code (:func:`prune`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lakehouse.athena import cache_files

CACHE_DIR = ("_cache", "athena-statements")
#: At most this many statements are kept (:func:`lakehouse.athena.cache_files.cap`); an entry
#: is a few kilobytes (7.5 KB for the tenant table's page of the operations view).
MAX_ENTRIES = 4096
_TEMP_PREFIX = ".statement-"
# Bump when the stored shape changes (the code fingerprint changes with it anyway).
_FORMAT_VERSION = "1"
_HERE = Path(__file__).parent
# The code whose behaviour an entry records: editing any of these makes new keys.
_PREPARING_CODE = (
    _HERE / "prepared.py",
    _HERE / "guard.py",
    _HERE / "functions.py",
    _HERE / "translate.py",
    _HERE / "iceberg.py",
    _HERE / "engine.py",
    _HERE.parent / "catalog" / "store.py",
    *sorted((_HERE / "trino").glob("*.py")),
)


@dataclass(frozen=True)
class Prepared:
    """One statement, ready to run.

    Attributes:
        text: The statement as Athena SQL (sqlglot's rendering of the parsed statement).
        duck_sql: The DuckDB SQL that gives Athena's answer.
        tables: ``database.table`` of every catalog table it reads.
    """

    text: str
    duck_sql: str
    tables: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "duck_sql": self.duck_sql, "tables": list(self.tables)}

    @classmethod
    def from_json(cls, data: object) -> Prepared:
        """The statement in ``data``; ``ValueError`` if it is not one."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        text, duck_sql, tables = data["text"], data["duck_sql"], data["tables"]
        if not (
            isinstance(text, str)
            and isinstance(duck_sql, str)
            and isinstance(tables, list)
            and all(isinstance(t, str) for t in tables)
        ):
            raise ValueError("fields of the wrong type")
        return cls(text=text, duck_sql=duck_sql, tables=tuple(tables))


@cache
def code_fingerprint() -> str:
    """SHA-256 of the preparing code and of the sqlglot release it runs on."""
    digest = hashlib.sha256()
    spec = importlib.util.find_spec("sqlglot")  # found, not imported
    origin = spec.origin if spec is not None else None
    versions = [Path(origin).with_name("_version.py")] if origin else []
    for path in (*_PREPARING_CODE, *versions):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def key_of(text: str, catalog_fingerprint: str, max_bytes: int, max_depth: int) -> str:
    """The key of the entry for ``text`` against a catalog and under the given limits."""
    digest = hashlib.sha256()
    for part in (
        _FORMAT_VERSION,
        code_fingerprint(),
        catalog_fingerprint,
        str(max_bytes),
        str(max_depth),
        text,
    ):
        data = part.encode("utf-8", errors="surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _cache_file(lake_root: Path, key: str) -> Path:
    return lake_root.joinpath(*CACHE_DIR, f"{key}.json")


def load(lake_root: Path, key: str) -> list[Prepared] | None:
    """The statements kept under ``key``, or None when there are none (or they are unreadable)."""
    try:
        path = _cache_file(lake_root, key)
        data = json.loads(path.read_bytes())
        statements = [Prepared.from_json(s) for s in data["statements"]]
    except (OSError, ValueError, KeyError, TypeError):
        # Absent, half-written by a crash, or not an entry: prepare again.
        return None
    cache_files.touch(path)
    return statements or None


def save(lake_root: Path, key: str, statements: list[Prepared], catalog_fingerprint: str) -> None:
    """Keep ``statements`` under ``key`` (atomically: readers see the whole entry or none)."""
    path = _cache_file(lake_root, key)
    document = {
        "catalog": catalog_fingerprint,
        "code": code_fingerprint(),
        "statements": [s.to_json() for s in statements],
    }
    try:
        cache_files.write_entry(path, document, _TEMP_PREFIX, MAX_ENTRIES)
    except OSError:
        # A lake this process may read but not write: the statement still runs.
        return


def _is_current(path: Path, catalog_fingerprint: str) -> bool:
    try:
        data = json.loads(path.read_bytes())
        return bool(data["catalog"] == catalog_fingerprint and data["code"] == code_fingerprint())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def prune(lake_root: Path, catalog_fingerprint: str, temp_margin_seconds: float = 3600.0) -> int:
    """Remove the entries no query can use any more; returns how many were removed.

    An entry made against another catalog than ``catalog_fingerprint`` (the current one) or by
    other code is never found again, nor is an unreadable one; a temporary file of a write older
    than ``temp_margin_seconds`` is left over from a crash. Only files directly in
    ``<lake>/_cache/athena-statements/`` are ever removed.
    """
    folder = lake_root.joinpath(*CACHE_DIR)
    return cache_files.prune(
        folder,
        _TEMP_PREFIX,
        temp_margin_seconds,
        lambda path: _is_current(path, catalog_fingerprint),
    )
