"""Catalog tables as DuckDB sources: what a ``database.table`` name reads, for whom.

:func:`resolve` turns one :class:`~lakehouse.catalog.store.CatalogTable` into a :class:`Source`:
a DuckDB ``select`` over the table's files with the catalog's column names and types, scoped to
one tenant when a tenant is given, plus what the session needs to know to lock itself down
(whether the rows must be copied before lock-down, and which folders stay readable after it).

One resolver per table format (``csv``: the bronze DMS contract; ``iceberg``: silver and gold
written by Glue, see :mod:`lakehouse.athena.iceberg`; ``parquet``: silver and gold of a lake
written before they became Iceberg tables).

Two rules hold for every resolver, because the catalog and the lake are inputs, not code:

- A table's location must resolve (symbolic links followed) under its database's folder of the
  lake root, and so must every file read: a catalog document pointing at ``/etc`` or a link
  into another tenant's folder is ``ACCESS_DENIED``.
- Files are listed here and handed to DuckDB as literal names (:func:`literal_path`), never as
  glob patterns: a file literally named ``*.csv.gz`` is one file, not every file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.athena.errors import AthenaQueryError
from lakehouse.catalog.store import CatalogTable

if TYPE_CHECKING:
    from lakehouse.athena.iceberg_plan import Planned


@dataclass(frozen=True)
class Source:
    """What a table name reads in a DuckDB session.

    Attributes:
        sql: A DuckDB ``select`` over the table's files, with catalog column names and types.
        copy: The files hold other tenants' rows too: the session copies this tenant's rows
            into a table before lock-down, and keeps no access to the files.
        folders: Folders the session must still read after lock-down (a view reads its files
            when it is queried).
        paths: Single files the source reads (an Iceberg snapshot's data files: exactly
            those, not their folders).
        immutable: ``sql`` reads only files that are never rewritten (the data files of an
            Iceberg snapshot, named in full), so the same ``sql`` always yields the same rows
            and a session that copied them may be kept (:mod:`lakehouse.athena.pool`).
    """

    sql: str
    copy: bool = False
    folders: tuple[Path, ...] = ()
    paths: tuple[Path, ...] = ()
    immutable: bool = False


def duckdb_type(athena_type: str) -> str:
    """The DuckDB type of an Athena (Hive DDL) column type."""
    t = athena_type.lower()
    if t.startswith("decimal"):
        return t.upper()
    return {
        "string": "VARCHAR",
        "varchar": "VARCHAR",
        "boolean": "BOOLEAN",
        "tinyint": "TINYINT",
        "smallint": "SMALLINT",
        "int": "INTEGER",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "float": "FLOAT",
        "double": "DOUBLE",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "binary": "BLOB",
    }.get(t, "VARCHAR")


def lit(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


_GLOB_ESCAPES = str.maketrans({c: f"[{c}]" for c in "*?["})


def literal_path(path: Path | str) -> str:
    """A DuckDB string literal naming exactly ``path``: glob characters are escaped.

    DuckDB expands ``*``, ``?`` and ``[...]`` in every file name it is given; a one-character
    class (``[*]``) matches the character itself.
    """
    return lit(str(path).translate(_GLOB_ESCAPES))


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _checked_location(table: CatalogTable, lake_root: Path) -> Path:
    """The table's folder, resolved, after checking it lies under ``<lake root>/<database>``."""
    root = (lake_root / table.database).resolve()
    location = Path(os.path.realpath(table.location))
    if not _under(location, root):
        raise AthenaQueryError(
            "ACCESS_DENIED",
            f"{table.qualified_name} has location {table.location}, which is not under the "
            f"lake's {table.database} folder {root}; fix the catalog with `lakehouse crawl`",
        )
    return location


def _files(table: CatalogTable, folder: Path, found: Iterable[Path]) -> list[Path]:
    """Data files (not hidden, not ``_``-prefixed), each checked to stay inside ``folder``."""
    out: list[Path] = []
    for path in found:
        if path.name[0] in "._" or not path.is_file():
            continue
        real = Path(os.path.realpath(path))
        if not _under(real, folder):
            raise AthenaQueryError(
                "ACCESS_DENIED",
                f"{table.qualified_name}: file {path} links to {real}, outside {folder}; "
                "lake files must be plain files",
            )
        out.append(real)
    return sorted(out)


def tenant_folder(table: CatalogTable, tenant_id: str) -> Path:
    """The ``tenant_id=<uuid>`` partition folder of a table partitioned by tenant."""
    return Path(table.location) / f"tenant_id={tenant_id}"


def empty_sql(table: CatalogTable) -> str:
    """A ``select`` with the table's columns and types and no rows."""
    cols = ", ".join(
        f"cast(null as {duckdb_type(c.type)}) as {ident(c.name)}" for c in table.all_columns
    )
    return f"select {cols} where false"


def _sql_value(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return lit(value)


def _csv_source(table: CatalogTable, tenant_id: str | None, lake_root: Path) -> Source:
    location = _checked_location(table, lake_root)
    files = _files(table, location, location.glob("*.csv.gz"))
    if not files:
        return Source(empty_sql(table), copy=tenant_id is not None)
    file_list = "[" + ", ".join(literal_path(f) for f in files) + "]"
    # Loaded for bronze only: the declarations' module is not needed to read silver or gold.
    from lakehouse_glue.model import load_bronze_contract

    contract = load_bronze_contract()
    # The contract (docs/bronze-contract.md): RFC 4180; NULL is the csv_null_value marker and
    # an empty field, quoted or not, is ''. allow_quoted_nulls: a quoted marker (a source text
    # equal to it, which the replicator reports) reads as NULL too, as in the Glue reader,
    # since DMS does not document quoting it.
    file_format = ", ".join(
        f"{name} = {_sql_value(value)}"
        for name, value in contract.duckdb_read_csv_arguments().items()
    )
    source = (
        f"read_csv({file_list}, {file_format}, all_varchar = true, allow_quoted_nulls = true, "
        "union_by_name = true, auto_detect = false, "
        "columns = {" + ", ".join(f"{lit(c.name)}: 'VARCHAR'" for c in table.columns) + "})"
    )
    where = ""
    if tenant_id is not None:
        if table.tenant_column is None:
            raise AthenaQueryError(
                "ACCESS_DENIED",
                f"{table.qualified_name} has no tenant column, so it cannot be scoped to a tenant",
            )
        where = f" where {ident(table.tenant_column)} = {lit(tenant_id)}"
    cols = ", ".join(ident(c.name) for c in table.columns)
    # Bronze files hold every tenant: a tenant session copies its rows before lock-down.
    return Source(f"select {cols} from {source}{where}", copy=tenant_id is not None)


def _parquet_source(table: CatalogTable, tenant_id: str | None, lake_root: Path) -> Source:
    location = _checked_location(table, lake_root)
    folders: tuple[Path, ...] = ()
    if tenant_id is not None and table.partition_keys:
        folder = tenant_folder(table, tenant_id)
        if not folder.is_dir():
            return Source(empty_sql(table))
        folder = Path(os.path.realpath(folder))
        if not _under(folder, location):
            raise AthenaQueryError(
                "ACCESS_DENIED",
                f"{table.qualified_name}: the tenant's folder links outside {location}",
            )
        folders = (folder,)
        files = _files(table, folder, folder.glob("*.parquet"))
    elif tenant_id is not None:
        raise AthenaQueryError(
            "ACCESS_DENIED",
            f"{table.qualified_name} is not partitioned by tenant_id, so it cannot be "
            "scoped to a tenant",
        )
    else:
        files = _files(table, location, location.rglob("*.parquet"))
    if not files:
        return Source(empty_sql(table), folders=folders)
    file_list = "[" + ", ".join(literal_path(f) for f in files) + "]"
    hive = ""
    if table.partition_keys:
        types = ", ".join(f"{lit(k.name)}: 'VARCHAR'" for k in table.partition_keys)
        hive = f", hive_partitioning = true, hive_types = {{{types}}}"
    # union_by_name reads every file's footer; only needed when the crawler saw drift.
    by_name = "false" if table.serde.get("uniform_schema") == "true" else "true"
    source = f"read_parquet({file_list}, union_by_name = {by_name}{hive})"
    select_list: list[str] = []
    for c in table.all_columns:
        # Spark writes UTC-adjusted timestamps, which DuckDB reads as timestamptz; Athena shows
        # them as plain timestamps in UTC.
        if c.type == "timestamp":
            select_list.append(f"cast({ident(c.name)} as timestamp) as {ident(c.name)}")
        else:
            select_list.append(ident(c.name))
    # The folder already holds one tenant; the filter is a second lock on the same door.
    where = f" where tenant_id = {lit(tenant_id)}" if tenant_id is not None else ""
    return Source(f"select {', '.join(select_list)} from {source}{where}", folders=folders)


def _iceberg_source(
    table: CatalogTable, tenant_id: str | None, lake_root: Path, planned: Planned | None
) -> Source:
    # Imported here: lakehouse.athena.iceberg_plan builds on this module's Source and helpers.
    from lakehouse.athena import iceberg_plan

    _checked_location(table, lake_root)
    return iceberg_plan.cached_source(table, tenant_id, lake_root, planned)


_RESOLVERS: dict[str, Callable[[CatalogTable, str | None, Path], Source]] = {
    "csv": _csv_source,
    "parquet": _parquet_source,
}


def resolve(
    table: CatalogTable, tenant_id: str | None, lake_root: Path, planned: Planned | None = None
) -> Source:
    """What ``table`` reads; with ``tenant_id``, only that tenant's rows.

    Args:
        table: The catalog table.
        tenant_id: The tenant whose rows to read, or ``None`` for every tenant.
        lake_root: The local lake root: the table and its files must lie under
            ``<lake_root>/<database>``.
        planned: The Iceberg sources the calling engine already made
            (:class:`lakehouse.athena.iceberg_plan.Planned`); ``None`` keeps none.

    Raises:
        AthenaQueryError: ``ACCESS_DENIED`` when the table cannot be scoped to the tenant,
            ``GENERIC_INTERNAL_ERROR`` for a format the local engine does not read.
    """
    if table.format == "iceberg":
        return _iceberg_source(table, tenant_id, lake_root, planned)
    resolver = _RESOLVERS.get(table.format)
    if resolver is None:
        known = ", ".join(sorted([*_RESOLVERS, "iceberg"]))
        raise AthenaQueryError(
            "GENERIC_INTERNAL_ERROR",
            f"{table.qualified_name} has format {table.format!r}, which the local engine does "
            f"not read (known: {known}); run `lakehouse crawl` again",
        )
    return resolver(table, tenant_id, lake_root)
