"""``lakehouse reconcile``: PostgreSQL versus silver, per tenant and table.

For every entity and tenant it compares the row count, the sum of every money (decimal) column
to the cent, the latest ``updated_at``, and the number of non-NULL values of every nullable
column (NULL and '' must survive bronze: a source text equal to the bronze NULL marker, or a
reader that took '' for NULL, shows up here; docs/bronze-contract.md). The source side is one
``GROUP BY`` per table; the silver side is the same query over the Parquet files, answered by
DuckDB (no JVM needed).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from lakehouse_glue.model import TENANT_COLUMN, Entity, load_declaration
from psycopg import sql
from pyiceberg.table import StaticTable

from lakehouse.athena.iceberg_plan import scan_sql
from lakehouse.catalog import iceberg
from lakehouse.config import Settings, join_uri
from lakehouse.errors import LakehouseError
from lakehouse.storage import S3Storage, parse_s3_uri


@dataclass(frozen=True)
class Difference:
    """One value that differs between the source and silver."""

    entity: str
    tenant_id: str
    metric: str
    source: Any
    silver: Any


@dataclass
class EntityResult:
    """The comparison of one entity."""

    entity: str
    tenants: int
    source_rows: int
    silver_rows: int
    differences: list[Difference]


def metrics(entity: Entity) -> list[str]:
    """The compared metrics: rows, money sums, latest updated_at, non-NULL counts."""
    out = ["rows"]
    out += [f"sum({c.name})" for c in entity.columns if c.decimal is not None]
    if "updated_at" in entity.column_names:
        out.append("max(updated_at)")
    out += [f"count({c.name})" for c in entity.columns if c.nullable]
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    return value  # Decimals compare by value: 12.5 == 12.50, exact to the cent


def source_metrics(dsn: str, entity: Entity) -> dict[str, tuple[Any, ...]]:
    """tenant id -> (rows, sums..., max updated_at) from PostgreSQL."""
    exprs: list[sql.Composable] = [sql.SQL("count(*)")]
    exprs += [
        sql.SQL("sum({})").format(sql.Identifier(c.name))
        for c in entity.columns
        if c.decimal is not None
    ]
    if "updated_at" in entity.column_names:
        exprs.append(sql.SQL("max(updated_at)"))
    exprs += [
        sql.SQL("count({})").format(sql.Identifier(c.name)) for c in entity.columns if c.nullable
    ]
    query = sql.SQL("select {t}::text, {e} from {s}.{tab} group by 1").format(
        t=sql.Identifier(entity.tenant_column),
        e=sql.SQL(", ").join(exprs),
        s=sql.Identifier(entity.schema),
        tab=sql.Identifier(entity.name),
    )
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            conn.execute("set time zone 'UTC'")
            rows = conn.execute(query).fetchall()
    except psycopg.OperationalError as exc:
        raise LakehouseError(
            f"cannot connect to the source database: {exc}\n"
            "Start it with 'lakehouse db up' or check DATABASE_URL."
        ) from exc
    return {str(r[0]): tuple(_norm(v) for v in r[1:]) for r in rows}


def _s3_io_properties() -> dict[str, str]:
    """pyiceberg S3 FileIO settings from the environment boto3 also reads.

    pyiceberg's S3 FileIO takes its endpoint and region as properties
    (https://py.iceberg.apache.org/configuration/#s3); the credentials come from the default
    chain (environment, profile, instance role) as for boto3.
    """
    props: dict[str, str] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        props["s3.endpoint"] = endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        props["s3.region"] = region
    return props


def _s3_silver_files(silver_uri: str, entity: Entity, into: Path) -> tuple[str | None, list[Any]]:
    """Download the Parquet files of an ``s3://`` silver table's current state into ``into``.

    Returns what :func:`_query` reads (a table expression and its parameters; ``None`` when
    there is nothing). An Iceberg table (Hadoop layout, as the Glue jobs write it) is read at
    its current snapshot from its metadata on S3, its delete files applied; a plain table from
    its partitions.
    """
    storage = S3Storage(join_uri(silver_uri, entity.name))
    meta_files = storage.list_files(iceberg.METADATA_DIR)
    if any(iceberg.is_version_file(name) for name in meta_files):
        # The current version is chosen as for a local table, from the metadata file names and
        # the version hint, so the rule lives in one place: empty stand-ins carry the names.
        meta = into / "_table" / iceberg.METADATA_DIR
        meta.mkdir(parents=True)
        for name in meta_files:
            if iceberg.is_version_file(name):
                (meta / name).touch()
        if iceberg.VERSION_HINT in meta_files:
            hint = storage.read_bytes(f"{iceberg.METADATA_DIR}/{iceberg.VERSION_HINT}")
            (meta / iceberg.VERSION_HINT).write_bytes(hint)
        current = iceberg.current_metadata_file(meta.parent).name
        table = StaticTable.from_metadata(
            storage.uri_of(f"{iceberg.METADATA_DIR}/{current}"), properties=_s3_io_properties()
        )
        downloaded: dict[str, Path] = {}

        def download(uri: str) -> Path:
            if uri not in downloaded:
                bucket, key = parse_s3_uri(uri)
                target = into / f"{len(downloaded):06d}.parquet"
                target.write_bytes(S3Storage(f"s3://{bucket}").read_bytes(key))
                downloaded[uri] = target
            return downloaded[uri]

        return _iceberg_source(table, download), []
    found = False
    for folder in storage.list_folders(""):
        if not folder.startswith(f"{TENANT_COLUMN}="):
            continue
        for name in storage.list_files(folder):
            if name.endswith(".parquet"):
                target = into / folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(storage.read_bytes(f"{folder}/{name}"))
                found = True
    if not found:
        return None, []
    return _HIVE_SOURCE, [str(into / f"{TENANT_COLUMN}=*" / "*.parquet")]


def silver_metrics(silver_uri: str, entity: Entity) -> dict[str, tuple[Any, ...]]:
    """tenant id -> (rows, sums..., max updated_at) from silver's current files.

    An Iceberg table is read at its current snapshot: exactly the data files that snapshot lists
    (files of older snapshots stay on disk until they expire and must not be counted), so a
    reconcile that runs while the pipeline commits compares with one whole snapshot. A plain
    Parquet table (a lake written before silver became Iceberg) is read from its partitions.
    An ``s3://`` lake is read the same way: the current files are downloaded to a temporary
    folder first (DuckDB reads S3 only through an extension it would download).
    """
    if silver_uri.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="lakehouse-reconcile-") as tmp:
            source, params = _s3_silver_files(silver_uri, entity, Path(tmp))
            return _query(entity, source, params) if source else {}
    folder = Path(silver_uri) / entity.name
    if iceberg.is_iceberg_table(folder):
        source = _iceberg_source(iceberg.load_table(folder), iceberg.local_path)
        return _query(entity, source, []) if source else {}
    if not any(folder.glob(f"{TENANT_COLUMN}=*/*.parquet")):
        return {}
    return _query(entity, _HIVE_SOURCE, [str(folder / f"{TENANT_COLUMN}=*" / "*.parquet")])


#: A plain Parquet table (a lake written before silver became Iceberg), read from its folders.
_HIVE_SOURCE = (
    f"read_parquet(?, hive_partitioning = true, hive_types = {{'{TENANT_COLUMN}': varchar}})"
)


def _iceberg_source(table: StaticTable, local: Callable[[str], Path]) -> str | None:
    """The rows of an Iceberg table's current snapshot as a DuckDB table expression, the rows
    its position delete files remove left out (merge-on-read, as the silver ``MERGE`` writes);
    ``None`` when the snapshot has no data file. ``local`` gives the local copy of a file."""
    planned = iceberg.scan_files(table, table.current_snapshot())
    read = scan_sql("*", planned, iceberg.schema_evolved(table), local)
    return None if read is None else f"({read})"


def _query(entity: Entity, source: str, params: list[Any]) -> dict[str, tuple[Any, ...]]:
    exprs = ["count(*)"]
    exprs += [f'sum("{c.name}")' for c in entity.columns if c.decimal is not None]
    if "updated_at" in entity.column_names:
        exprs.append('max("updated_at")')
    exprs += [f'count("{c.name}")' for c in entity.columns if c.nullable]
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        rows = con.execute(
            f"select {TENANT_COLUMN}, {', '.join(exprs)} from {source} group by 1", params
        ).fetchall()
    finally:
        con.close()
    return {str(r[0]): tuple(_norm(v) for v in r[1:]) for r in rows}


def reconcile_entity(dsn: str, silver_uri: str, entity: Entity) -> EntityResult:
    """Compare one entity, tenant by tenant."""
    src = source_metrics(dsn, entity)
    dst = silver_metrics(silver_uri, entity)
    names = metrics(entity)
    empty = (0, *([None] * (len(names) - 1)))
    diffs: list[Difference] = []
    for tenant in sorted(set(src) | set(dst)):
        a, b = src.get(tenant, empty), dst.get(tenant, empty)
        for metric, va, vb in zip(names, a, b, strict=True):
            if va != vb:
                diffs.append(Difference(entity.name, tenant, metric, va, vb))
    return EntityResult(
        entity=entity.name,
        tenants=len(set(src) | set(dst)),
        source_rows=sum(int(v[0]) for v in src.values()),
        silver_rows=sum(int(v[0]) for v in dst.values()),
        differences=diffs,
    )


def reconcile(
    settings: Settings, dsn: str, entities: list[str] | None = None
) -> list[EntityResult]:
    """Compare every (or the named) entity; the result lists every difference."""
    declaration = load_declaration()
    chosen = [declaration.entity(n) for n in entities] if entities else declaration.entities
    return [reconcile_entity(dsn, settings.silver_uri, e) for e in chosen]
