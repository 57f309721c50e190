"""What the replicator asks of the source server before it acknowledges anything.

Every check fails with a :class:`ReplicationError` that names the problem and the fix; no
check has a side effect on the slot, so a failed start confirms nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from lakehouse_glue.model import load_declaration
from psycopg import sql

from lakehouse.errors import LakehouseError
from lakehouse.replicate.pgoutput import parse_lsn


class ReplicationError(LakehouseError):
    """The replicator cannot (or must not) go on; the message says what to do."""


@dataclass(frozen=True)
class SourceColumn:
    name: str
    type_name: str


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    columns: tuple[SourceColumn, ...]
    size_bytes: int = 0  # on disk, to copy the largest tables first

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class SlotInfo:
    name: str
    plugin: str | None
    database: str | None
    active: bool
    active_pid: int | None
    confirmed_flush_lsn: int | None
    restart_lsn: int | None
    wal_status: str | None


def connect(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """A plain (non-replication) connection with clear errors."""
    try:
        return psycopg.connect(dsn, connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as exc:
        raise ReplicationError(
            f"cannot connect to the source database: {str(exc).strip()}\n"
            "Start it with 'lakehouse db up' or check DATABASE_URL."
        ) from exc


def check_server(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """wal_level=logical and a role allowed to replicate."""
    row = conn.execute("show wal_level").fetchone()
    level = row[0] if row else "unknown"
    if level != "logical":
        raise ReplicationError(
            f"the source server has wal_level={level}, but change data capture needs "
            "wal_level=logical. Set it (ALTER SYSTEM SET wal_level = logical; on RDS the "
            "parameter rds.logical_replication = 1) and restart the server."
        )
    row = conn.execute(
        "select current_user, rolsuper or rolreplication from pg_roles where rolname = current_user"
    ).fetchone()
    if not row or not row[1]:
        user = row[0] if row else "?"
        raise ReplicationError(
            f"the role {user!r} may not use logical replication; grant it with "
            f"ALTER ROLE {user} WITH REPLICATION (and SELECT on the published tables), or "
            "connect as a role that has it (DATABASE_URL)"
        )


def published_tables(
    conn: psycopg.Connection[tuple[object, ...]], publication: str
) -> list[PublishedTable]:
    """The publication's tables with their columns in ordinal order, checked for replication.

    Every declared entity table that exists in the database must be published, have
    REPLICA IDENTITY FULL (so deletes and unchanged TOAST values carry the whole old row) and
    be readable by the current role.
    """
    row = conn.execute("select 1 from pg_publication where pubname = %s", (publication,)).fetchone()
    if not row:
        raise ReplicationError(
            f"the publication {publication!r} does not exist in the source database; apply "
            "the migrations ('lakehouse db migrate'), or set LAKEHOUSE_PUBLICATION to the "
            "publication that covers the entity tables"
        )
    rows = conn.execute(
        """
        select n.nspname, c.relname, c.relreplident,
               has_table_privilege(c.oid, 'select') as can_select,
               pg_table_size(c.oid) as size_bytes,
               array_agg(a.attname::text order by a.attnum) as cols,
               array_agg(t.typname::text order by a.attnum) as types
        from pg_publication_tables p
        join pg_namespace n on n.nspname = p.schemaname
        join pg_class c on c.relnamespace = n.oid and c.relname = p.tablename
        join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
             and a.attgenerated = ''
        join pg_type t on t.oid = a.atttypid
        where p.pubname = %s
        group by n.nspname, c.relname, c.relreplident, c.oid
        order by n.nspname, c.relname
        """,
        (publication,),
    ).fetchall()
    tables: list[PublishedTable] = []
    for schema, name, replident, can_select, size, cols, types in rows:
        qualified = f"{schema}.{name}"
        if replident != "f":
            raise ReplicationError(
                f"table {qualified} does not have REPLICA IDENTITY FULL, so deletes and "
                "unchanged large values would arrive without the whole row; run "
                f"ALTER TABLE {qualified} REPLICA IDENTITY FULL (the migrations do it)"
            )
        if not can_select:
            raise ReplicationError(
                f"the current role may not SELECT from {qualified}, which the full load "
                f"needs; GRANT SELECT ON {qualified} TO <role>"
            )
        assert isinstance(cols, list)
        assert isinstance(types, list)
        columns = tuple(SourceColumn(str(c), str(t)) for c, t in zip(cols, types, strict=True))
        tables.append(PublishedTable(str(schema), str(name), columns, int(str(size))))
    published = {t.qualified for t in tables}
    declaration = load_declaration()
    for entity in declaration.entities:
        exists = conn.execute(
            "select to_regclass(%s) is not null",
            (sql.Identifier(entity.schema, entity.name).as_string(conn),),
        ).fetchone()
        qualified = f"{entity.schema}.{entity.name}"
        if exists and exists[0] and qualified not in published:
            raise ReplicationError(
                f"the entity table {qualified} is not in the publication {publication!r}; "
                f"ALTER PUBLICATION {publication} ADD TABLE {qualified} (the migrations do it)"
            )
    if not tables:
        raise ReplicationError(
            f"the publication {publication!r} publishes no table; apply the migrations"
        )
    return tables


def _opt_str(v: object) -> str | None:
    return None if v is None else str(v)


def slot_info(conn: psycopg.Connection[tuple[object, ...]], slot: str) -> SlotInfo | None:
    row = conn.execute(
        """
        select slot_name, plugin, database, active, active_pid,
               confirmed_flush_lsn::text, restart_lsn::text, wal_status
        from pg_replication_slots where slot_name = %s
        """,
        (slot,),
    ).fetchone()
    if not row:
        return None
    return SlotInfo(
        name=str(row[0]),
        plugin=_opt_str(row[1]),
        database=_opt_str(row[2]),
        active=bool(row[3]),
        active_pid=int(str(row[4])) if row[4] is not None else None,
        confirmed_flush_lsn=parse_lsn(str(row[5])) if row[5] else None,
        restart_lsn=parse_lsn(str(row[6])) if row[6] else None,
        wal_status=_opt_str(row[7]),
    )


def check_slot_usable(info: SlotInfo, database: str) -> None:
    """The slot is ours to stream from: logical pgoutput, this database, idle, not lost."""
    if info.active:
        raise ReplicationError(
            f"the replication slot {info.name!r} is in use by server process {info.active_pid} "
            "(another 'lakehouse replicate' is running?); stop that one first, or use another "
            "slot (LAKEHOUSE_SLOT)"
        )
    if info.plugin != "pgoutput" or info.database != database:
        raise ReplicationError(
            f"the replication slot {info.name!r} belongs to database {info.database!r} with "
            f"plugin {info.plugin!r}, not to {database!r} with pgoutput; choose another slot "
            "name (LAKEHOUSE_SLOT)"
        )
    if info.wal_status == "lost" or info.restart_lsn is None:
        raise ReplicationError(
            f"the replication slot {info.name!r} has been invalidated (the WAL it needed was "
            "removed, e.g. max_slot_wal_keep_size was exceeded), so changes were lost. Run "
            "'lakehouse replicate --resync' to reload every table from a new snapshot, then run "
            "the pipeline with full_refresh=true"
        )


def drop_slot(conn: psycopg.Connection[tuple[object, ...]], slot: str) -> None:
    info = slot_info(conn, slot)
    if info is None:
        return
    if info.active:
        raise ReplicationError(
            f"cannot drop the replication slot {slot!r}: it is in use by server process "
            f"{info.active_pid}; stop the replicator that uses it first"
        )
    conn.execute("select pg_drop_replication_slot(%s)", (slot,))


def wal_position_at_start(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The position that ``--once`` streams up to: every commit made before this call.

    Commits made with ``synchronous_commit = off`` are inserted into the WAL but flushed (and
    so sent to replication) only by the WAL writer, a little later. So take the insert position
    and wait until the WAL is flushed that far; the flush position then is reachable by the
    stream and covers every earlier commit.
    """
    row = conn.execute("select pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None
    inserted = parse_lsn(str(row[0]))
    # The WAL writer flushes asynchronous commits within 3 x wal_writer_delay (200 ms default).
    deadline = time.monotonic() + 5.0
    flushed = current_wal_lsn(conn)
    while flushed < inserted and time.monotonic() < deadline:
        time.sleep(0.01)
        flushed = current_wal_lsn(conn)
    return flushed


def current_wal_lsn(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute("select pg_current_wal_flush_lsn()::text").fetchone()
    assert row is not None
    return parse_lsn(str(row[0]))


def database_name(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    row = conn.execute("select current_database()").fetchone()
    assert row is not None
    return str(row[0])


#: pgoutput's message types that carry a row change or a truncate (Insert, Update, Delete,
#: Truncate); Begin, Commit, Relation and Type messages alone change nothing.
_CHANGE_MESSAGES = (ord("I"), ord("U"), ord("D"), ord("T"))


def has_changes_waiting(
    conn: psycopg.Connection[tuple[object, ...]], slot: str, publication: str
) -> bool:
    """Whether a committed change to a published table waits in ``slot``, not yet confirmed.

    Peeks (the slot does not move) with pgoutput, as the stream decodes, from the slot's
    confirmed position, asking for one row: decoding stops at the end of the first
    transaction that gives a row ("this limit is only checked after adding the rows produced
    when decoding each new transaction commit", ``upto_nchanges`` in "Replication Management
    Functions", https://www.postgresql.org/docs/15/functions-admin.html). Since PostgreSQL 15
    pgoutput sends nothing for a transaction with no change to publish ("Prevent logical
    replication of empty transactions", https://www.postgresql.org/docs/15/release-15.html),
    so that transaction is the first with an Insert, Update, Delete or Truncate and the answer
    is exact. Before 15 every transaction gave a Begin and a Commit: one that touched no
    published table ends the peek and the answer is False even if a change waits behind it
    (never True without a change: only those four message types count). The project runs
    PostgreSQL 15; on an older server ``pipeline watch`` would only compact while a change
    waits, never lose one. The slot must not be in use by a stream.
    """
    row = conn.execute(
        """
        select exists(
            select 1
            from pg_logical_slot_peek_binary_changes(
                %s, null, 1, 'proto_version', '1', 'publication_names', %s)
            where get_byte(data, 0) = any(%s)
        )
        """,
        (slot, publication, list(_CHANGE_MESSAGES)),
    ).fetchone()
    return bool(row and row[0])
