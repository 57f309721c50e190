"""Streaming changes from the slot into CDC files, acknowledging only what is durable.

One :class:`TableBuffer` per table collects CSV lines. All buffers are flushed to files when
the CDC interval elapses, and one buffer alone when it reaches the size threshold. The
position confirmed to the slot is the end of the last transaction none of whose rows is still
in a buffer, so a crash at any moment re-delivers exactly the transactions whose rows might not
be in a durable file, with the same ``dms_change_seq`` values.
"""

from __future__ import annotations

import json
import logging
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from lakehouse_glue.model import BronzeContract

from lakehouse.replicate import pgoutput
from lakehouse.replicate.bronze import (
    _NEEDS_QUOTES,
    Converter,
    NullMarkerCollision,
    cdc_file_name,
    change_seq,
    collisions_in_row,
    converters_for,
    csv_field,
    format_timestamp_us,
    gzip_compressor,
    header_line,
)
from lakehouse.replicate.pgoutput import UNCHANGED, Value
from lakehouse.replicate.source import ReplicationError
from lakehouse.storage import Storage

log = logging.getLogger("lakehouse.replicate")


@dataclass
class TableBuffer:
    """Pending CDC rows of one table, in the column layout of one Relation message."""

    schema: str
    name: str
    columns: tuple[str, ...]
    header: bytes
    converters: list[tuple[int, Converter]]
    lines: list[bytes] = field(default_factory=list)
    size: int = 0
    pending_since: int = 0  # last confirmable LSN before the first buffered row
    oldest_commit_us: int = 0
    newest_commit_us: int = 0


@dataclass
class StreamStats:
    changes: int = 0
    transactions: int = 0
    files: int = 0
    bytes_written: int = 0
    unchanged_filled: int = 0  # unchanged TOAST values taken from the old row image
    collisions: list[NullMarkerCollision] = field(default_factory=list)  # see bronze.py
    last_files: dict[str, str] = field(default_factory=dict)
    confirmed_lsn: int = 0


class CdcWriter:
    """Turns decoded changes into CDC files and tells which LSN is safe to confirm."""

    def __init__(
        self,
        storage: Storage,
        contract: BronzeContract,
        *,
        min_file_bytes: int,
        start_lsn: int,
        last_file_names: dict[str, str] | None = None,
        on_flush: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.storage = storage
        self.contract = contract
        self.min_file_bytes = min_file_bytes
        self.relations: dict[int, TableBuffer] = {}
        self.by_table: dict[tuple[str, str], TableBuffer] = {}
        self.last_commit_end = start_lsn
        self.last_commit_us = 0
        self.in_txn = False
        self._txn_lsn = 0
        self._txn_ts = b""
        self._txn_us = 0
        self._pos = 0
        self._last_names = dict(last_file_names or {})
        self._on_flush = on_flush
        self.stats = StreamStats()
        self._op = {
            "I": contract.op_insert.encode(),
            "U": contract.op_update.encode(),
            "D": contract.op_delete.encode(),
        }
        self._nl = contract.csv_row_delimiter.encode()
        self._null = contract.csv_null_value.encode()

    # -- messages ---------------------------------------------------------------------------
    def handle(self, payload: bytes) -> None:
        """Apply one pgoutput message."""
        msg = pgoutput.decode(payload)
        if isinstance(msg, pgoutput.Change):
            self._change(msg)
        elif isinstance(msg, pgoutput.Begin):
            self.in_txn = True
            self._txn_lsn = msg.final_lsn
            self._txn_us = msg.commit_time_us
            self._txn_ts = format_timestamp_us(msg.commit_time_us)
            self._pos = 0
        elif isinstance(msg, pgoutput.Commit):
            self.in_txn = False
            self.last_commit_end = msg.end_lsn
            self.last_commit_us = msg.commit_time_us
            self.stats.transactions += 1
        elif isinstance(msg, pgoutput.Relation):
            self._relation(msg)
        elif isinstance(msg, pgoutput.Truncate):
            known = [self.relations.get(oid) for oid in msg.relation_oids]
            names = ", ".join(f"{b.schema}.{b.name}" for b in known if b is not None)
            # DMS's CSV has no operation for it, and going on would leave bronze silently
            # different from the source: stop before confirming it, like a lost slot.
            raise ReplicationError(
                f"the source ran TRUNCATE on {names or 'published tables'}, which bronze cannot "
                "express. Run 'lakehouse replicate --resync' to reload every table, then the "
                "pipeline with full_refresh=true (or keep TRUNCATE out of the publication: "
                "publish = 'insert, update, delete')"
            )

    def _relation(self, rel: pgoutput.Relation) -> None:
        key = (rel.schema, rel.name)
        current = self.by_table.get(key)
        if current is not None and current.columns == rel.columns:
            if current.converters != converters_for(rel.type_oids):
                current.converters = converters_for(rel.type_oids)
            self.relations[rel.oid] = current
            return
        # Parity with DMS: pgoutput describes the new layout in-stream, so an added column shows up
        # here at once. DMS, deployed with CaptureDdls=false (terraform-infra/modules/dms), has
        # none of its DDL capture artifacts on the source (the awsdms_ddl_audit table and its
        # event trigger, which are how it captures PostgreSQL DDL), so it is not told of an ALTER
        # TABLE during CDC and an added column does not reach bronze until the table is reloaded.
        # See lakehouse/replicate/README.md ("Schema changes") for the sources and the procedure.
        if current is not None and current.lines:
            # The schema changed: close the file in the old layout before the new one starts.
            self.flush_table(current)
        buf = TableBuffer(
            schema=rel.schema,
            name=rel.name,
            columns=rel.columns,
            header=header_line(self.contract, rel.columns),
            converters=converters_for(rel.type_oids),
        )
        self.by_table[key] = buf
        self.relations[rel.oid] = buf

    def _change(self, ch: pgoutput.Change) -> None:
        buf = self.relations.get(ch.relation_oid)
        if buf is None:
            raise ReplicationError(
                f"a change for relation {ch.relation_oid} arrived before its description; "
                "the stream is inconsistent, restart the replicator"
            )
        self._pos += 1
        values: list[Value] | None
        if ch.kind == "D":
            values = ch.old
            if ch.old_is_key_only:
                raise ReplicationError(
                    f"a delete on {buf.schema}.{buf.name} carried only the key; the table needs "
                    "REPLICA IDENTITY FULL, then 'lakehouse replicate --resync'"
                )
        else:
            values = ch.new
        assert values is not None
        if ch.kind == "U" and UNCHANGED in values:
            old = ch.old
            if old is None or ch.old_is_key_only:
                raise ReplicationError(
                    f"an update on {buf.schema}.{buf.name} left a large value unsent and no "
                    "old row image came with it; set REPLICA IDENTITY FULL on the table, then "
                    "'lakehouse replicate --resync'"
                )
            self.stats.unchanged_filled += values.count(UNCHANGED)
            values = [o if v is UNCHANGED else v for v, o in zip(values, old, strict=True)]
        # No UNCHANGED is left: every value is now bytes or None.
        row = cast("list[bytes | None]", values)
        for i, conv in buf.converters:
            v = row[i]
            if v is not None:
                row[i] = conv(v)
        # csv_field inlined: this runs for every value of every change.
        search = _NEEDS_QUOTES.search
        null = self._null
        if null in row:  # a text equal to the NULL marker: quoted as COPY does, and reported
            found = collisions_in_row(f"{buf.schema}.{buf.name}", buf.columns, row, null, "change")
            for c in found:
                log.warning(json.dumps({"event": "null_marker_collision", **c.__dict__}))
            self.stats.collisions += found
            fields = [b'"' + v + b'"' if v == null else csv_field(v, null) for v in row]
        else:
            fields = [
                (b'"' + v.replace(b'"', b'""') + b'"' if search(v) else v)
                if v
                else null
                if v is None
                else b""
                for v in row
            ]
        line = b",".join(
            [
                self._op[ch.kind],
                self._txn_ts,
                *fields,
                change_seq(self.contract, self._txn_lsn, self._pos),
            ]
        )
        line += self._nl
        if not buf.lines:
            buf.pending_since = self.last_commit_end
            buf.oldest_commit_us = self._txn_us
        buf.newest_commit_us = self._txn_us
        buf.lines.append(line)
        buf.size += len(line)
        self.stats.changes += 1
        if buf.size >= self.min_file_bytes:
            self.flush_table(buf)

    # -- files ------------------------------------------------------------------------------
    def _next_name(self, buf: TableBuffer) -> str:
        key = f"{buf.schema}.{buf.name}"
        now = datetime.now(UTC)
        name = cdc_file_name(self.contract, now)
        last = self._last_names.get(key)
        while last is not None and name <= last:
            # Two flushes within one microsecond, or a clock step back: names stay increasing.
            now += timedelta(microseconds=1)
            name = cdc_file_name(self.contract, now)
        self._last_names[key] = name
        return name

    def flush_table(self, buf: TableBuffer) -> None:
        """Write the buffered rows of one table as one durable CDC file."""
        if not buf.lines:
            return
        name = self._next_name(buf)
        folder = self.contract.table_folder(buf.schema, buf.name)
        gz = gzip_compressor()
        data = gz.compress(buf.header + b"".join(buf.lines)) + gz.flush()
        with self.storage.open_atomic(f"{folder}/{name}") as w:
            w.write(data)
        rows = len(buf.lines)
        now_us = time.time_ns() // 1000
        event = {
            "event": "cdc_file",
            "table": f"{buf.schema}.{buf.name}",
            "file": name,
            "rows": rows,
            "bytes": len(data),
            "csv_bytes": buf.size,
            "lag_seconds": round((now_us - buf.oldest_commit_us) / 1e6, 3),
        }
        log.info(json.dumps(event))
        self.stats.files += 1
        self.stats.bytes_written += len(data)
        self.stats.last_files[f"{buf.schema}.{buf.name}"] = name
        buf.lines = []
        buf.size = 0
        if self._on_flush:
            self._on_flush(event)

    def flush_all(self) -> bool:
        """Flush every non-empty buffer; True when any file was written."""
        wrote = False
        for buf in self.by_table.values():
            if buf.lines:
                self.flush_table(buf)
                wrote = True
        return wrote

    def confirmable_lsn(self) -> int:
        """The highest LSN all of whose changes are in durable files."""
        lsn = self.last_commit_end
        for buf in self.by_table.values():
            if buf.lines and buf.pending_since < lsn:
                lsn = buf.pending_since
        return lsn

    @property
    def pending(self) -> bool:
        return any(b.lines for b in self.by_table.values())


@dataclass
class StreamResult:
    stats: StreamStats
    stopped_at: int
    reason: str


class _Loop:
    """The state of one :func:`stream` call: what is confirmed and when the timers are due."""

    def __init__(
        self,
        cursor: Any,
        writer: CdcWriter,
        *,
        interval_seconds: float,
        until_lsn: int | None,
        on_confirm: Callable[[int], None] | None,
        on_tick: Callable[[], None] | None,
        tick_seconds: float,
    ) -> None:
        self.cursor = cursor
        self.writer = writer
        self.interval_seconds = interval_seconds
        self.until_lsn = until_lsn
        self.on_confirm = on_confirm
        self.on_tick = on_tick
        self.tick_seconds = tick_seconds
        self.confirmed = 0
        self.next_flush = time.monotonic() + interval_seconds
        self.next_tick = time.monotonic() + tick_seconds
        self.last_ping = 0.0

    def run(self, should_stop: Callable[[], bool]) -> str:
        """Consume messages until caught up or told to stop; returns the reason."""
        read = self.cursor.read_message
        handle = self.writer.handle
        while True:
            msg = read()
            if msg is not None:
                handle(msg.payload)
                now = time.monotonic()
                if now < self.next_flush:
                    continue
            else:
                now = time.monotonic()
            if now >= self.next_flush:
                self.writer.flush_all()
                self.confirm()
                self.next_flush = now + self.interval_seconds
                if should_stop():
                    return "stopped"
            if self.on_tick is not None and now >= self.next_tick:
                self.on_tick()
                self.next_tick = now + self.tick_seconds
            if msg is not None:
                continue
            reason = self.idle(now, should_stop)
            if reason is not None:
                return reason

    def idle(self, now: float, should_stop: Callable[[], bool]) -> str | None:
        """No message waiting: confirm, stop if done, else wait briefly for the next one."""
        self.confirm(idle=True)
        if self.caught_up():
            return "caught_up"
        if should_stop():
            return "stopped"
        if self.until_lsn is not None and now - self.last_ping > 0.2:
            # Ask for a keepalive: it carries the server's sent position, which tells an
            # idle stream that it has caught up with ``until_lsn``.
            self.cursor.send_feedback(reply=True, force=True)
            self.last_ping = now
        timeout = max(0.0, min(self.next_flush - now, 0.1))
        select.select([self.cursor.connection], [], [], timeout)
        return None

    def confirm(self, force: bool = False, idle: bool = False) -> None:
        writer, cursor = self.writer, self.cursor
        lsn = writer.confirmable_lsn()
        if idle and not writer.in_txn and not writer.pending:
            # Between transactions with nothing buffered, everything the server has sent is in
            # durable files, so the position of its last message (a keepalive's sent position)
            # can be confirmed: WAL that the publication does not care about is released.
            lsn = max(lsn, int(cursor.wal_end))
        if lsn > self.confirmed or force:
            self.confirmed = max(self.confirmed, lsn)
            cursor.send_feedback(
                write_lsn=max(self.confirmed, cursor.wal_end if not writer.pending else 0),
                flush_lsn=self.confirmed,
                apply_lsn=self.confirmed,
                force=True,
            )
            writer.stats.confirmed_lsn = self.confirmed
            if self.on_confirm:
                self.on_confirm(self.confirmed)

    def caught_up(self) -> bool:
        if self.until_lsn is None or self.writer.in_txn:
            return False
        return (
            self.writer.last_commit_end >= self.until_lsn
            or int(self.cursor.wal_end) >= self.until_lsn
        )


def stream(
    cursor: Any,
    writer: CdcWriter,
    *,
    interval_seconds: float,
    until_lsn: int | None,
    should_stop: Callable[[], bool],
    on_confirm: Callable[[int], None] | None = None,
    on_tick: Callable[[], None] | None = None,
    tick_seconds: float = 30.0,
) -> StreamResult:
    """Consume the replication stream of a started psycopg2 replication ``cursor``.

    Args:
        cursor: a psycopg2 ``ReplicationCursor`` after ``start_replication(decode=False)``.
        writer: where changes go.
        interval_seconds: the CDC flush interval.
        until_lsn: stop once every transaction committed before this position is durable
            (``--once``); ``None`` streams until ``should_stop()``.
        should_stop: polled between messages; True ends the stream cleanly.
        on_confirm: called with each newly confirmed LSN.
        on_tick: called every ``tick_seconds`` (WAL retention checks).
        tick_seconds: period of ``on_tick``.
    """
    loop = _Loop(
        cursor,
        writer,
        interval_seconds=interval_seconds,
        until_lsn=until_lsn,
        on_confirm=on_confirm,
        on_tick=on_tick,
        tick_seconds=tick_seconds,
    )
    reason = loop.run(should_stop)
    writer.flush_all()
    loop.confirm(force=True)
    return StreamResult(writer.stats, loop.confirmed, reason)
