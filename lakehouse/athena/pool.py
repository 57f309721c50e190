"""Locked tenant sessions kept for reuse, so that a dashboard request pays for its query only.

Building a tenant :class:`~lakehouse.athena.session.Session` (a DuckDB database, the
translation's functions, the tenant's rows copied, every file-reading function shadowed, the
configuration locked) costs several times what a dashboard query costs to run. A
:class:`SessionPool` keeps built sessions and lends them out again, under these guarantees:

- **One tenant per session.** A session is kept under a :class:`SessionKey` that holds the
  tenant's id, and a lease checks the session's own tenant again; a session built for one
  tenant never answers for another.
- **Never older than the tables.** The key also holds, for every table the session copied, the
  exact DuckDB source it was copied from, resolved for the request at hand: for an Iceberg
  table's current snapshot, the literal list of that snapshot's data files, planned from the
  table's current metadata file (:mod:`lakehouse.athena.iceberg_plan`). Iceberg never rewrites
  a data file, so the same source always yields the same rows, and a commit (a pipeline run, a
  tenant offboarded) makes a new list, hence a new key: the next request builds a fresh session
  and the stale one is retired. Only sources marked ``immutable`` are kept (see
  :class:`~lakehouse.athena.views.Source`); any other read gets a session of its own, as before.
- **Nothing outlives a request.** Each lease is a cursor of its own (concurrent requests never
  share one) inside a transaction that is rolled back when the lease ends, so nothing a
  statement might create or change stays for the next request. The lock-down is global to the
  DuckDB database (settings locked, functions shadowed), so a cursor is exactly as confined as
  the session.
- **Bounded.** At most ``max_sessions`` are kept (the least recently used are retired first),
  a session idle for ``idle_seconds`` is retired, and when the tenants directory changes, the
  sessions of tenants no longer in it are retired. A retired session is closed (its memory and
  private temp folder freed) as soon as its last lease ends.

The pool also keeps, each under what it was made of, the tenants directory (ids and slugs of
``silver.tenants``) under the exact source it was read from, and the catalog under
:func:`~lakehouse.catalog.store.catalog_stamp` (read again when a document is written, added or
removed). Prepared statements are kept by the engine itself (:mod:`lakehouse.athena.prepared`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from lakehouse.athena.errors import AthenaQueryError
from lakehouse.athena.fetch import ResultValues
from lakehouse.athena.session import Limits, Session, run_on
from lakehouse.catalog.store import Catalog, catalog_stamp, load_catalog

TenantRows = tuple[tuple[str | None, str | None], ...]


@dataclass(frozen=True)
class SessionKey:
    """What a kept session holds: whose rows, read from which sources, under which limits.

    Attributes:
        lake_root: The lake the sources lie in.
        tenant_id: The tenant whose rows were copied.
        memory_limit: The session's DuckDB memory limit.
        functions: The translation's functions are installed.
        sources: ``(qualified table name, DuckDB source SQL)`` of every table copied, sorted.
    """

    lake_root: Path
    tenant_id: str
    memory_limit: str
    functions: bool
    sources: tuple[tuple[str, str], ...]


@dataclass
class _KeptCatalog:
    stamp: tuple[tuple[str, int, int, int], ...]
    catalog: Catalog


@dataclass
class _Entry:
    key: SessionKey
    session: Session
    leases: int = 0
    retired: bool = False
    last_used: float = field(default_factory=time.monotonic)


class Lease:
    """A kept session lent to one caller: a cursor of its own, inside a transaction.

    Attributes:
        con: The cursor (a DuckDB connection to the session's database).
        tenant_id: The tenant of the session.
    """

    def __init__(self, pool: SessionPool, entry: _Entry, con: duckdb.DuckDBPyConnection) -> None:
        self._pool = pool
        self._entry = entry
        self.con = con
        self.tenant_id = entry.session.tenant_id
        self.limits: Limits = entry.session.limits
        self.closed = False

    @property
    def session(self) -> Session:
        return self._entry.session

    def run(
        self, sql: str, deadline: float, as_text: bool = False
    ) -> tuple[ResultValues, list[Any]]:
        """:meth:`Session.run` on the lease's cursor."""
        if self.closed:
            raise AthenaQueryError("GENERIC_INTERNAL_ERROR", "the session lease has ended")
        return run_on(self.con, sql, deadline, self.limits, as_text, self.session.large_results)

    def close(self) -> None:
        """End the lease: roll back whatever it did, close its cursor, return the session."""
        if self.closed:
            return
        self.closed = True
        self._pool._release(self._entry, self.con)


class SessionPool:
    """Kept, locked tenant sessions, lent out one cursor per request (thread-safe).

    Args:
        max_sessions: Most sessions kept at once (0: none is kept, every lease builds one).
        idle_seconds: A session not lent out for this long is retired.
    """

    def __init__(self, max_sessions: int = 64, idle_seconds: float = 600.0) -> None:
        if max_sessions < 0 or not idle_seconds > 0:
            raise ValueError("max_sessions must be >= 0 and idle_seconds > 0")
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._entries: OrderedDict[SessionKey, _Entry] = OrderedDict()
        self._directories: dict[Path, tuple[str, TenantRows]] = {}
        self._catalogs: dict[str, _KeptCatalog] = {}
        #: Sessions built (for tests and benchmarks: a reused session builds nothing).
        self.builds = 0
        #: Tenants directories read.
        self.directory_reads = 0
        #: Catalogs read.
        self.catalog_reads = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def kept_tenants(self) -> set[str]:
        """The tenants of the sessions kept now (retired ones excluded)."""
        with self._lock:
            return {key.tenant_id for key in self._entries}

    def lease(self, key: SessionKey, build: Callable[[], Session]) -> Lease:
        """The session kept under ``key`` (built with ``build`` if there is none), lent out.

        Sessions of the same tenant over the same tables but other sources are stale (a table
        changed since they were built): they are retired.
        """
        now = time.monotonic()
        with self._lock:
            self._retire_idle(now)
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                entry.leases += 1
        if entry is None:
            session = build()  # outside the lock: building takes a while
            try:
                if session.tenant_id != key.tenant_id or not session.locked:
                    raise AthenaQueryError(
                        "ACCESS_DENIED", "a session was built for another tenant or not locked"
                    )
            except BaseException:
                session.close()
                raise
            with self._lock:
                self.builds += 1
                entry = self._entries.get(key)
                if entry is not None:  # another request built it meanwhile: use that one
                    entry.leases += 1
                    session.close()
                else:
                    entry = _Entry(key=key, session=session, leases=1)
                    if self.max_sessions > 0:
                        self._retire_stale(key)
                        self._entries[key] = entry
                        while len(self._entries) > self.max_sessions:
                            _, oldest = self._entries.popitem(last=False)
                            self._retire(oldest)
                    else:
                        entry.retired = True  # not kept: closed when the lease ends
        if entry.session.tenant_id != key.tenant_id:  # the key's promise, checked again
            self._release(entry, None)
            raise AthenaQueryError("ACCESS_DENIED", "a kept session belongs to another tenant")
        try:
            with self._lock:  # DuckDB tracks a connection's cursors: not from two threads
                cursor = entry.session.con.cursor()
            cursor.begin()
        except BaseException:
            self._release(entry, None)
            raise
        entry.last_used = now
        return Lease(self, entry, cursor)

    def tenant_directory(
        self, lake_root: Path, source_sql: str, read: Callable[[], TenantRows]
    ) -> TenantRows:
        """The ``(id, slug)`` rows of ``silver.tenants`` read by ``source_sql``.

        Read once per source (``read``); when the source changes, the sessions of tenants no
        longer listed are retired, so an offboarded tenant's rows do not stay in memory.
        """
        with self._lock:
            kept = self._directories.get(lake_root)
            if kept is not None and kept[0] == source_sql:
                return kept[1]
        rows = read()
        ids = {str(i).lower() for i, _ in rows if i is not None}
        with self._lock:
            self.directory_reads += 1
            self._directories[lake_root] = (source_sql, rows)
            for key in [k for k in self._entries if k.lake_root == lake_root]:
                if key.tenant_id not in ids:
                    self._retire(self._entries.pop(key))
        return rows

    def catalog(self, catalog_uri: str) -> Catalog:
        """The catalog at ``catalog_uri``, read again only when its stamp changed.

        The same object is handed to every caller: it must not be changed (the engine never
        changes it; binding time travel makes a new catalog).
        """
        stamp = catalog_stamp(catalog_uri)
        with self._lock:
            kept = self._catalogs.get(catalog_uri)
            if kept is not None and kept.stamp == stamp:
                return kept.catalog
        # Read after the stamp: a document written in between makes the next stamp differ.
        catalog = load_catalog(catalog_uri)
        with self._lock:
            self.catalog_reads += 1
            self._catalogs[catalog_uri] = _KeptCatalog(stamp=stamp, catalog=catalog)
        return catalog

    def clear(self) -> None:
        """Retire every kept session (each closes when its last lease ends)."""
        with self._lock:
            while self._entries:
                _, entry = self._entries.popitem()
                self._retire(entry)
            self._directories.clear()
            self._catalogs.clear()

    # -- under the lock -----------------------------------------------------------------------

    def _retire_stale(self, key: SessionKey) -> None:
        names = {name for name, _ in key.sources}
        current = dict(key.sources)
        for other in list(self._entries):
            if other.lake_root != key.lake_root or other.tenant_id != key.tenant_id:
                continue
            if any(name in names and current[name] != sql for name, sql in other.sources):
                self._retire(self._entries.pop(other))

    def _retire_idle(self, now: float) -> None:
        for key in list(self._entries):
            entry = self._entries[key]
            if entry.leases == 0 and now - entry.last_used > self.idle_seconds:
                self._retire(self._entries.pop(key))

    def _retire(self, entry: _Entry) -> None:
        entry.retired = True
        if entry.leases == 0:
            entry.session.close()

    def _release(self, entry: _Entry, cursor: duckdb.DuckDBPyConnection | None) -> None:
        rolled_back = True
        if cursor is not None:
            try:
                cursor.rollback()
            except duckdb.Error:
                # The lease's transaction ended early (a statement committed it): whatever it
                # did may be in the database, so the session is not lent out again.
                rolled_back = False
        with self._lock:
            if cursor is not None:
                cursor.close()
            entry.leases -= 1
            entry.last_used = time.monotonic()
            if not rolled_back and not entry.retired:
                if self._entries.get(entry.key) is entry:
                    del self._entries[entry.key]
                entry.retired = True
            if entry.retired and entry.leases == 0:
                entry.session.close()
