"""``lakehouse crawl``: what the Glue crawler does, on the local lake.

Bronze: every table folder ``<bronze>/<bucket folder>/<schema>/<table>/`` becomes
``bronze.<table>`` (a CSV table, every column ``string`` as the bronze DDL declares it); its
columns are the union, in first-seen order, of the header rows of its files. Silver and gold:
an Iceberg table folder (``metadata/vN.metadata.json``) is registered from its current
metadata, as the Glue jobs register theirs in the Glue Data Catalog: columns from the Iceberg
schema, ``table_type = ICEBERG``, no partitions to crawl (Iceberg tracks its files itself). A
plain Parquet folder (a lake written before silver and gold became Iceberg tables) becomes
``silver.<name>`` / ``gold.<name>`` with the union of the Parquet schemas and the ``tenant_id=``
partitions. Drift is reported against the declaration and against the previous crawl; drift is
information, not an error.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from lakehouse_glue.model import (
    LINEAGE_COLUMNS,
    TENANT_COLUMN,
    load_bronze_contract,
    load_declaration,
)
from pyiceberg.manifest import DataFileContent
from pyiceberg.table import StaticTable

from lakehouse.catalog import iceberg
from lakehouse.catalog.store import (
    Catalog,
    CatalogColumn,
    CatalogTable,
    Drift,
    load_catalog,
    local_dir,
)
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

PARTITION_KEY = TENANT_COLUMN

# How the bronze CSV is read, as the local catalog records it (the bronze contract's format).
BRONZE_SERDE = load_bronze_contract().csv_format()


# Arrow types read from a Parquet footer, by test, and their Athena (Hive DDL) types.
_ARROW_ATHENA: tuple[tuple[Callable[[pa.DataType], bool], str], ...] = (
    (pa.types.is_string, "string"),
    (pa.types.is_large_string, "string"),
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_int8, "tinyint"),
    (pa.types.is_int16, "smallint"),
    (pa.types.is_int32, "int"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_float32, "float"),
    (pa.types.is_float64, "double"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_date, "date"),
    (pa.types.is_binary, "binary"),
    (pa.types.is_large_binary, "binary"),
)


def athena_type(arrow: pa.DataType) -> str:
    """The Athena (Hive DDL) type of an Arrow type read from a Parquet footer."""
    for test, name in _ARROW_ATHENA:
        if test(arrow):
            return name
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return f"array<{athena_type(arrow.value_type)}>"
    if pa.types.is_dictionary(arrow):
        return athena_type(arrow.value_type)
    raise LakehouseError(
        f"Parquet type {arrow} has no Athena mapping in the local crawler; "
        "write the column as one of string, boolean, int, bigint, double, decimal, date, timestamp"
    )


@dataclass(frozen=True)
class CrawlResult:
    """What one crawl found and registered."""

    tables: tuple[CatalogTable, ...]
    removed: tuple[str, ...]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _visible(path: Path) -> bool:
    # Spark and the replicator write temporary and marker files with these prefixes.
    return not any(part.startswith(("_", ".")) for part in path.parts)


def _csv_header(path: Path) -> list[str]:
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            first = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise LakehouseError(
            f"bronze file {path} is not a readable gzip UTF-8 CSV ({exc}); move it out of the "
            "bronze folder or replace it"
        ) from exc
    row = next(csv.reader(io.StringIO(first)), None)
    if not row:
        raise LakehouseError(f"bronze file {path} has no header row (the contract requires one)")
    return row


def _previous_drift(
    previous: CatalogTable | None, columns: tuple[CatalogColumn, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    if previous is None:
        return (), (), ()
    before = {c.name: c.type for c in previous.columns}
    now = {c.name: c.type for c in columns}
    added = tuple(n for n in now if n not in before)
    removed = tuple(n for n in before if n not in now)
    changed = tuple(n for n in now if n in before and before[n] != now[n])
    return added, removed, changed


def _crawl_bronze(settings: Settings, previous: Catalog, crawled_at: str) -> list[CatalogTable]:
    contract = load_bronze_contract()
    declaration = load_declaration()
    root = local_dir(settings.bronze_uri, "the bronze location") / contract.bucket_folder
    if not root.is_dir():
        return []
    tables: list[CatalogTable] = []
    for schema_dir in sorted(p for p in root.iterdir() if p.is_dir() and _visible(Path(p.name))):
        for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
            if not _visible(Path(table_dir.name)):
                continue
            # Full-load files first, as they were written first: the column union then lists
            # columns in the order they appeared.
            files = sorted(
                (
                    f
                    for f in table_dir.iterdir()
                    if f.is_file()
                    and f.name.endswith(contract.file_suffix)
                    and _visible(Path(f.name))
                ),
                key=lambda f: (not contract.is_full_load_file(f.name), f.name),
            )
            if not files:
                continue
            names: list[str] = []
            for f in files:
                for column in _csv_header(f):
                    if column not in names:
                        names.append(column)
            name = (
                table_dir.name
                if schema_dir.name == declaration.schema
                else f"{schema_dir.name}_{table_dir.name}"
            )
            added_decl: tuple[str, ...] = ()
            missing_decl: tuple[str, ...] = ()
            tenant_column: str | None = None
            if schema_dir.name == declaration.schema and table_dir.name in declaration.names:
                entity = declaration.entity(table_dir.name)
                expected = [
                    contract.op_column,
                    contract.timestamp_column_name,
                    *entity.column_names,
                    contract.change_seq_column,
                ]
                added_decl = tuple(n for n in names if n not in expected)
                missing_decl = tuple(n for n in expected if n not in names)
                tenant_column = entity.tenant_column if entity.tenant_column in names else None
            columns = tuple(CatalogColumn(n, "string") for n in names)
            prev = previous.get("bronze", name)
            added_prev, removed_prev, changed_prev = _previous_drift(prev, columns)
            tables.append(
                CatalogTable(
                    database="bronze",
                    name=name,
                    format="csv",
                    location=str(table_dir.resolve()),
                    columns=columns,
                    partition_keys=(),
                    partitions=(),
                    files=len(files),
                    crawled_at=crawled_at,
                    drift=Drift(added_decl, missing_decl, added_prev, removed_prev, changed_prev),
                    tenant_column=tenant_column,
                    serde=dict(BRONZE_SERDE),
                )
            )
    return tables


def _parquet_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.parquet") if p.is_file() and _visible(p.relative_to(folder))
    )


def _declared_columns(database: str, name: str) -> list[str] | None:
    """Column names the declarations promise for a silver or gold table (None if undeclared)."""
    declaration = load_declaration()
    if database == "silver" and name in declaration.names:
        cols = declaration.entity(name).column_names
        return [*cols, *(name for name, _, _ in LINEAGE_COLUMNS)]
    if database == "gold":
        from lakehouse.athena.ddl import gold_marts

        for mart in gold_marts():
            if mart.name == name and mart.columns:
                return [c.name for c in mart.columns]
    return None


def _crawl_parquet(
    database: str, uri: str, previous: Catalog, crawled_at: str
) -> list[CatalogTable]:
    root = local_dir(uri, f"the {database} location")
    if not root.is_dir():
        return []
    tables: list[CatalogTable] = []
    for table_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if not _visible(Path(table_dir.name)):
            continue
        if iceberg.is_iceberg_table(table_dir):
            tables.append(_iceberg_table(database, table_dir, previous, crawled_at))
            continue
        files = _parquet_files(table_dir)
        if not files:
            continue
        schemas: list[pa.Schema] = []
        for f in files:
            try:
                schemas.append(pq.read_schema(f))
            except (OSError, pa.ArrowException) as exc:
                raise LakehouseError(
                    f"{database} file {f} is not readable Parquet ({exc}); rerun the job that "
                    "wrote it"
                ) from exc
        try:
            schema = pa.unify_schemas(schemas, promote_options="permissive")
        except pa.ArrowException as exc:
            raise LakehouseError(
                f"the Parquet files of {database}.{table_dir.name} in {table_dir} have "
                f"incompatible schemas ({exc}); rewrite the table with a full refresh"
            ) from exc
        partitions = sorted(
            p.name.split("=", 1)[1]
            for p in table_dir.iterdir()
            if p.is_dir() and p.name.startswith(f"{PARTITION_KEY}=")
        )
        partition_keys: tuple[CatalogColumn, ...] = ()
        if partitions:
            partition_keys = (CatalogColumn(PARTITION_KEY, "string"),)
        columns = tuple(
            CatalogColumn(f.name, athena_type(f.type))
            for f in schema
            if not (partitions and f.name == PARTITION_KEY)
        )
        names = [c.name for c in columns] + [c.name for c in partition_keys]
        declared = _declared_columns(database, table_dir.name)
        added_decl: tuple[str, ...] = ()
        missing_decl: tuple[str, ...] = ()
        if declared is not None:
            allowed = [*declared, PARTITION_KEY]
            added_decl = tuple(n for n in names if n not in allowed)
            missing_decl = tuple(n for n in declared if n not in names)
        prev = previous.get(database, table_dir.name)
        added_prev, removed_prev, changed_prev = _previous_drift(prev, columns)
        tables.append(
            CatalogTable(
                database=database,
                name=table_dir.name,
                format="parquet",
                location=str(table_dir.resolve()),
                columns=columns,
                partition_keys=partition_keys,
                partitions=tuple(partitions),
                files=len(files),
                crawled_at=crawled_at,
                drift=Drift(added_decl, missing_decl, added_prev, removed_prev, changed_prev),
                tenant_column=PARTITION_KEY if partitions else None,
                # Lets the engine skip reading every footer when all files agree.
                serde={"uniform_schema": str(all(x.equals(schemas[0]) for x in schemas)).lower()},
            )
        )
    return tables


def _declaration_drift(
    database: str, name: str, names: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    declared = _declared_columns(database, name)
    if declared is None:
        return (), ()
    allowed = [*declared, PARTITION_KEY]
    return (
        tuple(n for n in names if n not in allowed),
        tuple(n for n in declared if n not in names),
    )


def _data_files(table: StaticTable) -> int:
    """The live data files of the table's current snapshot.

    Iceberg keeps the count in every snapshot's summary (``total-data-files``), so a crawl
    after each ``pipeline watch`` batch reads one metadata file per table, not its manifests;
    a snapshot without it (another writer) has them counted.
    """
    snapshot = table.current_snapshot()
    if snapshot is None:
        return 0
    total = snapshot.summary["total-data-files"] if snapshot.summary is not None else None
    if total is not None:
        return int(total)
    return sum(1 for f in iceberg.live_files(table, snapshot) if f.content == DataFileContent.DATA)


def _iceberg_table(
    database: str, table_dir: Path, previous: Catalog, crawled_at: str
) -> CatalogTable:
    """A catalog entry for an Iceberg table, from its current metadata (nothing is listed)."""
    table = iceberg.load_table(table_dir)
    columns = iceberg.columns_of(table.schema())
    names = [c.name for c in columns]
    added_decl, missing_decl = _declaration_drift(database, table_dir.name, names)
    added_prev, removed_prev, changed_prev = _previous_drift(
        previous.get(database, table_dir.name), columns
    )
    files = _data_files(table)
    return CatalogTable(
        database=database,
        name=table_dir.name,
        format=iceberg.FORMAT,
        location=str(table_dir.resolve()),
        columns=columns,
        partition_keys=(),
        partitions=(),
        files=files,
        crawled_at=crawled_at,
        drift=Drift(added_decl, missing_decl, added_prev, removed_prev, changed_prev),
        # A tenant is scoped by value (the files of a bucket hold several tenants).
        tenant_column=PARTITION_KEY if iceberg.has_column(table, PARTITION_KEY) else None,
        serde={"table_type": "ICEBERG", "format_version": str(table.format_version)},
    )


def crawl(
    settings: Settings, databases: Iterable[str] = ("bronze", "silver", "gold")
) -> CrawlResult:
    """Discover the lake's tables and register them in the local catalog.

    Tables whose data is gone are removed from the catalog. Returns what was registered.
    """
    catalog = load_catalog(settings.catalog_uri)
    crawled_at = _now()
    found: list[CatalogTable] = []
    wanted = tuple(databases)
    for database in wanted:
        if database == "bronze":
            found += _crawl_bronze(settings, catalog, crawled_at)
        elif database == "silver":
            found += _crawl_parquet("silver", settings.silver_uri, catalog, crawled_at)
        elif database == "gold":
            found += _crawl_parquet("gold", settings.gold_uri, catalog, crawled_at)
        else:
            raise LakehouseError(f"unknown database {database!r}; use bronze, silver or gold")
    keep = {t.qualified_name for t in found}
    removed = tuple(
        sorted(q for q, t in catalog.tables.items() if t.database in wanted and q not in keep)
    )
    for qualified in removed:
        database, name = qualified.split(".", 1)
        catalog.delete(database, name)
    for table in found:
        catalog.save(table)
    return CrawlResult(tables=tuple(found), removed=removed)
