"""A planned read of an Iceberg table, kept by what it was planned from.

Planning the current snapshot of a table (metadata JSON, manifest list, manifests) needs
pyiceberg, whose import alone costs more than a one-row query. But a plan is a pure function of
its inputs: the bytes of the table's current ``vN.metadata.json`` (which names its manifest list,
and through it its manifests, by unique file names that are never rewritten: Iceberg's commit
guarantee, see :mod:`lakehouse.catalog.iceberg`), the table's folder, the tenant, and the code
that plans. :func:`key_of` hashes exactly those, so a plan found under its key is the plan
pyiceberg would make now: a commit makes a new current metadata file, hence a new key, and an
edit of the planning code makes new keys too.

What is kept is data (the columns and their types, the data files, whether files are read by
column name), never SQL: :func:`source_of` builds the SQL each time with the usual quoting, and
every file is checked again to lie inside the table's folder, so a plan file (which is only as
trusted as the lake it lies in) can name no other file than a fresh plan could.

Plans live in ``<lake>/_cache/iceberg-plans/<key>.json``, each with what it is a plan of
(:class:`PlanOf`). A missing or unreadable plan is planned again; one that cannot be written is
not kept (a read-only lake still answers). ``lakehouse maintain`` removes the plans of snapshots
that are no longer current (:func:`prune`).

Within one engine, a source made from a plan is kept too (:class:`Planned`), under the same key:
a table read again by the next call, at the same snapshot, costs reading its current metadata
file, not loading its plan again and checking each of its files again (64 per table at 10,000
tenants).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.athena import cache_files
from lakehouse.athena.errors import AthenaQueryError
from lakehouse.athena.views import Source, ident, lit, literal_path
from lakehouse.catalog.iceberg_layout import IcebergError, current_metadata_file
from lakehouse.catalog.store import CatalogColumn, CatalogTable

if TYPE_CHECKING:  # pyiceberg is imported only when a table is planned
    from lakehouse.catalog.iceberg import ScanFile

# Keys of a derived catalog entry's ``serde`` (:func:`lakehouse.athena.iceberg.bind`): which
# snapshot, which metadata table, of which table. Only plain entries (the current snapshot)
# are kept here.
SNAPSHOT_KEY = "iceberg.snapshot_id"
METADATA_KEY = "iceberg.metadata_table"
BASE_KEY = "iceberg.table"
# Bump when the stored shape changes (the code fingerprint changes with it anyway).
_FORMAT_VERSION = "3"
CACHE_DIR = ("_cache", "iceberg-plans")
#: At most this many plans are kept (:func:`lakehouse.athena.cache_files.cap`): a plan is of
#: one table's snapshot for every tenant or for one tenant, so thousands of tenants each reading
#: a dozen tables need tens of thousands between two maintenance runs.
MAX_ENTRIES = 32768
_TEMP_PREFIX = ".plan-"
# The code whose behaviour a plan records: editing any of these makes new keys.
_PLANNING_CODE = (
    Path(__file__),
    Path(__file__).with_name("iceberg.py"),
    Path(__file__).parents[1] / "catalog" / "iceberg.py",
    Path(__file__).parents[1] / "catalog" / "iceberg_layout.py",
)


@dataclass(frozen=True)
class Plan:
    """The current snapshot of a table, planned for a tenant (or for every tenant).

    Attributes:
        columns: The snapshot's columns, with Athena types, in schema order.
        files: The live data files to read (resolved paths inside the table's folder).
        by_name: Files may differ in columns (the schema evolved): read them by name.
        deletes: The position delete files that apply to some of ``files`` (merge-on-read).
        targets: The data files a delete applies to: (the path as the table's metadata and
            the delete files name it, the resolved path in ``files``).
    """

    columns: tuple[CatalogColumn, ...]
    files: tuple[Path, ...]
    by_name: bool
    deletes: tuple[Path, ...] = ()
    targets: tuple[tuple[str, Path], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "columns": [[c.name, c.type] for c in self.columns],
            "files": [str(f) for f in self.files],
            "by_name": self.by_name,
            "deletes": [str(f) for f in self.deletes],
            "targets": [[uri, str(f)] for uri, f in self.targets],
        }

    @classmethod
    def from_json(cls, data: object) -> Plan:
        """The plan in ``data``; ``ValueError`` if it is not one."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        columns, files, by_name = data["columns"], data["files"], data["by_name"]
        deletes, targets = data["deletes"], data["targets"]
        if not (
            isinstance(columns, list)
            and all(
                isinstance(c, list) and len(c) == 2 and all(isinstance(x, str) for x in c)
                for c in columns
            )
            and isinstance(files, list)
            and all(isinstance(f, str) for f in files)
            and isinstance(by_name, bool)
            and isinstance(deletes, list)
            and all(isinstance(f, str) for f in deletes)
            and isinstance(targets, list)
            and all(
                isinstance(t, list) and len(t) == 2 and all(isinstance(x, str) for x in t)
                for t in targets
            )
        ):
            raise ValueError("fields of the wrong type")
        return cls(
            columns=tuple(CatalogColumn(n, t) for n, t in columns),
            files=tuple(Path(f) for f in files),
            by_name=by_name,
            deletes=tuple(Path(f) for f in deletes),
            targets=tuple((uri, Path(f)) for uri, f in targets),
        )


@functools.cache
def _code_fingerprint() -> bytes:
    # Once per process: the code that plans is the code this process loaded.
    digest = hashlib.sha256()
    for path in _PLANNING_CODE:
        digest.update(path.read_bytes())
    return digest.digest()


@dataclass(frozen=True)
class PlanOf:
    """What a plan is a plan of (every input of its key but the metadata, which is read).

    Kept beside the plan, so that :func:`prune` can tell a plan of the current snapshot from
    one of a snapshot since replaced (or of a table since removed).

    Attributes:
        location: The table's folder, resolved.
        tenant_id: The tenant the files were planned for; None for every tenant.
        tenant_column: The table's tenant column, if any.
    """

    location: str
    tenant_id: str | None
    tenant_column: str | None

    @classmethod
    def of(cls, table: CatalogTable, tenant_id: str | None) -> PlanOf:
        return cls(os.path.realpath(table.location), tenant_id, table.tenant_column)

    def key(self) -> str:
        """The key of the plan of the table's current snapshot.

        Raises:
            IcebergError: the folder holds no Iceberg metadata.
            OSError: the current metadata file cannot be read.
        """
        metadata = current_metadata_file(Path(self.location)).read_bytes()
        digest = hashlib.sha256()
        for part in (
            _FORMAT_VERSION.encode(),
            _code_fingerprint(),
            self.location.encode(),
            (self.tenant_id or "").encode(),
            (self.tenant_column or "").encode(),
            metadata,
        ):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def to_json(self) -> dict[str, str | None]:
        return {
            "location": self.location,
            "tenant_id": self.tenant_id,
            "tenant_column": self.tenant_column,
        }

    @classmethod
    def from_json(cls, data: object) -> PlanOf:
        """The origin in ``data``; ``ValueError`` if it is not one."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        location, tenant_id, column = data["location"], data["tenant_id"], data["tenant_column"]
        if not (
            isinstance(location, str)
            and all(v is None or isinstance(v, str) for v in (tenant_id, column))
        ):
            raise ValueError("fields of the wrong type")
        return cls(location, tenant_id, column)


def key_of(table: CatalogTable, tenant_id: str | None) -> str:
    """The key of the plan of ``table``'s current snapshot for ``tenant_id``.

    Raises:
        IcebergError: the table's folder holds no Iceberg metadata.
        OSError: the current metadata file cannot be read.
    """
    return PlanOf.of(table, tenant_id).key()


def _cache_file(lake_root: Path, key: str) -> Path:
    return lake_root.joinpath(*CACHE_DIR, f"{key}.json")


def load(lake_root: Path, key: str) -> Plan | None:
    """The plan kept under ``key``, or None when there is none (or it is unreadable)."""
    try:
        path = _cache_file(lake_root, key)
        data = json.loads(path.read_bytes())
        plan = Plan.from_json(data)
    except (OSError, ValueError, KeyError):
        # A plan that is absent, half-written by a crash, or not a plan: plan again.
        return None
    cache_files.touch(path)
    return plan


def save(lake_root: Path, key: str, plan: Plan, of: PlanOf) -> None:
    """Keep ``plan`` (of ``of``) under ``key`` (atomically: readers see the whole plan or none)."""
    path = _cache_file(lake_root, key)
    try:
        cache_files.write_entry(
            path, {**plan.to_json(), "of": of.to_json()}, _TEMP_PREFIX, MAX_ENTRIES
        )
    except OSError:
        # A lake this process may read but not write: the query still runs, only unplanned
        # reads are not sped up.
        return


def _is_current(path: Path) -> bool:
    """Whether the plan in ``path`` is the plan of its table's current snapshot."""
    try:
        of = PlanOf.from_json(json.loads(path.read_bytes())["of"])
        return of.key() == path.stem
    except (OSError, ValueError, KeyError, TypeError, IcebergError):
        return False


def prune(lake_root: Path, temp_margin_seconds: float = 3600.0) -> int:
    """Remove the kept plans no query can use any more; returns how many were removed.

    A plan is kept only while it is the plan of its table's current snapshot (with the current
    planning code): one of a snapshot since replaced by a commit, of a table since removed, or
    one that cannot be read is removed. So is a temporary file of a write older than
    ``temp_margin_seconds`` (a younger one may be a query's write in progress). Only files
    directly in ``<lake>/_cache/iceberg-plans/`` are ever removed.
    """
    folder = lake_root.joinpath(*CACHE_DIR)
    return cache_files.prune(folder, _TEMP_PREFIX, temp_margin_seconds, _is_current)


def inside(table: CatalogTable, path: Path) -> Path:
    """``path`` resolved, refused unless it lies inside the table's folder."""
    return Inside(table)(path)


class Inside:
    """:func:`inside` for many files of one table, resolving each folder once.

    A table's data files share their folders (``data/``, one folder per bucket): a path's real
    path is its folder's real path joined with its name, unless that name is a symbolic link
    (then it is resolved in full by ``os.path.realpath``), so each folder is resolved once and
    each file costs one ``lstat``. A path that is not absolute and normal (``..``, ``.``,
    doubled separators) is resolved in full by ``os.path.realpath``, like any link.
    """

    def __init__(self, table: CatalogTable) -> None:
        self.table = table
        self.root = os.path.realpath(table.location)
        self._folders: dict[str, str] = {}

    def __call__(self, path: Path | str) -> Path:
        resolved = self._real(os.fspath(path))
        if not (resolved == self.root or resolved.startswith(self.root.rstrip("/") + "/")):
            raise AthenaQueryError(
                "ACCESS_DENIED",
                f"{self.table.qualified_name} lists a data file outside its location ({path}); "
                "the table metadata is not trusted",
            )
        return Path(resolved)

    def _real(self, path: str) -> str:
        if not os.path.isabs(path) or os.path.normpath(path) != path or path.startswith("//"):
            return os.path.realpath(path)
        return self._step(path)

    def _step(self, path: str) -> str:
        """The real path of an absolute, normal ``path``: its folder's, then its own name."""
        folder, name = os.path.split(path)
        if not name:
            return path  # the root
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = self._step(folder)
        candidate = os.path.join(real_folder, name)
        try:
            is_link = stat.S_ISLNK(os.lstat(candidate).st_mode)
        except OSError:
            is_link = False  # missing: os.path.realpath keeps the name as it is too
        return os.path.realpath(candidate) if is_link else candidate


def _empty_sql(plan: Plan) -> str:
    from lakehouse.athena.views import duckdb_type

    cols = ", ".join(
        f"cast(null as {duckdb_type(c.type)}) as {ident(c.name)}" for c in plan.columns
    )
    return f"select {cols} where false"


class Planned:
    """The sources one engine made from plans, each under what it was planned from.

    A source is kept under its :class:`PlanOf` (table folder, tenant, tenant column) together
    with its plan key, and found again only under the same ``PlanOf`` and the same key: the
    key hashes the bytes of the table's current metadata file, so after a commit (a new
    current metadata file) the table is planned again, and a source made for one tenant (or
    for every tenant) is never found for another. Only sources made here, from plans whose
    every file :class:`Inside` checked, are kept, one per table and tenant (the latest), for
    as long as the engine that holds them.
    """

    def __init__(self) -> None:
        self._sources: dict[PlanOf, tuple[str, Source]] = {}

    def get(self, of: PlanOf, key: str) -> Source | None:
        kept = self._sources.get(of)
        return kept[1] if kept is not None and kept[0] == key else None

    def keep(self, of: PlanOf, key: str, source: Source) -> None:
        self._sources[of] = (key, source)


def cached_source(
    table: CatalogTable, tenant_id: str | None, lake_root: Path, planned: Planned | None = None
) -> Source:
    """The source of a read of ``table``'s current snapshot, planned once per commit.

    ``planned`` holds the sources already made by the calling engine (see :class:`Planned`).
    A time-travel or metadata-table entry is resolved by :mod:`lakehouse.athena.iceberg` as
    before (it needs pyiceberg anyway).
    """
    if BASE_KEY in table.serde:
        from lakehouse.athena import iceberg

        return iceberg.resolve(table, tenant_id)
    of = PlanOf.of(table, tenant_id)
    try:
        key = of.key()
    except IcebergError as exc:
        raise AthenaQueryError("ICEBERG_INVALID_METADATA", str(exc)) from exc
    except OSError as exc:
        raise AthenaQueryError(
            "ICEBERG_INVALID_METADATA",
            f"{table.qualified_name}: the current metadata cannot be read ({exc.strerror}); "
            "if a writer is committing, run the query again",
        ) from exc
    if planned is not None:
        source = planned.get(of, key)
        if source is not None:
            return source
    plan = load(lake_root, key)
    if plan is None:
        from lakehouse.athena import iceberg

        plan = iceberg.plan(table, tenant_id)
        save(lake_root, key, plan, of)
    source = source_of(plan, table, tenant_id)
    if planned is not None:
        planned.keep(of, key, source)
    return source


def source_of(plan: Plan, table: CatalogTable, tenant_id: str | None) -> Source:
    """The DuckDB source reading ``plan``'s files (each checked to be inside the table)."""
    check = Inside(table)
    files = [check(f) for f in plan.files]
    deletes = [check(f) for f in plan.deletes]
    # Iceberg never rewrites a data or delete file (a commit writes new ones and a new
    # metadata file): the same list of files is the same rows.
    if not files:
        return Source(_empty_sql(plan), immutable=True)
    select_list = []
    for c in plan.columns:
        if c.type == "timestamp":
            # Spark writes UTC-adjusted timestamps (DuckDB: timestamptz); Athena shows UTC.
            select_list.append(f"cast({ident(c.name)} as timestamp) as {ident(c.name)}")
        else:
            select_list.append(ident(c.name))
    targets = [(uri, check(f)) for uri, f in plan.targets]
    sql = read_sql(", ".join(select_list), files, plan.by_name, deletes, targets)
    if tenant_id is not None and table.tenant_column:
        # The isolation itself: the files planned for a tenant are its bucket's, which hold
        # other tenants' rows too (bucket(N, tenant_id)).
        sql += f" where {ident(table.tenant_column)} = {lit(tenant_id)}"
    return Source(sql, paths=(*files, *deletes), immutable=True)


def read_sql(
    select_list: str,
    files: Sequence[Path],
    by_name: bool,
    deletes: Sequence[Path] = (),
    targets: Sequence[tuple[str, Path]] = (),
) -> str:
    """``select <select_list>`` over Iceberg data files, without the rows deleted by position.

    A position delete file lists (``file_path``, ``pos``) pairs: the data file as the table's
    metadata names it and the row's 0-based position in it
    (https://iceberg.apache.org/spec/#position-delete-files), which is DuckDB's
    ``file_row_number``. ``targets`` maps those names to the paths ``files`` reads, so the rows
    are removed with one anti-join on (file, position). A delete pair naming a file outside
    ``targets`` removes nothing (its data file is not read). Athena engine v3 applies position
    deletes itself (https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-delete.html).
    """
    by = "true" if by_name else "false"
    data = "[" + ", ".join(literal_path(f) for f in files) + "]"
    if not deletes or not targets:
        return (
            f"select {select_list} from read_parquet({data}, "
            f"union_by_name = {by}, hive_partitioning = false)"
        )
    delete_list = "[" + ", ".join(literal_path(f) for f in deletes) + "]"
    names = ", ".join(f"({lit(uri)}, {lit(str(path))})" for uri, path in targets)
    removed = (
        f"select n.path as filename, d.pos as file_row_number from read_parquet({delete_list}, "
        f"union_by_name = true, hive_partitioning = false) as d "
        f"join (values {names}) as n(uri, path) on d.file_path = n.uri"
    )
    return (
        f"select {select_list} from read_parquet({data}, union_by_name = {by}, "
        f"hive_partitioning = false, filename = true, file_row_number = true) "
        f"anti join ({removed}) as _deleted using (filename, file_row_number)"
    )


def scan_sql(
    select_list: str,
    planned: Iterable[ScanFile],
    by_name: bool,
    local: Callable[[str], Path],
) -> str | None:
    """:func:`read_sql` over planned files (:func:`lakehouse.catalog.iceberg.scan_files`);
    ``None`` when there is no data file. ``local`` gives the local path (or copy) of a file
    from its name in the table's metadata."""
    files: list[Path] = []
    deletes: dict[str, Path] = {}
    targets: list[tuple[str, Path]] = []
    for task in planned:
        path = local(task.data.file.file_path)
        files.append(path)
        if task.deletes:
            targets.append((task.data.file.file_path, path))
        for delete in task.deletes:
            if delete.file.file_path not in deletes:
                deletes[delete.file.file_path] = local(delete.file.file_path)
    if not files:
        return None
    return read_sql(select_list, files, by_name, [deletes[k] for k in sorted(deletes)], targets)
