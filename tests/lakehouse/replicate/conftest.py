"""Fixtures of the replicator tests: a migrated source database, a unique slot, a bronze folder."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lakehouse.config import get_settings
from lakehouse.db.roles import Role
from lakehouse.replicate import ReplicationOptions, Replicator, RunSummary
from lakehouse.storage import LocalStorage, Storage


@dataclass
class ReplEnv:
    """One source database, one slot name and one bronze target, for one test."""

    dsn: str  # the maintenance role: writes test rows across tenants
    slot: str
    target: Path
    replicator_dsn: str = ""  # the replicator role (default: dsn)
    admin_dsn: str = ""  # the superuser: only to inspect what no role may see (TOAST tables)
    publication: str = field(default_factory=lambda: get_settings().publication)

    @property
    def storage(self) -> Storage:
        return LocalStorage(self.target)

    def options(self, **overrides: Any) -> ReplicationOptions:
        values: dict[str, Any] = {
            "dsn": self.replicator_dsn or self.dsn,
            "target": str(self.target),
            "slot_name": self.slot,
            "publication": self.publication,
            "interval_seconds": 0.2,
            "min_file_bytes": 32000 * 1024,
            "full_load_max_file_bytes": 1 << 30,
        }
        values.update(overrides)
        return ReplicationOptions(**values)

    def run_once(self, *, resync: bool = False, **overrides: Any) -> RunSummary:
        return Replicator(self.options(**overrides)).run(once=True, resync=resync)

    def sql(self, *statements: str, params: tuple[Any, ...] | None = None) -> None:
        """Run statements in one transaction."""
        with psycopg.connect(self.dsn) as conn:
            for s in statements:
                conn.execute(s, params)  # type: ignore[arg-type]


def drop_slot_forcefully(dsn: str, slot: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "select active_pid from pg_replication_slots where slot_name = %s", (slot,)
        ).fetchone()
        if row is None:
            return
        if row[0] is not None:
            conn.execute("select pg_terminate_backend(%s)", (row[0],))
        for _ in range(50):
            try:
                conn.execute("select pg_drop_replication_slot(%s)", (slot,))
                return
            except psycopg.errors.ObjectInUse:
                import time

                time.sleep(0.1)


@pytest.fixture
def repl(
    source_db: str, tmp_path: Path, as_role: Callable[[str, Role | None], str]
) -> Iterator[ReplEnv]:
    env = ReplEnv(
        dsn=source_db,
        slot=f"t_{uuid.uuid4().hex[:12]}",
        target=tmp_path / "bronze",
        replicator_dsn=as_role(source_db, "replicator"),
        admin_dsn=as_role(source_db, None),
    )
    yield env
    # The source database cannot be dropped while a slot points at it.
    drop_slot_forcefully(as_role(source_db, None), env.slot)
