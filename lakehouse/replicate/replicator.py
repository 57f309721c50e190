"""The local DMS task: full load under the slot's exported snapshot, then change streaming.

Order of events on a fresh target (each step safe to crash in):

1. checks (server, role, publication, tables, target writable) - nothing touched yet;
2. ``replication.json`` written with the task start time, status ``in_progress``;
3. slot created with ``EXPORT_SNAPSHOT``; every table copied under that snapshot;
4. ``replication.json`` marked ``complete`` - only now does the target count as loaded;
5. streaming from the slot; the slot's confirmed position moves only past durable files.

A crash before step 4 makes the next start drop the half-made slot and redo the full load (the
LOAD files are rewritten under the same names). After step 4 the slot is the authority: a
restart resumes from its confirmed position.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg2
import psycopg2.extras
from lakehouse_glue.model import BronzeContract, load_bronze_contract

from lakehouse.config import Settings, get_settings
from lakehouse.replicate.bronze import NullMarkerCollision, format_datetime
from lakehouse.replicate.fullload import ProgressCallback, TableCopy, full_load
from lakehouse.replicate.pgoutput import format_lsn, parse_lsn
from lakehouse.replicate.source import (
    PublishedTable,
    ReplicationError,
    SlotInfo,
    check_server,
    check_slot_usable,
    connect,
    current_wal_lsn,
    database_name,
    drop_slot,
    has_changes_waiting,
    published_tables,
    slot_info,
    wal_position_at_start,
)
from lakehouse.replicate.state import (
    PROGRESS_PATH,
    STATE_PATH,
    ReplicationState,
    TableLoad,
    load_state,
    save_progress,
    save_state,
)
from lakehouse.replicate.stream import CdcWriter, StreamStats, stream
from lakehouse.storage import Storage, open_storage

log = logging.getLogger("lakehouse.replicate")

# Session settings of the replication connection: the values pgoutput sends are the types'
# text output in the walsender's session, so pin the settings that shape them.
_STREAM_SESSION_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=1"


@dataclass(frozen=True)
class ReplicationOptions:
    """Everything one replication task needs; :meth:`from_settings` fills it from Settings."""

    dsn: str
    target: str
    slot_name: str
    publication: str
    interval_seconds: float
    min_file_bytes: int
    full_load_max_file_bytes: int
    full_load_workers: int = 2
    wal_warn_bytes: int = 1 << 30
    slot_busy_wait_seconds: float = 5.0

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, target: str | None = None, **overrides: Any
    ) -> ReplicationOptions:
        from lakehouse.db.source import database_url

        settings = settings or get_settings()
        contract = load_bronze_contract()
        min_kb = settings.cdc_min_file_size_kb or contract.cdc_min_file_size_kb
        values: dict[str, Any] = {
            "dsn": overrides.pop("dsn", None) or database_url(settings, "replicator"),
            "target": target or settings.bronze_uri,
            "slot_name": settings.slot_name,
            "publication": settings.publication,
            "interval_seconds": settings.cdc_interval_seconds,
            "min_file_bytes": min_kb * 1024,
            "full_load_max_file_bytes": contract.full_load_max_file_size_kb * 1024,
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class RunSummary:
    target: str
    full_load: list[TableCopy] | None
    stats: StreamStats
    confirmed_lsn: str
    reason: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def collisions(self) -> list[NullMarkerCollision]:
        """Source texts equal to the NULL marker met by this run (they read as NULL)."""
        loaded = [c for t in self.full_load or [] for c in t.collisions]
        return loaded + self.stats.collisions


def check_null_marker(state: ReplicationState, contract: BronzeContract, target: str) -> None:
    """Refuse to append to bronze written with another NULL marker than the contract's.

    Files written each way would read differently (an empty field is NULL in one and '' in the
    other), so the target is rebuilt instead: a new full load, then a full refresh of silver.
    """
    if state.csv_null_value == contract.csv_null_value:
        return
    old = repr(state.csv_null_value) if state.csv_null_value else "an empty field"
    raise ReplicationError(
        f"the bronze files under {target} were written with NULL as {old}, but the bronze "
        f"contract now writes NULL as {contract.csv_null_value!r} (csv_null_value); appending "
        "would mix the two. Rebuild bronze with 'lakehouse replicate --resync' (a new full "
        "load), then 'lakehouse pipeline run --full-refresh'"
    )


def _table_folder(contract: BronzeContract, t: PublishedTable) -> str:
    return contract.table_folder(t.schema, t.name)


def last_cdc_files(
    storage: Storage, contract: BronzeContract, tables: list[PublishedTable]
) -> dict[str, str]:
    """The newest CDC file name of each table ("schema.table" -> name)."""
    out: dict[str, str] = {}
    for t in tables:
        names = [
            n
            for n in storage.list_files(_table_folder(contract, t))
            if n.endswith(contract.file_suffix) and not contract.is_full_load_file(n)
        ]
        if names:
            out[t.qualified] = max(names)
    return out


def _clear_tables(storage: Storage, contract: BronzeContract, tables: list[PublishedTable]) -> None:
    for t in tables:
        folder = _table_folder(contract, t)
        for name in storage.list_files(folder):
            storage.delete(f"{folder}/{name}")


class Replicator:
    """One replication task from the source database into one bronze target."""

    def __init__(
        self,
        options: ReplicationOptions,
        *,
        progress: ProgressCallback | None = None,
        storage: Storage | None = None,
    ) -> None:
        self.options = options
        self.contract = load_bronze_contract()
        self.progress = progress
        self.storage = storage or open_storage(options.target)

    def run(
        self,
        *,
        once: bool,
        resync: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        on_stream_start: Callable[[], None] | None = None,
    ) -> RunSummary:
        """Full load if needed, then stream (until caught up when ``once``)."""
        self._on_stream_start = on_stream_start
        opts = self.options
        storage = self.storage
        storage.check_writable()
        with contextlib.closing(connect(opts.dsn)) as conn:
            check_server(conn)
            tables = published_tables(conn, opts.publication)
            db = database_name(conn)
            state = load_state(storage)
            slot = self._slot_when_idle(conn)
            if resync:
                drop_slot(conn, opts.slot_name)
                _clear_tables(storage, self.contract, tables)
                storage.delete(STATE_PATH)
                storage.delete(PROGRESS_PATH)
                state, slot = None, None
            if state is not None and (state.slot_name != opts.slot_name or state.database != db):
                raise ReplicationError(
                    f"the target {storage.uri} was written by slot {state.slot_name!r} of "
                    f"database {state.database!r}, not slot {opts.slot_name!r} of {db!r}; use "
                    "the same settings, another target, or 'lakehouse replicate --resync'"
                )
            need_full_load = state is None or not state.full_load_complete
            if not need_full_load and state is not None:
                check_null_marker(state, self.contract, storage.uri)
            if need_full_load and slot is not None:
                if state is None:
                    raise ReplicationError(
                        f"the replication slot {opts.slot_name!r} already exists but the target "
                        f"{storage.uri} has no replication state, so the slot's position means "
                        "nothing for it. Run 'lakehouse replicate --resync' to drop the slot and "
                        "reload, or choose another slot name (LAKEHOUSE_SLOT)"
                    )
                # A full load that crashed: its snapshot is gone, start it over.
                drop_slot(conn, opts.slot_name)
            elif not need_full_load:
                if slot is None:
                    raise ReplicationError(
                        f"the replication slot {opts.slot_name!r} is gone, but the target "
                        f"{storage.uri} was loaded from it: changes since then are lost. Run "
                        "'lakehouse replicate --resync' to reload every table from a new "
                        "snapshot, then run the pipeline with full_refresh=true"
                    )
                check_slot_usable(slot, db)
            return self._replicate(conn, tables, db, state, need_full_load, once, should_stop)

    def _slot_when_idle(self, conn: Any) -> SlotInfo | None:
        # After a kill -9 the server needs a moment to notice the dead connection and release
        # the slot; wait briefly before calling it "in use by another replicator".
        deadline = time.monotonic() + self.options.slot_busy_wait_seconds
        while True:
            slot = slot_info(conn, self.options.slot_name)
            if slot is None or not slot.active or time.monotonic() >= deadline:
                return slot
            time.sleep(0.1)

    def _replicate(
        self,
        conn: Any,
        tables: list[PublishedTable],
        db: str,
        state: ReplicationState | None,
        need_full_load: bool,
        once: bool,
        should_stop: Callable[[], bool],
    ) -> RunSummary:
        opts = self.options
        storage = self.storage
        try:
            repl = psycopg2.connect(
                opts.dsn,
                connection_factory=psycopg2.extras.LogicalReplicationConnection,
                options=_STREAM_SESSION_OPTIONS,
                connect_timeout=10,
            )
        except psycopg2.Error as exc:
            raise ReplicationError(
                f"cannot open a replication connection: {str(exc).strip()}; the role needs the "
                "REPLICATION attribute and pg_hba.conf must allow it"
            ) from exc
        copies: list[TableCopy] | None = None
        try:
            cur = repl.cursor()
            if need_full_load:
                task_start = format_datetime(datetime.now(UTC))
                state = ReplicationState(
                    opts.slot_name,
                    opts.publication,
                    db,
                    task_start,
                    csv_null_value=self.contract.csv_null_value,
                )
                save_state(storage, state)
                _clear_tables(storage, self.contract, tables)
                cur.execute(
                    f'CREATE_REPLICATION_SLOT "{opts.slot_name}" LOGICAL pgoutput EXPORT_SNAPSHOT'
                )
                row = cur.fetchone()
                consistent_point, snapshot = str(row[1]), str(row[2])
                log.info(
                    json.dumps(
                        {"event": "slot_created", "slot": opts.slot_name, "lsn": consistent_point}
                    )
                )
                copies = full_load(
                    opts.dsn,
                    snapshot,
                    tables,
                    storage,
                    self.contract,
                    task_start,
                    max_file_bytes=opts.full_load_max_file_bytes,
                    workers=opts.full_load_workers,
                    progress=self.progress,
                )
                state.full_load = {c.table: TableLoad(c.rows, c.files) for c in copies}
                state.full_load_status = "complete"
                state.consistent_point = consistent_point
                save_state(storage, state)
                for c in copies:
                    for hit in c.collisions:
                        log.warning(json.dumps({"event": "null_marker_collision", **hit.__dict__}))
                    log.info(
                        json.dumps(
                            {
                                "event": "full_load_table",
                                "table": c.table,
                                "rows": c.rows,
                                "files": c.files,
                                "bytes": c.bytes_written,
                            }
                        )
                    )
                start_lsn = parse_lsn(consistent_point)
            else:
                slot = slot_info(conn, opts.slot_name)
                assert slot is not None
                assert slot.confirmed_flush_lsn is not None
                start_lsn = slot.confirmed_flush_lsn
            if self._on_stream_start is not None:
                self._on_stream_start()
            until = wal_position_at_start(conn) if once else None
            cur.start_replication(
                slot_name=opts.slot_name,
                decode=False,
                options={"proto_version": "1", "publication_names": opts.publication},
                status_interval=10,
            )
            writer = CdcWriter(
                storage,
                self.contract,
                min_file_bytes=opts.min_file_bytes,
                start_lsn=start_lsn,
                last_file_names=last_cdc_files(storage, self.contract, tables),
            )

            last_saved = [0.0]

            def on_confirm(lsn: int, *, final: bool = False) -> None:
                # The slot holds the real position; this file is for 'status', at most 1/s.
                if not final and time.monotonic() - last_saved[0] < 1.0:
                    return
                last_saved[0] = time.monotonic()
                save_progress(
                    storage,
                    {
                        "confirmed_lsn": format_lsn(lsn),
                        "last_commit_time": format_datetime(
                            datetime.fromtimestamp(writer.last_commit_us / 1e6, UTC)
                        )
                        if writer.last_commit_us
                        else None,
                        "updated_at": format_datetime(datetime.now(UTC)),
                    },
                )

            result = stream(
                cur,
                writer,
                interval_seconds=opts.interval_seconds,
                until_lsn=until,
                should_stop=should_stop,
                on_confirm=on_confirm,
                on_tick=lambda: self._check_wal(conn),
            )
            on_confirm(result.stopped_at, final=True)
        except psycopg2.Error as exc:
            raise _stream_error(exc, opts.slot_name) from exc
        finally:
            with contextlib.suppress(psycopg2.Error):
                repl.close()
        return RunSummary(
            target=storage.uri,
            full_load=copies,
            stats=result.stats,
            confirmed_lsn=format_lsn(result.stopped_at),
            reason=result.reason,
            files=dict(result.stats.last_files),
        )

    def _check_wal(self, conn: Any) -> None:
        info = slot_info(conn, self.options.slot_name)
        if info is None or info.wal_status == "lost":
            raise ReplicationError(
                f"the replication slot {self.options.slot_name!r} has been invalidated or "
                "dropped while streaming; changes are lost. Run 'lakehouse replicate --resync', "
                "then run the pipeline with full_refresh=true"
            )
        if info.restart_lsn is not None:
            retained = current_wal_lsn(conn) - info.restart_lsn
            if retained > self.options.wal_warn_bytes:
                log.warning(
                    json.dumps(
                        {
                            "event": "wal_retained",
                            "slot": info.name,
                            "bytes": retained,
                            "threshold": self.options.wal_warn_bytes,
                            "wal_status": info.wal_status,
                        }
                    )
                )


def _stream_error(exc: Exception, slot: str) -> ReplicationError:
    text = str(exc).strip()
    if "is active for PID" in text:
        return ReplicationError(
            f"the replication slot {slot!r} is in use ({text}); stop the other replicator first"
        )
    if "invalidated" in text or "can no longer get changes" in text:
        return ReplicationError(
            f"the replication slot {slot!r} has been invalidated ({text}). Run "
            "'lakehouse replicate --resync', then the pipeline with full_refresh=true"
        )
    return ReplicationError(
        f"replication from slot {slot!r} failed: {text}. Files already written are complete; "
        "run the replicator again to resume from the last confirmed position"
    )


def run_once(
    settings: Settings | None = None,
    *,
    target: str | None = None,
    resync: bool = False,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    **overrides: Any,
) -> RunSummary:
    """Full load if the target has none, then stream until caught up with the WAL at start.

    Args:
        settings: defaults to :func:`lakehouse.config.get_settings`.
        target: bronze root (folder or ``s3://``); default ``settings.bronze_uri``.
        resync: drop the slot and the target's files first and reload everything.
        progress: called as ``(table, rows_copied, rows_total)`` during the full load.
        should_stop: polled while streaming; when true, the stream writes what it buffered,
            confirms it and returns before catching up.
        **overrides: fields of :class:`ReplicationOptions` (e.g. ``dsn``, ``slot_name``).
    """
    options = ReplicationOptions.from_settings(settings, target=target, **overrides)
    return Replicator(options, progress=progress).run(
        once=True, resync=resync, should_stop=should_stop
    )


def changes_waiting(settings: Settings | None = None, **overrides: Any) -> bool:
    """Whether the source has a committed change the next replication would stream.

    For callers between two replications (``pipeline watch`` deciding whether to compact):
    True as well when the source cannot be asked, so that the next replication, not this
    question, reports why.
    """
    options = ReplicationOptions.from_settings(settings, **overrides)
    try:
        with contextlib.closing(connect(options.dsn)) as conn:
            return has_changes_waiting(conn, options.slot_name, options.publication)
    except (ReplicationError, psycopg.Error) as exc:
        log.info("could not ask the source for waiting changes: %s", exc)
        return True
