"""Reading Iceberg tables of the local lake: current metadata, snapshots, data files.

Locally the Glue jobs write silver and gold through Iceberg's Hadoop (file system) catalog whose
warehouse is the lake root, so ``silver.orders`` lives in ``<lake>/silver/orders/`` with
``metadata/vN.metadata.json`` (one per commit), ``metadata/version-hint.text`` (the current
``N``) and ``data/``. On AWS the Glue Data Catalog holds the pointer to the current metadata
file instead; everything below the pointer is the same Iceberg format.

The guarantee readers rely on: a commit writes new data and metadata files and then makes a new
``vN.metadata.json`` current; it never changes a file a committed snapshot refers to. So once a
reader has planned the files of a snapshot, those files stay readable and unchanged until that
snapshot is expired (``lakehouse maintain``, 7 days by default), whatever a writer commits
meanwhile. A reader sees the previous or the next snapshot, never part of one.

Only what the local engine needs is here: find the current metadata (Iceberg Java's
``HadoopTableOperations`` rules), pick a snapshot (current, by id or reference, or as of a
time), list the live data files of that snapshot (all of them, or the ones that can hold one
tenant's rows), and the rows of the ``$snapshots``, ``$history``, ``$files`` and
``$partitions`` metadata tables. pyiceberg reads the metadata, manifest lists and manifests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pyiceberg.conversions import from_bytes
from pyiceberg.expressions import EqualTo
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.schema import Schema
from pyiceberg.table import StaticTable
from pyiceberg.table.snapshots import Snapshot, ancestors_of
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    PrimitiveType,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)

# The Hadoop layout needs no pyiceberg; its names stay importable from here.
from lakehouse.catalog.iceberg_layout import FORMAT as FORMAT
from lakehouse.catalog.iceberg_layout import METADATA_DIR as METADATA_DIR
from lakehouse.catalog.iceberg_layout import VERSION_HINT as VERSION_HINT
from lakehouse.catalog.iceberg_layout import IcebergError as IcebergError
from lakehouse.catalog.iceberg_layout import current_metadata_file as current_metadata_file
from lakehouse.catalog.iceberg_layout import is_iceberg_table as is_iceberg_table
from lakehouse.catalog.iceberg_layout import is_version_file as is_version_file
from lakehouse.catalog.store import CatalogColumn


def load_table(folder: Path) -> StaticTable:
    """The table at its current metadata (a fixed view: later commits are not seen)."""
    location = current_metadata_file(folder)
    try:
        return StaticTable.from_metadata(str(location))
    except (OSError, ValueError) as exc:
        raise IcebergError(
            f"Iceberg metadata {location} is unreadable ({exc}); the table needs repair: rerun "
            "the job that writes it with --full-refresh"
        ) from exc


def local_path(uri: str) -> Path:
    """The local path of a file URI written by Spark (``file:/...``) or pyiceberg (plain)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else uri)
    raise IcebergError(
        f"data file {uri} is not on the local file system; the local engine reads a local "
        "lake only (query the table with Athena on AWS)"
    )


# -- snapshots ------------------------------------------------------------------------------


def snapshot_by_version(table: StaticTable, version: int | str) -> Snapshot:
    """``FOR VERSION AS OF``: a snapshot id, or the name of a branch or tag."""
    snapshot = (
        table.snapshot_by_id(version)
        if isinstance(version, int)
        else table.snapshot_by_name(version)
    )
    if snapshot is None:
        what = "snapshot id" if isinstance(version, int) else "branch or tag"
        raise IcebergError(f"Iceberg {what} does not exist: {version}")
    return snapshot


def snapshot_as_of(table: StaticTable, when: datetime) -> Snapshot:
    """``FOR TIMESTAMP AS OF``: the snapshot that was current at ``when`` (the table's log)."""
    millis = int(when.timestamp() * 1000)
    snapshot = table.snapshot_as_of_timestamp(millis, inclusive=True)
    if snapshot is None:
        raise IcebergError(
            f"no snapshot of the table at or before {when.isoformat()} (the oldest kept is "
            f"{_oldest(table)}); pick a later time"
        )
    return snapshot


def _oldest(table: StaticTable) -> str:
    log = table.history()
    if not log:
        return "none"
    return ms_time(log[0].timestamp_ms).isoformat()


def ms_time(millis: int) -> datetime:
    """An Iceberg timestamp (milliseconds since the epoch) as a UTC datetime."""
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


# -- columns --------------------------------------------------------------------------------

_PRIMITIVE_ATHENA = {
    StringType: "string",
    BooleanType: "boolean",
    IntegerType: "int",
    LongType: "bigint",
    FloatType: "float",
    DoubleType: "double",
    DateType: "date",
    TimestampType: "timestamp",
    # Athena shows Iceberg timestamptz as ``timestamp(6) with time zone``; the local engine
    # shows it as a UTC timestamp, as it does for the Parquet Spark writes.
    TimestamptzType: "timestamp",
    BinaryType: "binary",
    FixedType: "binary",
    UUIDType: "string",
    TimeType: "string",
}


def athena_type(iceberg: IcebergType) -> str:
    """The Athena (Glue) column type of an Iceberg type."""
    if isinstance(iceberg, DecimalType):
        return f"decimal({iceberg.precision},{iceberg.scale})"
    if isinstance(iceberg, ListType):
        return f"array<{athena_type(iceberg.element_type)}>"
    if isinstance(iceberg, MapType):
        return f"map<{athena_type(iceberg.key_type)},{athena_type(iceberg.value_type)}>"
    if isinstance(iceberg, StructType):
        inner = ",".join(f"{f.name}:{athena_type(f.field_type)}" for f in iceberg.fields)
        return f"struct<{inner}>"
    for kind, name in _PRIMITIVE_ATHENA.items():
        if isinstance(iceberg, kind):
            return name
    raise IcebergError(f"Iceberg type {iceberg} has no Athena mapping in the local engine")


def columns_of(schema: Schema) -> tuple[CatalogColumn, ...]:
    """The table's columns with Athena types, in schema order."""
    return tuple(CatalogColumn(f.name, athena_type(f.field_type)) for f in schema.fields)


def schema_of(table: StaticTable, snapshot: Snapshot | None) -> Schema:
    """The schema a query of ``snapshot`` sees: the snapshot's own for time travel (as Trino
    and Athena do), the current one otherwise."""
    if snapshot is None or snapshot.schema_id is None:
        return table.schema()
    current = table.current_snapshot()
    if current is not None and current.snapshot_id == snapshot.snapshot_id:
        return table.schema()
    return table.schemas().get(snapshot.schema_id, table.schema())


def renamed_columns(table: StaticTable) -> list[str]:
    """Columns whose name changed in some schema version (``old -> new``).

    The local engine reads Parquet by column name, so a rename would read NULLs for old files;
    it refuses such a table instead (Athena reads by field id).
    """
    current = {f.field_id: f.name for f in table.schema().fields}
    out: set[str] = set()
    for schema in table.schemas().values():
        for f in schema.fields:
            now = current.get(f.field_id)
            if now is not None and now != f.name:
                out.add(f"{f.name} -> {now}")
    return sorted(out)


def schema_evolved(table: StaticTable) -> bool:
    """Whether files may differ in columns (more than one schema version ever)."""
    return len(table.schemas()) > 1


def has_column(table: StaticTable, column: str) -> bool:
    """Whether the table's current schema has ``column`` (case-insensitive, as Athena)."""
    return table.schema().find_field(column, case_sensitive=False) is not None if column else False


# -- files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveFile:
    """A live file of a snapshot (data or delete) with its partition values by column name."""

    file: DataFile
    partition: dict[str, Any]

    @property
    def content(self) -> DataFileContent:
        return self.file.content

    @property
    def path(self) -> Path:
        return local_path(self.file.file_path)


def _partition_names(table: StaticTable) -> dict[int, list[str]]:
    return {spec_id: [f.name for f in spec.fields] for spec_id, spec in table.specs().items()}


def live_files(table: StaticTable, snapshot: Snapshot | None) -> Iterator[LiveFile]:
    """The live (added or existing) files of ``snapshot``, data and deletes."""
    if snapshot is None:
        return
    names = _partition_names(table)
    for manifest in snapshot.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            yield _live(entry.data_file, names)


def _live(data_file: DataFile, names: dict[int, list[str]]) -> LiveFile:
    spec_names = names.get(data_file.spec_id, [])
    values = {
        name: data_file.partition[i] if i < len(data_file.partition) else None
        for i, name in enumerate(spec_names)
    }
    return LiveFile(data_file, values)


@dataclass(frozen=True)
class ScanFile:
    """A live data file of a snapshot with the position delete files that apply to it."""

    data: LiveFile
    deletes: tuple[LiveFile, ...]


def scan_files(
    table: StaticTable, snapshot: Snapshot | None, tenant: tuple[str, str] | None = None
) -> Iterator[ScanFile]:
    """The data files a read of ``snapshot`` needs, each with the delete files to apply.

    Matched as Iceberg's spec says (pyiceberg's planner): a position delete file applies to
    the data files of its partition whose data sequence number is not above its own
    (https://iceberg.apache.org/spec/#scan-planning). The jobs' ``MERGE`` writes position
    deletes (merge-on-read, ``lakehouse_glue.iceberg``); equality deletes, which no job
    writes, raise ``ValueError``. With ``tenant`` (column, id), only the files that can hold
    that tenant's rows, planned as :func:`tenant_files` plans them.
    """
    if snapshot is None:
        return
    names = _partition_names(table)
    scan = (
        table.scan(snapshot_id=snapshot.snapshot_id)
        if tenant is None
        else table.scan(
            row_filter=EqualTo(term=tenant[0], value=tenant[1]),
            snapshot_id=snapshot.snapshot_id,
            case_sensitive=False,
        )
    )
    for task in scan.plan_files():
        deletes = sorted(task.delete_files, key=lambda d: d.file_path)
        yield ScanFile(_live(task.file, names), tuple(_live(d, names) for d in deletes))


def tenant_files(
    table: StaticTable, snapshot: Snapshot | None, column: str, tenant_id: str
) -> Iterator[LiveFile]:
    """The live files of ``snapshot`` that can hold rows with ``column = tenant_id``.

    Planned as Athena (Trino) plans ``where tenant_id = X``: the predicate is projected through
    each file's partition spec (``bucket(N, tenant_id)``, an identity of an older spec, or no
    partition at all) and then checked against the file's min/max of the column. A bucket holds
    several tenants, so these files hold other tenants' rows too: the caller must still filter
    rows by value. The delete files the data files need are returned as well, each once.
    """
    seen: set[str] = set()
    for planned in scan_files(table, snapshot, (column, tenant_id)):
        yield planned.data
        for delete in planned.deletes:
            if delete.file.file_path not in seen:
                seen.add(delete.file.file_path)
                yield delete


def readable_bound(field_type: IcebergType, value: bytes | None) -> str | None:
    """A lower or upper bound as text, as Athena prints it in ``$files``."""
    if value is None or not isinstance(field_type, PrimitiveType):
        return None
    decoded = from_bytes(field_type, value)
    if isinstance(decoded, bytes):
        return decoded.hex()
    if isinstance(field_type, TimestampType | TimestamptzType) and isinstance(decoded, int):
        return datetime.fromtimestamp(decoded / 1_000_000, tz=UTC).isoformat()
    if isinstance(field_type, DateType) and isinstance(decoded, int):
        return datetime.fromtimestamp(decoded * 86400, tz=UTC).date().isoformat()
    return str(decoded)


def snapshot_time(snapshot: Snapshot) -> datetime:
    return ms_time(snapshot.timestamp_ms)


def current_ancestor_ids(table: StaticTable) -> set[int]:
    return {s.snapshot_id for s in ancestors_of(table.current_snapshot(), table.metadata)}
