"""Decoder of PostgreSQL's built-in ``pgoutput`` logical replication messages (protocol 1).

Why our own: the protocol is small and stable (documented in the PostgreSQL manual,
"Logical Replication Message Formats"), psycopg2 only hands over the raw bytes, and the Python
decoders on PyPI are either unmaintained 0.0.x releases (``pypgoutput``, last 2022) or young
native builds with one release; they also decode values into Python objects, while the
replicator wants the server's own text form untouched (bytes in, CSV bytes out) for speed and
exactness. So this module parses the frames only and leaves values as the bytes the server sent.

Values: ``None`` is SQL NULL, :data:`UNCHANGED` is an unchanged TOAST value the server did not
send (the caller fills it from the old row image), anything else is the value's text form.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from lakehouse.errors import LakehouseError


class _Unchanged:
    """Marker for an unchanged TOASTed value ('u' in TupleData)."""

    _instance: _Unchanged | None = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()

Value = bytes | None | _Unchanged

_I32 = struct.Struct(">I")
_I16 = struct.Struct(">h")
_BEGIN = struct.Struct(">QqI")
_COMMIT = struct.Struct(">bQQq")
_COLUMN_TAIL = struct.Struct(">Ii")

# Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 00:00:00 UTC).
PG_EPOCH_OFFSET_US: Final = 946_684_800 * 1_000_000


class DecodeError(LakehouseError):
    """A replication message could not be decoded."""


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    commit_time_us: int  # microseconds since the Unix epoch, UTC
    xid: int


@dataclass(frozen=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_time_us: int


@dataclass(frozen=True)
class Relation:
    """The shape of a published table as the server describes it in the stream."""

    oid: int
    schema: str
    name: str
    replica_identity: str  # 'd' default, 'n' nothing, 'f' full, 'i' index
    columns: tuple[str, ...]
    type_oids: tuple[int, ...]


@dataclass(slots=True)  # not frozen: built once per change, and frozen init is slower
class Change:
    """An insert ('I'), update ('U') or delete ('D') of one row."""

    kind: str
    relation_oid: int
    new: list[Value] | None
    old: list[Value] | None  # full old row under REPLICA IDENTITY FULL ('O'), key only ('K')
    old_is_key_only: bool = False


@dataclass(frozen=True)
class Truncate:
    relation_oids: tuple[int, ...]


@dataclass(frozen=True)
class Ignored:
    """A message the replicator has no use for (Origin, Type)."""

    tag: str


Message = Begin | Commit | Relation | Change | Truncate | Ignored


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("utf-8"), end + 1


def parse_tuple(buf: bytes, pos: int) -> tuple[list[Value], int]:
    """Parse TupleData at ``pos``; returns the values and the position after them."""
    # The hottest loop of the replicator: plain byte indexing beats struct and from_bytes here.
    n = (buf[pos] << 8) | buf[pos + 1]
    pos += 2
    out: list[Value] = [None] * n
    for i in range(n):
        kind = buf[pos]
        if kind == 0x74:  # 't': text
            ln = (buf[pos + 1] << 24) | (buf[pos + 2] << 16) | (buf[pos + 3] << 8) | buf[pos + 4]
            pos += 5
            out[i] = buf[pos : pos + ln]
            pos += ln
        elif kind == 0x6E:  # 'n': null
            pos += 1
        elif kind == 0x75:  # 'u': unchanged TOAST value, not sent
            out[i] = UNCHANGED
            pos += 1
        else:
            raise DecodeError(
                f"unsupported TupleData kind {chr(kind)!r}: the replicator asks for text values "
                "(pgoutput proto_version 1, binary off)"
            )
    return out, pos


def skip_tuple(buf: bytes, pos: int) -> tuple[bool, int]:
    """Walk over TupleData without copying values: (has an unchanged value, next position)."""
    n = (buf[pos] << 8) | buf[pos + 1]
    pos += 2
    unchanged = False
    for _ in range(n):
        kind = buf[pos]
        if kind == 0x74:
            pos += 5 + (
                (buf[pos + 1] << 24) | (buf[pos + 2] << 16) | (buf[pos + 3] << 8) | buf[pos + 4]
            )
        else:
            unchanged = unchanged or kind == 0x75
            pos += 1
    return unchanged, pos


def _insert(buf: bytes) -> Change:
    (oid,) = _I32.unpack_from(buf, 1)
    if buf[5] != 0x4E:
        raise DecodeError(f"Insert without new tuple (byte {buf[5]!r})")
    new, _ = parse_tuple(buf, 6)
    return Change("I", oid, new, None)


def _update(buf: bytes) -> Change:
    (oid,) = _I32.unpack_from(buf, 1)
    pos = 5
    old: list[Value] | None = None
    old_at = 0
    key_only = False
    if buf[pos] in (0x4B, 0x4F):  # 'K' key or 'O' old row
        key_only = buf[pos] == 0x4B
        old_at = pos + 1
        _, pos = skip_tuple(buf, old_at)
    if buf[pos] != 0x4E:
        raise DecodeError(f"Update without new tuple (byte {buf[pos]!r})")
    new, _ = parse_tuple(buf, pos + 1)
    if old_at and UNCHANGED in new:
        # The old row is only needed to fill values the server did not resend.
        old, _ = parse_tuple(buf, old_at)
    return Change("U", oid, new, old if old_at else None, key_only)


def _delete(buf: bytes) -> Change:
    (oid,) = _I32.unpack_from(buf, 1)
    key_only = buf[5] == 0x4B
    old, _ = parse_tuple(buf, 6)
    return Change("D", oid, None, old, key_only)


def _begin(buf: bytes) -> Begin:
    final_lsn, ts, xid = _BEGIN.unpack_from(buf, 1)
    return Begin(final_lsn, ts + PG_EPOCH_OFFSET_US, xid)


def _commit(buf: bytes) -> Commit:
    _flags, commit_lsn, end_lsn, ts = _COMMIT.unpack_from(buf, 1)
    return Commit(commit_lsn, end_lsn, ts + PG_EPOCH_OFFSET_US)


def _relation(buf: bytes) -> Relation:
    (oid,) = _I32.unpack_from(buf, 1)
    schema, pos = _cstring(buf, 5)
    name, pos = _cstring(buf, pos)
    replident = chr(buf[pos])
    (ncols,) = _I16.unpack_from(buf, pos + 1)
    pos += 3
    cols: list[str] = []
    types: list[int] = []
    for _ in range(ncols):
        pos += 1  # flags: 1 = part of the key
        col, pos = _cstring(buf, pos)
        type_oid, _typmod = _COLUMN_TAIL.unpack_from(buf, pos)
        pos += 8
        cols.append(col)
        types.append(type_oid)
    return Relation(oid, schema, name, replident, tuple(cols), tuple(types))


def _truncate(buf: bytes) -> Truncate:
    (n,) = _I32.unpack_from(buf, 1)
    return Truncate(tuple(_I32.unpack_from(buf, 6 + 4 * i)[0] for i in range(n)))


def _ignored(buf: bytes) -> Ignored:
    return Ignored(chr(buf[0]))


_DECODERS: dict[int, Callable[[bytes], Message]] = {
    0x49: _insert,  # 'I'
    0x55: _update,  # 'U'
    0x44: _delete,  # 'D'
    0x42: _begin,  # 'B'
    0x43: _commit,  # 'C'
    0x52: _relation,  # 'R'
    0x54: _truncate,  # 'T'
    0x4F: _ignored,  # 'O' origin
    0x59: _ignored,  # 'Y' type
    0x4D: _ignored,  # 'M' message
}


def decode(buf: bytes) -> Message:
    """Decode one pgoutput message."""
    decoder = _DECODERS.get(buf[0])
    if decoder is None:
        raise DecodeError(f"unknown pgoutput message {chr(buf[0])!r}")
    return decoder(buf)


def format_lsn(lsn: int) -> str:
    """``0/16B3748`` form of an LSN."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    """Parse the ``X/Y`` text form of an LSN."""
    hi, _, lo = text.partition("/")
    return (int(hi, 16) << 32) | int(lo, 16)
