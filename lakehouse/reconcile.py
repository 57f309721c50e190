"""``lakehouse reconcile``: PostgreSQL versus silver, per tenant and table.

For every entity and tenant it compares the row count, the sum of every money (decimal) column
to the cent, and the latest ``updated_at``. The source side is one ``GROUP BY`` per table; the
silver side is the same query over the Parquet files, answered by DuckDB (no JVM needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from lakehouse_glue.model import Entity, load_declaration
from psycopg import sql
from pyiceberg.manifest import DataFileContent

from lakehouse.catalog import iceberg
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError

TENANT_ID = "tenant_id"


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
    """The compared metrics: rows, money sums, latest updated_at."""
    out = ["rows"]
    out += [f"sum({c.name})" for c in entity.columns if c.decimal is not None]
    if "updated_at" in entity.column_names:
        out.append("max(updated_at)")
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


def silver_metrics(silver_uri: str, entity: Entity) -> dict[str, tuple[Any, ...]]:
    """tenant id -> (rows, sums..., max updated_at) from silver's current files.

    An Iceberg table is read at its current snapshot: exactly the data files that snapshot lists
    (files of older snapshots stay on disk until they expire and must not be counted), so a
    reconcile that runs while the pipeline commits compares with one whole snapshot. A plain
    Parquet table (a lake written before silver became Iceberg) is read from its partitions.
    """
    if silver_uri.startswith("s3://"):
        raise LakehouseError(
            "reconcile reads silver from a local lake; for an s3:// lake run it where the lake "
            "is mounted, or compare with Athena"
        )
    folder = Path(silver_uri) / entity.name
    exprs = ["count(*)"]
    exprs += [f'sum("{c.name}")' for c in entity.columns if c.decimal is not None]
    if "updated_at" in entity.column_names:
        exprs.append('max("updated_at")')
    if iceberg.is_iceberg_table(folder):
        table = iceberg.load_table(folder)
        files = [
            str(f.path)
            for f in iceberg.live_files(table, table.current_snapshot())
            if f.content == DataFileContent.DATA
        ]
        if not files:
            return {}
        by_name = "true" if iceberg.schema_evolved(table) else "false"
        source = f"read_parquet(?, union_by_name = {by_name}, hive_partitioning = false)"
        argument: str | list[str] = files
    else:
        if not any(folder.glob(f"{TENANT_ID}=*/*.parquet")):
            return {}
        source = "read_parquet(?, hive_partitioning = true, hive_types = {'tenant_id': varchar})"
        argument = str(folder / f"{TENANT_ID}=*" / "*.parquet")
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        rows = con.execute(
            f"select {TENANT_ID}, {', '.join(exprs)} from {source} group by 1", [argument]
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
