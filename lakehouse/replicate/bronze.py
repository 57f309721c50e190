"""The bronze file format (docs/bronze-contract.md): names, header, values, quoting, GZIP.

Values stay bytes from the server to the file. The full load lets PostgreSQL produce the CSV
(``COPY ... (FORMAT csv)``), and the change stream formats values here the same way, so that a
row reads identically whichever path wrote it:

- NULL is the contract's marker (``csv_null_value``, unquoted) and ``''`` an empty field: what
  DMS writes with a non-empty CsvNullValue, and what ``COPY ... (FORMAT csv, NULL '<marker>')``
  writes;
- a value is quoted when it holds the delimiter, a double quote, CR or LF, or when it equals
  the NULL marker (as COPY does). Readers cannot rely on those quotes (DMS does not document
  them), so such a value is a *collision*: it reads as NULL. The replicator finds every one
  and reports it (:class:`NullMarkerCollision`); see docs/bronze-contract.md;
- ``timestamptz`` is UTC ``yyyy-MM-dd HH:mm:ss.SSSSSS``, ``boolean`` is ``true``/``false``,
  everything else is the type's PostgreSQL text output (numerics keep their scale).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from lakehouse_glue.model import BronzeContract
from psycopg import sql

# Type OIDs that need a conversion from their PostgreSQL text output (pg_type.h).
BOOL_OID: Final = 16
TIMESTAMP_OID: Final = 1114
TIMESTAMPTZ_OID: Final = 1184

GZIP_LEVEL: Final = 1  # fastest: bronze is re-read once by silver, CPU matters more than bytes
_NEEDS_QUOTES = re.compile(rb'[,"\r\n]')
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Converter = Callable[[bytes], bytes]


def format_timestamp_us(unix_us: int) -> bytes:
    """Microseconds since the Unix epoch -> ``yyyy-MM-dd HH:mm:ss.SSSSSS`` (UTC)."""
    return (_EPOCH + timedelta(microseconds=unix_us)).strftime("%Y-%m-%d %H:%M:%S.%f").encode()


def format_datetime(value: datetime) -> str:
    """An aware datetime as the contract's UTC timestamp text."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _pad_fraction(v: bytes) -> bytes:
    # 'yyyy-mm-dd hh:mm:ss' is 19 bytes; PostgreSQL drops trailing zeros of the fraction.
    n = len(v)
    if n == 19:
        return v + b".000000"
    if n < 26 and v[19:20] == b".":
        return v + b"0" * (26 - n)
    return v


def convert_timestamptz(v: bytes) -> bytes:
    """PostgreSQL timestamptz text (the stream runs with TimeZone=UTC) -> contract text."""
    if v.endswith(b"+00") and len(v) <= 29:
        return _pad_fraction(v[:-3])
    if v in (b"infinity", b"-infinity") or v.endswith(b" BC"):
        return v  # not representable in the contract format; passed through unchanged
    # Another offset (a server that ignored TimeZone=UTC): normalise through datetime.
    return format_datetime(datetime.fromisoformat(v.decode())).encode()


def convert_timestamp(v: bytes) -> bytes:
    return _pad_fraction(v)


def convert_bool(v: bytes) -> bytes:
    return b"true" if v == b"t" else b"false" if v == b"f" else v


_CONVERTERS: dict[int, Converter] = {
    BOOL_OID: convert_bool,
    TIMESTAMPTZ_OID: convert_timestamptz,
    TIMESTAMP_OID: convert_timestamp,
}


def converters_for(type_oids: Sequence[int]) -> list[tuple[int, Converter]]:
    """(column index, converter) for the columns whose text form needs converting."""
    return [(i, _CONVERTERS[t]) for i, t in enumerate(type_oids) if t in _CONVERTERS]


def csv_field(v: bytes | None, null: bytes) -> bytes:
    """One RFC 4180 field, quoted the way PostgreSQL's CSV COPY quotes it.

    Args:
        v: the value's text, or None for NULL.
        null: the contract's NULL marker (``csv_null_value``), written for NULL.
    """
    if v is None:
        return null
    if _NEEDS_QUOTES.search(v) or v == null:
        return b'"' + v.replace(b'"', b'""') + b'"'
    return v


def split_fields(line: bytes) -> list[tuple[bytes, bool]]:
    """The fields of one CSV record as ``(value, was_quoted)``; the row delimiter is dropped.

    Only used to name the columns of a full-load row that holds a quoted NULL marker, so it
    favours being obviously right over speed.
    """
    out: list[tuple[bytes, bool]] = []
    i, n = 0, len(line.rstrip(b"\r\n"))
    while True:
        if i < n and line[i : i + 1] == b'"':
            parts: list[bytes] = []
            j = i + 1
            while True:
                k = line.index(b'"', j)
                parts.append(line[j:k])
                if line[k + 1 : k + 2] == b'"':
                    parts.append(b'"')
                    j = k + 2
                    continue
                i = k + 1
                break
            out.append((b"".join(parts), True))
        else:
            k = line.find(b",", i, n)
            k = n if k < 0 else k
            out.append((line[i:k], False))
            i = k
        if i >= n:
            return out
        i += 1  # the delimiter


@dataclass(frozen=True)
class NullMarkerCollision:
    """A source text equal to the NULL marker: every reader will see NULL (reported, kept)."""

    table: str
    column: str
    row: str  # ``<first column>=<value>``: the key in every published table
    phase: str  # "full load" or "change"

    def describe(self, marker: str) -> str:
        return (
            f"{self.table}.{self.column} ({self.row}, {self.phase}) holds the text {marker!r}, "
            "the bronze NULL marker: silver will read NULL. Change the value at the source "
            "(an update replicates the fix), or choose another csv_null_value in "
            "bronze_contract.json and rebuild bronze (docs/bronze-contract.md)"
        )


def collisions_in_row(
    table: str,
    columns: Sequence[str],
    values: Sequence[bytes | None],
    null: bytes,
    phase: str,
) -> list[NullMarkerCollision]:
    """The columns of one row whose (non-NULL) text equals the NULL marker."""
    row = f"{columns[0]}={(values[0] or b'').decode(errors='replace')}"
    return [
        NullMarkerCollision(table, c, row, phase)
        for c, v in zip(columns, values, strict=True)
        if v is not None and v == null
    ]


def header_line(contract: BronzeContract, columns: Sequence[str]) -> bytes:
    """``Op,dms_timestamp,<columns...>,dms_change_seq``."""
    names = [contract.op_column, contract.timestamp_column_name, *columns]
    names.append(contract.change_seq_column)
    null = contract.csv_null_value.encode()
    line = b",".join(csv_field(n.encode(), null) for n in names)
    return line + contract.csv_row_delimiter.encode()


def change_seq(contract: BronzeContract, commit_lsn: int, position: int) -> bytes:
    """Fixed-width change sequence: commit LSN (20 digits) + position in the transaction.

    Commits stream in commit order, so the LSN orders transactions; the position (counted over
    all tables of the transaction, from 1) orders statements within one. Both come from the WAL,
    so a transaction delivered again after a crash gets the very same values.
    """
    width = contract.change_seq_width
    return b"%020d%0*d" % (commit_lsn, width - 20, position)


def full_load_seq(contract: BronzeContract) -> str:
    """The change sequence of every full-load row: empty, as DMS writes it.

    ``$AR_H_CHANGE_SEQ`` is the header DMS shares with Qlik Replicate, which documents its
    value during full load as empty (Q_H_CHANGE_SEQ, "Value during full load: Empty",
    https://help.qlik.com/en-US/cloud-services/Subsystems/Hub/Content/Sense_Hub/DataIntegration/Transformation/Expression-headers.htm;
    the same header as AR_H_CHANGE_SEQ in
    https://help.qlik.com/en-US/replicate/Content/Global_Common/Content/SharedEMReplicate/Customize%20Tasks/tasks_headColumns.htm).
    The DMS guide lists the header without a full-load value
    (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Expressions.html).
    The field is written as a NULL (the NULL marker); readers never order by it across the
    two phases: full-load files (``LOAD*``) come first regardless.
    """
    del contract  # the same for every contract; kept for a uniform signature
    return ""


def cdc_file_name(contract: BronzeContract, at: datetime) -> str:
    """``YYYYMMDD-HHMMSSffffff.csv.gz`` for the time the file is written (UTC)."""
    return at.astimezone(UTC).strftime("%Y%m%d-%H%M%S%f") + contract.file_suffix


def gzip_compressor() -> zlib._Compress:
    """A compressor writing one gzip member (wbits 31) with a fixed header (mtime 0)."""
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)


def select_expression(column: str, type_name: str) -> sql.Composable:
    """The COPY select expression giving a column's contract text form.

    Args:
        column: the column name.
        type_name: ``pg_type.typname`` (``timestamptz``, ``bool``, ...).
    """
    ident = sql.Identifier(column)
    if type_name == "timestamptz":
        return sql.SQL("to_char({} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')").format(ident)
    if type_name == "timestamp":
        return sql.SQL("to_char({}, 'YYYY-MM-DD HH24:MI:SS.US')").format(ident)
    if type_name == "bool":
        return sql.SQL("case {} when true then 'true' when false then 'false' end").format(ident)
    return ident
