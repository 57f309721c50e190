"""The full load: every published table copied under the snapshot exported with the slot.

PostgreSQL itself writes the CSV (``COPY (select ...) TO STDOUT (FORMAT csv, HEADER, NULL
'<marker>')``), with select expressions that give each type its contract text form; COPY writes
NULL as the contract's marker and quotes a text equal to it, which is how a collision is found
here (one bytes search per row) and reported; the replicator only adds the
gzip and splits large tables into ``LOAD00000001.csv.gz``, ``LOAD00000002.csv.gz``... at the
contract's size limit (uncompressed CSV bytes, as DMS's MaxFileSize), each file with a header.
Tables are copied by a few workers in parallel, each importing the same snapshot, so that all
tables show the database as of the instant the slot was created.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from lakehouse_glue.model import BronzeContract
from psycopg import sql
from psycopg.abc import Buffer

from lakehouse.replicate.bronze import (
    NullMarkerCollision,
    collisions_in_row,
    full_load_seq,
    gzip_compressor,
    select_expression,
    split_fields,
)
from lakehouse.replicate.source import PublishedTable, ReplicationError
from lakehouse.storage import AtomicWriter, Storage

# Rows are gathered into chunks of about this size before compressing (fewer zlib calls).
_CHUNK_BYTES = 1 << 20

ProgressCallback = Callable[[str, int, int], None]  # table, rows just copied, total rows


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    files: list[str]
    bytes_written: int
    collisions: list[NullMarkerCollision] = field(default_factory=list)


def _copy_sql(table: PublishedTable, task_start: str, contract: BronzeContract) -> sql.Composed:
    fields: list[sql.Composable] = [
        sql.SQL("{} as {}").format(
            sql.Literal(contract.op_insert), sql.Identifier(contract.op_column)
        ),
        sql.SQL("{} as {}").format(
            sql.Literal(task_start), sql.Identifier(contract.timestamp_column_name)
        ),
    ]
    for col in table.columns:
        fields.append(
            sql.SQL("{} as {}").format(
                select_expression(col.name, col.type_name), sql.Identifier(col.name)
            )
        )
    # Empty (see full_load_seq): a NULL, which COPY writes as the NULL marker.
    fields.append(
        sql.SQL("{}::text as {}").format(
            sql.Literal(full_load_seq(contract) or None), sql.Identifier(contract.change_seq_column)
        )
    )
    return sql.SQL(
        "copy (select {} from {}) to stdout with (format csv, header true, null {})"
    ).format(
        sql.SQL(", ").join(fields),
        sql.Identifier(table.schema, table.name),
        sql.Literal(contract.csv_null_value),
    )


def copy_table(
    dsn: str,
    snapshot: str,
    table: PublishedTable,
    storage: Storage,
    contract: BronzeContract,
    task_start: str,
    max_file_bytes: int,
    progress: ProgressCallback | None = None,
) -> TableCopy:
    """Copy one table under ``snapshot`` into its LOAD files; returns what was written."""
    folder = contract.table_folder(table.schema, table.name)
    files: list[str] = []
    collisions: list[NullMarkerCollision] = []
    null = contract.csv_null_value.encode()
    quoted_null = b'"' + null + b'"'
    columns = [c.name for c in table.columns]
    rows = 0
    written = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("begin isolation level repeatable read, read only")
        conn.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))
        # The text forms of dates and numbers must not depend on the server's defaults.
        conn.execute("set local datestyle = 'ISO, YMD'")
        conn.execute("set local timezone = 'UTC'")
        conn.execute("set local extra_float_digits = 1")
        count_row = conn.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(table.schema, table.name))
        ).fetchone()
        total = int(str(count_row[0])) if count_row else 0
        if progress:
            progress(table.name, 0, total)
        if total == 0:
            conn.execute("commit")
            return TableCopy(table.name, 0, [], 0)
        writer: AtomicWriter | None = None
        gz = gzip_compressor()
        header = b""
        chunk: list[Buffer] = []
        chunk_bytes = 0
        file_bytes = 0
        file_rows = 0

        def find_collisions(rows: list[Buffer]) -> None:
            # Rare: only for a chunk that holds the quoted marker somewhere.
            for row in rows:
                line = bytes(row)
                if quoted_null in line:
                    # An unquoted marker is a NULL; a quoted one is the text.
                    fields = split_fields(line)[2:-1]
                    values = [None if v == null and not q else v for v, q in fields]
                    collisions.extend(
                        collisions_in_row(table.qualified, columns, values, null, "full load")
                    )

        def flush_chunk() -> None:
            nonlocal chunk, chunk_bytes, written
            if writer is not None and chunk:
                joined = b"".join(chunk)
                if quoted_null in joined:
                    find_collisions(chunk[1:] if chunk[0] is header else chunk)
                out = gz.compress(joined)
                writer.write(out)
                written += len(out)
            chunk = []
            chunk_bytes = 0

        def close_file() -> None:
            nonlocal writer, gz, written
            flush_chunk()
            if writer is not None:
                out = gz.flush()
                writer.write(out)
                written += len(out)
                writer.commit()
                writer = None
                gz = gzip_compressor()

        try:
            with conn.cursor() as cur, cur.copy(_copy_sql(table, task_start, contract)) as copy:
                # One CopyData message per row; read() (not iteration) and no copies: this loop
                # runs for every row of the database.
                read = copy.read
                header = bytes(read())  # the first message is the header row
                while data := read():
                    n = len(data)
                    if writer is None or (file_rows and file_bytes + n > max_file_bytes):
                        close_file()
                        files.append(contract.full_load_file_name(len(files) + 1))
                        writer = storage.open_atomic(f"{folder}/{files[-1]}")
                        chunk, chunk_bytes = [header], len(header)
                        file_bytes, file_rows = len(header), 0
                    chunk.append(data)
                    chunk_bytes += n
                    file_bytes += n
                    file_rows += 1
                    rows += 1
                    if chunk_bytes >= _CHUNK_BYTES:
                        flush_chunk()
                        if progress:
                            progress(table.name, rows, total)
            close_file()
        finally:
            if writer is not None:
                writer.abort()
        conn.execute("commit")
    if progress:
        progress(table.name, rows, total)
    return TableCopy(table.name, rows, files, written, collisions)


def full_load(
    dsn: str,
    snapshot: str,
    tables: list[PublishedTable],
    storage: Storage,
    contract: BronzeContract,
    task_start: str,
    *,
    max_file_bytes: int,
    workers: int = 2,
    progress: ProgressCallback | None = None,
) -> list[TableCopy]:
    """Copy all ``tables`` in parallel under one exported snapshot, largest first."""
    tables = sorted(tables, key=lambda t: -t.size_bytes)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [
            pool.submit(
                copy_table,
                dsn,
                snapshot,
                t,
                storage,
                contract,
                task_start,
                max_file_bytes,
                progress,
            )
            for t in tables
        ]
        results: list[TableCopy] = []
        for t, f in zip(tables, futures, strict=True):
            try:
                results.append(f.result())
            except psycopg.Error as exc:
                raise ReplicationError(
                    f"the full load of {t.qualified} failed: {str(exc).strip()}; nothing was "
                    "acknowledged, run the replicator again to restart the full load"
                ) from exc
    return results
