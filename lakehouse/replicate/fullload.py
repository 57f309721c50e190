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
from psycopg.rows import TupleRow

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


class _LoadFiles:
    """The LOAD files of one table: rows gathered into chunks, gzip-compressed, and a new file
    (with the header again) started before a row would take a file past ``max_file_bytes``.

    Every file is written atomically; :meth:`abort` discards the one being written.
    """

    def __init__(
        self,
        table: PublishedTable,
        storage: Storage,
        contract: BronzeContract,
        max_file_bytes: int,
        header: bytes,
    ) -> None:
        self.table = table
        self.storage = storage
        self.contract = contract
        self.folder = contract.table_folder(table.schema, table.name)
        self.max_file_bytes = max_file_bytes
        self.header = header
        self.null = contract.csv_null_value.encode()
        self.quoted_null = b'"' + self.null + b'"'
        self.files: list[str] = []
        self.collisions: list[NullMarkerCollision] = []
        self.rows = 0
        self.written = 0
        self._writer: AtomicWriter | None = None
        self._gz = gzip_compressor()
        self._chunk: list[Buffer] = []
        self._chunk_bytes = 0
        self._file_bytes = 0
        self._file_rows = 0

    def add(self, data: Buffer) -> bool:
        """Add one CSV row; True when a chunk was compressed (a moment to report progress)."""
        n = len(data)
        if self._writer is None or (self._file_rows and self._file_bytes + n > self.max_file_bytes):
            self._next_file()
        self._chunk.append(data)
        self._chunk_bytes += n
        self._file_bytes += n
        self._file_rows += 1
        self.rows += 1
        if self._chunk_bytes >= _CHUNK_BYTES:
            self._flush_chunk()
            return True
        return False

    def close(self) -> None:
        """Finish the file being written (compressed tail, then the atomic commit)."""
        self._flush_chunk()
        if self._writer is not None:
            self._write(self._gz.flush())
            self._writer.commit()
            self._writer = None
            self._gz = gzip_compressor()

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def _next_file(self) -> None:
        self.close()
        self.files.append(self.contract.full_load_file_name(len(self.files) + 1))
        self._writer = self.storage.open_atomic(f"{self.folder}/{self.files[-1]}")
        self._chunk, self._chunk_bytes = [self.header], len(self.header)
        self._file_bytes, self._file_rows = len(self.header), 0

    def _write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        self.written += len(data)

    def _flush_chunk(self) -> None:
        if self._writer is not None and self._chunk:
            joined = b"".join(self._chunk)
            if self.quoted_null in joined:
                chunk = self._chunk
                self._find_collisions(chunk[1:] if chunk[0] is self.header else chunk)
            self._write(self._gz.compress(joined))
        self._chunk = []
        self._chunk_bytes = 0

    def _find_collisions(self, rows: list[Buffer]) -> None:
        # Rare: only for a chunk that holds the quoted marker somewhere.
        columns = [c.name for c in self.table.columns]
        for row in rows:
            line = bytes(row)
            if self.quoted_null in line:
                # An unquoted marker is a NULL; a quoted one is the text.
                fields = split_fields(line)[2:-1]
                values = [None if v == self.null and not q else v for v, q in fields]
                self.collisions.extend(
                    collisions_in_row(self.table.qualified, columns, values, self.null, "full load")
                )


def _begin_snapshot(
    conn: psycopg.Connection[TupleRow], snapshot: str, table: PublishedTable
) -> int:
    """Open a read-only transaction on ``snapshot``; return how many rows ``table`` holds."""
    conn.execute("begin isolation level repeatable read, read only")
    conn.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))
    # The text forms of dates and numbers must not depend on the server's defaults.
    conn.execute("set local datestyle = 'ISO, YMD'")
    conn.execute("set local timezone = 'UTC'")
    conn.execute("set local extra_float_digits = 1")
    count_row = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(table.schema, table.name))
    ).fetchone()
    return int(str(count_row[0])) if count_row else 0


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
    with psycopg.connect(dsn, autocommit=True) as conn:
        total = _begin_snapshot(conn, snapshot, table)
        if progress:
            progress(table.name, 0, total)
        if total == 0:
            conn.execute("commit")
            return TableCopy(table.name, 0, [], 0)
        with conn.cursor() as cur, cur.copy(_copy_sql(table, task_start, contract)) as copy:
            # One CopyData message per row; read() (not iteration) and no copies: this loop
            # runs for every row of the database.
            read = copy.read
            out = _LoadFiles(table, storage, contract, max_file_bytes, bytes(read()))  # header
            try:
                add = out.add
                while data := read():
                    if add(data) and progress:
                        progress(table.name, out.rows, total)
                out.close()
            finally:
                out.abort()
        conn.execute("commit")
    if progress:
        progress(table.name, out.rows, total)
    return TableCopy(table.name, out.rows, out.files, out.written, out.collisions)


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
