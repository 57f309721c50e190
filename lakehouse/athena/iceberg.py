"""Iceberg tables in local Athena SQL: current and time-travelled snapshots, metadata tables.

Athena (engine v3, Trino's Iceberg connector) reads Iceberg tables natively; this module gives
the local engine the same surface:

- ``silver.orders``: the current snapshot.
- ``silver.orders FOR VERSION AS OF <snapshot id | 'branch or tag'>`` and
  ``silver.orders FOR TIMESTAMP AS OF <timestamp>``: the snapshot that was current then
  (https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-time-travel-and-version-travel-queries.html).
- ``silver."orders$snapshots"``, ``"orders$history"``, ``"orders$files"``,
  ``"orders$partitions"``: the metadata tables
  (https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-table-metadata.html), with the
  column names and types of Trino's Iceberg connector, which Athena engine v3 runs
  (https://trino.io/docs/current/connector/iceberg.html#metadata-tables).

:func:`bind` rewrites each such reference in the parsed statement to a plain table name
(``silver."orders@<snapshot id>"``, ``silver."orders$files"``) and returns the catalog entries
for those names, so the guard checks them like any catalog table. :func:`resolve` turns an
Iceberg catalog entry into DuckDB SQL: ``read_parquet`` over the *literal list* of the
snapshot's live data files (never a glob, so files a concurrent writer adds or a later snapshot
drops are irrelevant), or a ``values`` list for a metadata table.

Tenant scoping, as for every other table, is by value: the tables are partitioned by
``bucket(N, tenant_id)``, so a file holds several tenants' rows. A tenant session plans its
files as Athena plans ``where tenant_id = X`` (the predicate projected through the partition
spec to one bucket, then the files' min/max of ``tenant_id``), filters the rows by ``tenant_id``
in DuckDB, and may read only those files after lock-down. ``$files`` and ``$partitions`` show a
tenant only the files and buckets that hold its rows, with its own row counts; the figures of a
whole file or bucket (sizes, per-column counts and bounds) count other tenants' rows and are
NULL for a tenant. ``$snapshots`` and ``$history`` list every snapshot (ids and commit times are
needed for time travel and reveal nothing about other tenants), but for a tenant
``$snapshots.summary`` and ``manifest_list`` are NULL: the summary holds table-wide totals
(records, files, changed partitions) that count other tenants' data.

The jobs' ``MERGE`` writes merge-on-read: a changed row is marked deleted in a position delete
file (Iceberg v2) instead of its data file being rewritten. The local engine applies those
deletes exactly as Athena engine v3 does natively: every data file is read with its row
positions and the (file, position) pairs of the delete files that apply to it (matched by
pyiceberg's planner, sequence numbers included) are removed with an anti-join
(:func:`lakehouse.athena.iceberg_plan.read_sql`), for the current snapshot, time travel and a
tenant's scoped read alike. Equality deletes, which no job writes, are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from pyiceberg.manifest import DataFileContent
from pyiceberg.table import StaticTable
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.types import IcebergType, NestedField
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from lakehouse.athena import iceberg_plan
from lakehouse.athena.errors import AthenaQueryError
from lakehouse.athena.views import Source, ident, lit, literal_path
from lakehouse.catalog import iceberg
from lakehouse.catalog.store import DATABASES, Catalog, CatalogColumn, CatalogTable

FORMAT = iceberg.FORMAT
METADATA_TABLES = ("snapshots", "history", "files", "partitions")
# Keys of a derived catalog entry's ``serde``: which snapshot, which metadata table.
SNAPSHOT_KEY = iceberg_plan.SNAPSHOT_KEY
METADATA_KEY = iceberg_plan.METADATA_KEY
BASE_KEY = iceberg_plan.BASE_KEY


def is_iceberg(table: CatalogTable) -> bool:
    return table.format == FORMAT


# -- binding references in a statement ---------------------------------------------------


# What a time-travel expression may hold: literals, casts, intervals, +/- and the current time.
# It is evaluated apart from the statement (the guard never sees it), so nothing else is let in.
_CONSTANT_NODES: tuple[type[exp.Expr], ...] = (
    exp.Literal,
    exp.Cast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Interval,
    exp.Var,
    exp.Add,
    exp.Sub,
    exp.Neg,
    exp.Paren,
    exp.CurrentTimestamp,
    exp.CurrentDate,
    exp.Localtimestamp,
    exp.FromISO8601Timestamp,
)


def _constant(expression: exp.Expr, what: str) -> exp.Expr:
    for node in expression.walk():
        if not isinstance(node, _CONSTANT_NODES):
            raise AthenaQueryError(
                "INVALID_ARGUMENTS",
                f"{what} must be a constant expression (a literal, or current_timestamp minus "
                f"an interval), not {expression.sql('athena')[:60]}",
            )
    return expression


def _evaluate_timestamp(expression: exp.Expr) -> datetime:
    """The instant of a ``FOR TIMESTAMP AS OF`` expression, in UTC (Athena's session zone).

    Evaluated on a throwaway DuckDB connection that can reach no file and no setting.
    """
    expression = _constant(expression, "FOR TIMESTAMP AS OF")
    try:
        duck = expression.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise AthenaQueryError("NOT_SUPPORTED", f"FOR TIMESTAMP AS OF: {exc}") from exc
    con = duckdb.connect(":memory:")
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        row = con.execute(f"select cast(({duck}) as timestamptz)").fetchone()
    except duckdb.Error as exc:
        raise AthenaQueryError(
            "INVALID_ARGUMENTS",
            f"FOR TIMESTAMP AS OF needs a timestamp or date ({str(exc).splitlines()[0]})",
        ) from exc
    finally:
        con.close()
    if row is None or not isinstance(row[0], datetime):
        raise AthenaQueryError("INVALID_ARGUMENTS", "FOR TIMESTAMP AS OF evaluated to NULL")
    return row[0]


def _version_value(expression: exp.Expr) -> int | str:
    expression = _constant(expression, "FOR VERSION AS OF")
    if isinstance(expression, exp.Literal):
        if expression.is_string:
            return str(expression.this)
        try:
            return int(str(expression.this))
        except ValueError:
            pass
    if isinstance(expression, exp.Neg) and isinstance(expression.this, exp.Literal):
        return -int(str(expression.this.this))
    raise AthenaQueryError(
        "INVALID_ARGUMENTS",
        "FOR VERSION AS OF takes a snapshot id (a bigint literal) or a branch or tag name "
        f"(a string literal), not {expression.sql('athena')[:60]}",
    )


def _snapshot_of(table: CatalogTable, version: exp.Version) -> tuple[StaticTable, Snapshot]:
    loaded = _load(table)
    kind = str(version.this).upper()
    try:
        if kind == "VERSION":
            return loaded, iceberg.snapshot_by_version(loaded, _version_value(version.expression))
        if kind == "TIMESTAMP":
            when = _evaluate_timestamp(version.expression)
            return loaded, iceberg.snapshot_as_of(loaded, when)
    except iceberg.IcebergError as exc:
        raise AthenaQueryError("INVALID_ARGUMENTS", f"{table.qualified_name}: {exc}") from exc
    raise AthenaQueryError(
        "NOT_SUPPORTED", f"FOR {kind} AS OF is not supported; use FOR VERSION or FOR TIMESTAMP"
    )


def _derived(
    base: CatalogTable, name: str, columns: tuple[CatalogColumn, ...], **serde: str
) -> CatalogTable:
    return replace(
        base,
        name=name,
        columns=columns,
        partition_keys=(),
        partitions=(),
        serde={**base.serde, BASE_KEY: base.name, **serde},
    )


def bind(tree: exp.Expr, catalog: Catalog) -> tuple[exp.Expr, Catalog]:
    """Rewrite time travel and metadata-table references of ``tree`` to derived table names.

    Returns the rewritten copy and a catalog that also holds the derived entries. References
    that are neither are left alone for the guard to check.

    Raises:
        AthenaQueryError: time travel on a table that is not Iceberg (``NOT_SUPPORTED``), an
            unknown snapshot or a time before the first one (``INVALID_ARGUMENTS``).
    """
    tree = tree.copy()
    derived: dict[str, CatalogTable] = {}
    for node in list(tree.find_all(exp.Table)):
        version = node.args.get("version")
        name = node.name
        database = node.db.lower()
        if "$" not in name and version is None:
            continue
        base_name, _, suffix = name.partition("$")
        base = catalog.get(database, base_name) if database in DATABASES else None
        if version is not None:
            if base is None or not is_iceberg(base) or suffix:
                target = f"{database}.{name}" if database else name
                raise AthenaQueryError(
                    "NOT_SUPPORTED",
                    f"FOR {str(version.this).upper()} AS OF needs an Iceberg table; {target} "
                    "is not one (silver and gold are Iceberg tables once the pipeline writes "
                    "them as such)",
                )
            loaded, snapshot = _snapshot_of(base, version)
            columns = iceberg.columns_of(iceberg.schema_of(loaded, snapshot))
            new_name = f"{base.name}@{snapshot.snapshot_id}"
            derived[f"{database}.{new_name}"] = _derived(
                base, new_name, columns, **{SNAPSHOT_KEY: str(snapshot.snapshot_id)}
            )
            alias = node.alias or base.name
            node.set("version", None)
        else:
            if base is None or not is_iceberg(base):
                continue  # the guard reports the unknown table
            kind = suffix.lower()
            if kind not in METADATA_TABLES:
                raise AthenaQueryError(
                    "NOT_SUPPORTED",
                    f'metadata table {database}."{name}" is not available on the local '
                    f"engine; it has {', '.join('$' + k for k in METADATA_TABLES)}",
                )
            new_name = f"{base.name}${kind}"
            derived[f"{database}.{new_name}"] = _derived(
                base, new_name, METADATA_COLUMNS[kind], **{METADATA_KEY: kind}
            )
            alias = node.alias
        node.set("this", exp.to_identifier(new_name, quoted=True))
        if alias:
            node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    if not derived:
        return tree, catalog
    return tree, Catalog(root=catalog.root, tables={**catalog.tables, **derived})


# -- resolving to DuckDB SQL -------------------------------------------------------------


def _load(table: CatalogTable) -> StaticTable:
    try:
        return iceberg.load_table(Path(table.location))
    except iceberg.IcebergError as exc:
        raise AthenaQueryError("ICEBERG_INVALID_METADATA", str(exc)) from exc


def _tenant_column(table: CatalogTable, loaded: StaticTable, tenant_id: str | None) -> str | None:
    """The column a tenant session filters ``table`` by (None without a tenant).

    Raises:
        AthenaQueryError: ``ACCESS_DENIED`` when the table has no tenant column.
    """
    if tenant_id is None:
        return None
    column = table.tenant_column
    if not column or not iceberg.has_column(loaded, column):
        raise AthenaQueryError(
            "ACCESS_DENIED",
            f"{table.qualified_name} has no tenant_id column, so it cannot be scoped to a tenant",
        )
    return column


def _snapshot(table: CatalogTable, loaded: StaticTable) -> Snapshot | None:
    wanted = table.serde.get(SNAPSHOT_KEY)
    if wanted is None:
        return loaded.current_snapshot()
    snapshot = loaded.snapshot_by_id(int(wanted))
    if snapshot is None:
        raise AthenaQueryError(
            "INVALID_ARGUMENTS",
            f"snapshot {wanted} of {table.database}.{table.serde.get(BASE_KEY, table.name)} "
            "was expired while the query ran; run it again",
        )
    return snapshot


def _live(
    table: CatalogTable,
    loaded: StaticTable,
    snapshot: Snapshot | None,
    tenant: tuple[str, str] | None,
) -> list[iceberg.LiveFile]:
    """The snapshot's live files, or those that can hold the tenant's rows (column, id)."""
    try:
        if tenant is None:
            return list(iceberg.live_files(loaded, snapshot))
        return list(iceberg.tenant_files(loaded, snapshot, *tenant))
    except (iceberg.IcebergError, ValueError) as exc:
        code = "ACCESS_DENIED" if tenant else "NOT_SUPPORTED"
        raise AthenaQueryError(code, f"{table.qualified_name}: {exc}") from exc


def plan(table: CatalogTable, tenant_id: str | None) -> iceberg_plan.Plan:
    """The files and columns a read of a table's current snapshot (or of a time-travel
    entry's snapshot) needs, for ``tenant_id`` or every tenant."""
    loaded = _load(table)
    renamed = iceberg.renamed_columns(loaded)
    if renamed:
        raise AthenaQueryError(
            "NOT_SUPPORTED",
            f"{table.qualified_name} has renamed columns ({', '.join(renamed)}); the local "
            "engine reads Parquet columns by name: rewrite the table with --full-refresh",
        )
    snapshot = _snapshot(table, loaded)
    schema = iceberg.schema_of(loaded, snapshot)
    column = _tenant_column(table, loaded, tenant_id)
    scope = None if column is None or tenant_id is None else (column, tenant_id)
    try:
        planned = list(iceberg.scan_files(loaded, snapshot, scope))
    except (iceberg.IcebergError, ValueError) as exc:
        code = "ACCESS_DENIED" if scope else "NOT_SUPPORTED"
        raise AthenaQueryError(code, f"{table.qualified_name}: {exc}") from exc
    files: list[Path] = []
    deletes: dict[str, Path] = {}
    targets: list[tuple[str, Path]] = []
    for task in planned:
        for live in (task.data, *task.deletes):
            if live.file.file_format.name != "PARQUET":
                raise AthenaQueryError(
                    "NOT_SUPPORTED",
                    f"{table.qualified_name}: file {live.file.file_path} is "
                    f"{live.file.file_format.name}; the local engine reads Parquet files",
                )
        path = iceberg_plan.inside(table, task.data.path)
        files.append(path)
        if task.deletes:
            targets.append((task.data.file.file_path, path))
        for delete in task.deletes:
            deletes.setdefault(delete.file.file_path, iceberg_plan.inside(table, delete.path))
    return iceberg_plan.Plan(
        columns=iceberg.columns_of(schema),
        files=tuple(files),
        by_name=iceberg.schema_evolved(loaded),
        deletes=tuple(deletes[k] for k in sorted(deletes)),
        targets=tuple(targets),
    )


def resolve(table: CatalogTable, tenant_id: str | None) -> Source:
    """The DuckDB source of an Iceberg catalog entry: the table, a snapshot, a metadata table."""
    kind = table.serde.get(METADATA_KEY)
    if kind is not None:
        return Source(_metadata_sql(kind, table, _load(table), tenant_id))
    return iceberg_plan.source_of(plan(table, tenant_id), table, tenant_id)


# -- metadata tables ---------------------------------------------------------------------

# Trino's Iceberg connector (Athena engine v3) column names, with Athena types.
METADATA_COLUMNS: dict[str, tuple[CatalogColumn, ...]] = {
    "snapshots": (
        CatalogColumn("committed_at", "timestamp(3) with time zone"),
        CatalogColumn("snapshot_id", "bigint"),
        CatalogColumn("parent_id", "bigint"),
        CatalogColumn("operation", "string"),
        CatalogColumn("manifest_list", "string"),
        CatalogColumn("summary", "map<string,string>"),
    ),
    "history": (
        CatalogColumn("made_current_at", "timestamp(3) with time zone"),
        CatalogColumn("snapshot_id", "bigint"),
        CatalogColumn("parent_id", "bigint"),
        CatalogColumn("is_current_ancestor", "boolean"),
    ),
    "files": (
        CatalogColumn("content", "int"),
        CatalogColumn("file_path", "string"),
        CatalogColumn("file_format", "string"),
        CatalogColumn("record_count", "bigint"),
        CatalogColumn("file_size_in_bytes", "bigint"),
        CatalogColumn("column_sizes", "map<int,bigint>"),
        CatalogColumn("value_counts", "map<int,bigint>"),
        CatalogColumn("null_value_counts", "map<int,bigint>"),
        CatalogColumn("nan_value_counts", "map<int,bigint>"),
        CatalogColumn("lower_bounds", "map<int,string>"),
        CatalogColumn("upper_bounds", "map<int,string>"),
        CatalogColumn("key_metadata", "binary"),
        CatalogColumn("split_offsets", "array<bigint>"),
        CatalogColumn("equality_ids", "array<int>"),
    ),
    # Trino also has a ``data`` column (per-column min/max/null counts per partition); the
    # local engine leaves it out.
    "partitions": (
        CatalogColumn("partition", "struct"),
        CatalogColumn("record_count", "bigint"),
        CatalogColumn("file_count", "bigint"),
        CatalogColumn("total_size", "bigint"),
    ),
}

_DUCK_TYPES = {
    "timestamp(3) with time zone": "TIMESTAMPTZ",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "binary": "BLOB",
    "map<string,string>": "MAP(VARCHAR, VARCHAR)",
    "map<int,bigint>": "MAP(INTEGER, BIGINT)",
    "map<int,string>": "MAP(INTEGER, VARCHAR)",
    "array<bigint>": "BIGINT[]",
    "array<int>": "INTEGER[]",
}


def _duck_type(athena: str) -> str:
    if athena.startswith("decimal"):
        return athena.upper()
    return _DUCK_TYPES.get(athena) or {
        "float": "FLOAT",
        "double": "DOUBLE",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "tinyint": "TINYINT",
        "smallint": "SMALLINT",
    }.get(athena, "VARCHAR")


def _empty_sql(columns: Sequence[CatalogColumn]) -> str:
    cols = ", ".join(f"cast(null as {_duck_type(c.type)}) as {ident(c.name)}" for c in columns)
    return f"select {cols} where false"


class _Raw(str):
    """A literal already in DuckDB syntax (the partition struct of ``$partitions``)."""


def _value(value: Any) -> str:
    """A DuckDB literal of a Python value (the column's cast gives it its exact type)."""
    if isinstance(value, _Raw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return lit(value.isoformat())
    if isinstance(value, bytes):
        return f"unhex({lit(value.hex())})"
    if isinstance(value, dict):
        return "MAP {" + ", ".join(f"{_value(k)}: {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return lit(str(value))


def _values_sql(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> str:
    """``select`` of literal rows; ``columns`` are (name, DuckDB type)."""
    body = [f"({', '.join(_value(v) for v in row)})" for row in rows]
    if not body:
        cols = ", ".join(f"cast(null as {t}) as {ident(n)}" for n, t in columns)
        return f"select {cols} where false"
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    casts = ", ".join(f"cast(c{i} as {t}) as {ident(n)}" for i, (n, t) in enumerate(columns))
    return f"select {casts} from (values {', '.join(body)}) as v({names})"


def _typed(kind: str) -> list[tuple[str, str]]:
    return [(c.name, _duck_type(c.type)) for c in METADATA_COLUMNS[kind]]


def _metadata_sql(
    kind: str, table: CatalogTable, loaded: StaticTable, tenant_id: str | None
) -> str:
    rows: list[tuple[Any, ...]]
    if kind == "snapshots":
        rows = [
            (
                iceberg.snapshot_time(s),
                s.snapshot_id,
                s.parent_snapshot_id,
                s.summary.operation.value if s.summary else None,
                None if tenant_id else s.manifest_list,
                None if tenant_id or s.summary is None else dict(s.summary.additional_properties),
            )
            for s in loaded.snapshots()
        ]
        return _values_sql(_typed(kind), rows)
    if kind == "history":
        ancestors = iceberg.current_ancestor_ids(loaded)
        rows = []
        for entry in loaded.history():
            snap = loaded.snapshot_by_id(entry.snapshot_id)
            rows.append(
                (
                    iceberg.ms_time(entry.timestamp_ms),
                    entry.snapshot_id,
                    snap.parent_snapshot_id if snap else None,
                    entry.snapshot_id in ancestors,
                )
            )
        return _values_sql(_typed(kind), rows)
    column = _tenant_column(table, loaded, tenant_id)
    if column is not None and tenant_id is not None:
        return _tenant_metadata_sql(kind, table, loaded, column, tenant_id)
    live = list(_live(table, loaded, loaded.current_snapshot(), None))
    if kind == "files":
        fields = {f.field_id: f for f in loaded.schema().fields}
        return _values_sql(_typed(kind), [_file_row(f.file, fields) for f in live])
    # partitions: data files only, as Trino counts them.
    groups: dict[str, list[int]] = {}
    for f in live:
        if f.content != DataFileContent.DATA:
            continue
        acc = groups.setdefault(_partition_literal(loaded, f), [0, 0, 0])
        acc[0] += f.file.record_count
        acc[1] += 1
        acc[2] += f.file.file_size_in_bytes
    columns = _typed(kind)
    columns[0] = ("partition", _partition_struct(loaded))
    rows = [(_Raw(key), *acc) for key, acc in sorted(groups.items())]
    return _values_sql(columns, rows)


def _partition_literal(loaded: StaticTable, live: iceberg.LiveFile) -> str:
    """A file's partition as a DuckDB struct literal of the current spec's fields.

    A file written under an older spec (partition evolution) has NULL for the fields it lacks,
    as Trino shows it.
    """
    parts = [f"{lit(p.name)}: {_value(live.partition.get(p.name))}" for p in loaded.spec().fields]
    return "{" + ", ".join(parts) + "}" if parts else "{'dummy': null}"


def _tenant_metadata_sql(
    kind: str, table: CatalogTable, loaded: StaticTable, column: str, tenant_id: str
) -> str:
    """``$files`` or ``$partitions`` as one tenant sees them: its own rows' figures only.

    The files are those that hold the tenant's rows; ``record_count`` counts the tenant's rows
    in each (read from the files, filtered by value), and ``file_count`` the files holding
    them. Whole-file figures (sizes, per-column counts and bounds) would count or name other
    tenants' rows, so they are NULL.
    """
    snapshot = loaded.current_snapshot()
    data: list[tuple[Path, iceberg.LiveFile]] = []
    for live in _live(table, loaded, snapshot, (column, tenant_id)):
        if live.content == DataFileContent.DATA:
            data.append((iceberg_plan.inside(table, live.path), live))
    typed = _typed(kind)
    if kind == "partitions":
        typed[0] = ("partition", _partition_struct(loaded))
    if not data:
        return _values_sql(typed, [])
    by_name = "true" if iceberg.schema_evolved(loaded) else "false"
    counts = (
        f"select filename as path, count(*) as n from read_parquet("
        f"[{', '.join(literal_path(p) for p, _ in data)}], filename = true, "
        f"union_by_name = {by_name}, hive_partitioning = false) "
        f"where {ident(column)} = {lit(tenant_id)} group by filename"
    )
    if kind == "files":
        meta = ", ".join(
            f"({lit(str(p))}, {int(f.file.content)}, {lit(f.file.file_path)}, "
            f"{lit(f.file.file_format.name)})"
            for p, f in data
        )
        wanted = {
            "content": "v.c0",
            "file_path": "v.c1",
            "file_format": "v.c2",
            "record_count": "k.n",
        }
        select = ", ".join(
            f"cast({wanted.get(name, 'null')} as {t}) as {ident(name)}" for name, t in typed
        )
        return (
            f"select {select} from (values {meta}) as v(p, c0, c1, c2) "
            f"join ({counts}) as k on k.path = v.p order by v.c1"
        )
    meta = ", ".join(f"({lit(str(p))}, {_partition_literal(loaded, f)})" for p, f in data)
    (_, struct), (n_records, t_records), (n_files, t_files), (n_size, t_size) = typed
    return (
        f"select cast(v.part as {struct}) as {ident('partition')}, "
        f"cast(sum(k.n) as {t_records}) as {ident(n_records)}, "
        f"cast(count(*) as {t_files}) as {ident(n_files)}, "
        f"cast(null as {t_size}) as {ident(n_size)} "
        f"from (values {meta}) as v(p, part) join ({counts}) as k on k.path = v.p "
        "group by v.part order by cast(v.part as varchar)"
    )


def _partition_struct(loaded: StaticTable) -> str:
    schema = loaded.schema()
    parts = []
    for p in loaded.spec().fields:
        source = schema.find_field(p.source_id)
        result = p.transform.result_type(source.field_type)
        parts.append(f"{ident(p.name)} {_duck_type(iceberg.athena_type(result))}")
    return f"STRUCT({', '.join(parts)})" if parts else "STRUCT(dummy INTEGER)"


def _file_row(data_file: Any, fields: dict[int, NestedField]) -> tuple[Any, ...]:
    def bounds(raw: dict[int, bytes] | None) -> dict[int, str | None] | None:
        if raw is None:
            return None
        out: dict[int, str | None] = {}
        for field_id, value in sorted(raw.items()):
            field = fields.get(field_id)
            field_type: IcebergType | None = field.field_type if field else None
            out[field_id] = iceberg.readable_bound(field_type, value) if field_type else None
        return out

    def counts(raw: dict[int, int] | None) -> dict[int, int] | None:
        return None if raw is None else dict(sorted(raw.items()))

    return (
        int(data_file.content),
        data_file.file_path,
        data_file.file_format.name,
        data_file.record_count,
        data_file.file_size_in_bytes,
        counts(data_file.column_sizes),
        counts(data_file.value_counts),
        counts(data_file.null_value_counts),
        counts(data_file.nan_value_counts),
        bounds(data_file.lower_bounds),
        bounds(data_file.upper_bounds),
        data_file.key_metadata,
        list(data_file.split_offsets) if data_file.split_offsets else None,
        list(data_file.equality_ids) if data_file.equality_ids else None,
    )
