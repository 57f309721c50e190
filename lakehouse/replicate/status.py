"""``lakehouse replicate status``: the slot, how far bronze is behind, and the last files."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse_glue.model import load_bronze_contract

from lakehouse.replicate.pgoutput import format_lsn
from lakehouse.replicate.replicator import ReplicationOptions
from lakehouse.replicate.source import connect, current_wal_lsn, published_tables, slot_info
from lakehouse.replicate.state import load_progress, load_state
from lakehouse.storage import open_storage


@dataclass
class ReplicationStatus:
    target: str
    slot: str
    slot_exists: bool
    active: bool = False
    active_pid: int | None = None
    wal_status: str | None = None
    current_lsn: str | None = None
    confirmed_lsn: str | None = None
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    wal_retained_bytes: int | None = None
    full_load: str = "none"
    task_start_time: str | None = None
    last_confirmed_at: str | None = None
    last_files: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def replication_status(options: ReplicationOptions) -> ReplicationStatus:
    """Read the slot from the source and the state and files from the target."""
    contract = load_bronze_contract()
    storage = open_storage(options.target)
    state = load_state(storage)
    progress = load_progress(storage) or {}
    with contextlib.closing(connect(options.dsn)) as conn:
        info = slot_info(conn, options.slot_name)
        tables = published_tables(conn, options.publication)
        out = ReplicationStatus(
            target=storage.uri, slot=options.slot_name, slot_exists=info is not None
        )
        current = current_wal_lsn(conn)
        out.current_lsn = format_lsn(current)
        if info is not None:
            out.active, out.active_pid, out.wal_status = (
                info.active,
                info.active_pid,
                info.wal_status,
            )
            if info.confirmed_flush_lsn is not None:
                out.confirmed_lsn = format_lsn(info.confirmed_flush_lsn)
                out.lag_bytes = max(0, current - info.confirmed_flush_lsn)
            if info.restart_lsn is not None:
                out.wal_retained_bytes = max(0, current - info.restart_lsn)
            if info.active_pid is not None:
                row = conn.execute(
                    "select extract(epoch from coalesce(flush_lag, interval '0'))::float8 "
                    "from pg_stat_replication where pid = %s",
                    (info.active_pid,),
                ).fetchone()
                if row is not None:
                    out.lag_seconds = round(float(str(row[0])), 3)
    if out.lag_seconds is None and progress.get("updated_at") and out.lag_bytes:
        # Not streaming: bronze is as old as the last position the replicator confirmed.
        confirmed_at = datetime.fromisoformat(str(progress["updated_at"])).replace(tzinfo=UTC)
        out.lag_seconds = round((datetime.now(UTC) - confirmed_at).total_seconds(), 3)
    if out.lag_seconds is None and out.lag_bytes == 0:
        out.lag_seconds = 0.0
    out.last_confirmed_at = progress.get("updated_at")
    if state is not None:
        out.full_load = state.full_load_status
        out.task_start_time = state.task_start_time
    for t in tables:
        names = [
            n
            for n in storage.list_files(contract.table_folder(t.schema, t.name))
            if n.endswith(contract.file_suffix)
        ]
        cdc = [n for n in names if not contract.is_full_load_file(n)]
        loads = [n for n in names if contract.is_full_load_file(n)]
        out.last_files[t.qualified] = max(cdc) if cdc else (max(loads) if loads else None)
    return out
