"""Replication state kept with the target, so that the files and their bookkeeping move together.

``<bronze>/_lakehouse/replication.json`` holds the task (slot, publication, task start time)
and the full load's progress; ``<bronze>/_lakehouse/progress.json`` the last confirmed position
(rewritten after each flush, used by ``lakehouse replicate status``). The slot's own confirmed
position in PostgreSQL stays the authority for where streaming resumes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.replicate.source import ReplicationError
from lakehouse.storage import Storage

STATE_PATH = "_lakehouse/replication.json"
PROGRESS_PATH = "_lakehouse/progress.json"
STATE_VERSION = 1


@dataclass
class TableLoad:
    rows: int
    files: list[str]


@dataclass
class ReplicationState:
    slot_name: str
    publication: str
    database: str
    task_start_time: str  # contract timestamp text, UTC
    full_load_status: str = "in_progress"  # -> "complete"
    consistent_point: str | None = None
    full_load: dict[str, TableLoad] = field(default_factory=dict)
    version: int = STATE_VERSION
    # The contract's NULL marker the files were written with; "" (absent in older states) is
    # the old convention, NULL as an empty field. A target is never written both ways.
    csv_null_value: str = ""

    @property
    def full_load_complete(self) -> bool:
        return self.full_load_status == "complete"

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> ReplicationState:
        try:
            raw: dict[str, Any] = json.loads(data)
            if raw.get("version") != STATE_VERSION:
                raise ValueError(f"version {raw.get('version')!r}, expected {STATE_VERSION}")
            loads = {k: TableLoad(**v) for k, v in raw.pop("full_load", {}).items()}
            return cls(**raw, full_load=loads)
        except (ValueError, TypeError) as exc:
            raise ReplicationError(
                f"the replication state {where} is unreadable ({exc}); run "
                "'lakehouse replicate --resync' to start this target afresh"
            ) from exc


def load_state(storage: Storage) -> ReplicationState | None:
    try:
        data = storage.read_bytes(STATE_PATH)
    except FileNotFoundError:
        return None
    return ReplicationState.from_json(data, storage.uri_of(STATE_PATH))


def save_state(storage: Storage, state: ReplicationState) -> None:
    storage.write_bytes(STATE_PATH, state.to_json())


def save_progress(storage: Storage, progress: dict[str, Any]) -> None:
    storage.write_bytes(PROGRESS_PATH, (json.dumps(progress, sort_keys=True) + "\n").encode())


def load_progress(storage: Storage) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(storage.read_bytes(PROGRESS_PATH))
    except FileNotFoundError:
        return None
    return data
