"""The text forms and names of the bronze format, against the contract's examples."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from lakehouse_glue.model import check_null_marker, load_bronze_contract

from lakehouse.replicate import pgoutput
from lakehouse.replicate.bronze import (
    cdc_file_name,
    change_seq,
    convert_bool,
    convert_timestamptz,
    csv_field,
    format_timestamp_us,
    full_load_seq,
    header_line,
    split_fields,
)

CONTRACT = load_bronze_contract()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"2024-01-02 03:04:05+00", b"2024-01-02 03:04:05.000000"),
        (b"2024-01-02 03:04:05.5+00", b"2024-01-02 03:04:05.500000"),
        (b"2024-01-02 03:04:05.123456+00", b"2024-01-02 03:04:05.123456"),
        (b"2024-01-02 03:04:05.1+02", b"2024-01-02 01:04:05.100000"),
        (b"2024-01-02 00:30:00-05:30", b"2024-01-02 06:00:00.000000"),
    ],
)
def test_timestamptz_becomes_utc_with_microseconds(text: bytes, expected: bytes) -> None:
    assert convert_timestamptz(text) == expected


def test_values_and_quoting() -> None:
    null = b"<NULL>"
    assert CONTRACT.csv_null_value.encode() == null
    assert convert_bool(b"t") == b"true"
    assert convert_bool(b"f") == b"false"
    assert csv_field(None, null) == b"<NULL>"
    assert csv_field(b"", null) == b""  # as COPY writes '' when NULL has a marker
    assert csv_field(b"<NULL>", null) == b'"<NULL>"'  # a collision, quoted as COPY does
    assert csv_field(b"NULL", null) == b"NULL"
    assert csv_field(b"\\N", null) == b"\\N"
    assert csv_field(b"12.50", null) == b"12.50"
    assert csv_field(b'a "b", c', null) == b'"a ""b"", c"'
    assert csv_field(b"x\ny", null) == b'"x\ny"'
    assert csv_field(b"x\ry", null) == b'"x\ry"'
    assert csv_field(b"tab\there", null) == b"tab\there"


def test_split_fields_keeps_the_quotes_apart() -> None:
    line = b'I,"<NULL>",<NULL>,,"","a,""b""\nc",x\n'
    assert split_fields(line) == [
        (b"I", False),
        (b"<NULL>", True),
        (b"<NULL>", False),
        (b"", False),
        (b"", True),
        (b'a,"b"\nc', True),
        (b"x", False),
    ]
    assert split_fields(b"a,\n") == [(b"a", False), (b"", False)]


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        ("", "is empty"),
        ("a,b", "delimiter"),
        ('"N"', "double quote"),
        ("N\n", "line break"),
        (" N", "white space"),
        ("\u2400", "printable ASCII"),
    ],
)
def test_a_null_marker_that_readers_could_not_see_is_refused(marker: str, problem: str) -> None:
    with pytest.raises(ValueError, match="csv_null_value") as info:
        check_null_marker(marker, ",", "\n")
    assert problem in str(info.value)


def test_names_and_sequences() -> None:
    assert header_line(CONTRACT, ["id", "name"]) == b"Op,dms_timestamp,id,name,dms_change_seq\n"
    seq = change_seq(CONTRACT, 0x1_6B37_48, 3)
    assert seq == b"00000000000023803720000000000000003"
    assert len(seq) == CONTRACT.change_seq_width
    assert full_load_seq(CONTRACT) == ""  # empty during full load, as DMS writes it
    at = datetime(2024, 3, 9, 7, 5, 3, 42, tzinfo=UTC)
    assert cdc_file_name(CONTRACT, at) == "20240309-070503000042.csv.gz"
    assert format_timestamp_us(1_700_000_000_000_001) == b"2023-11-14 22:13:20.000001"


def _tuple(*values: bytes | str | None) -> bytes:
    out = struct.pack(">h", len(values))
    for v in values:
        if v is None:
            out += b"n"
        elif v == "u":
            out += b"u"
        else:
            assert isinstance(v, bytes)
            out += b"t" + struct.pack(">I", len(v)) + v
    return out


def test_pgoutput_frames() -> None:
    begin = pgoutput.decode(b"B" + struct.pack(">QqI", 99, 1_000_000, 7))
    assert begin == pgoutput.Begin(99, 1_000_000 + pgoutput.PG_EPOCH_OFFSET_US, 7)
    rel = pgoutput.decode(
        b"R"
        + struct.pack(">I", 16384)
        + b"public\0t\0f"
        + struct.pack(">h", 2)
        + b"\x01id\0"
        + struct.pack(">Ii", 2950, -1)
        + b"\x00big\0"
        + struct.pack(">Ii", 25, -1)
    )
    assert rel == pgoutput.Relation(16384, "public", "t", "f", ("id", "big"), (2950, 25))
    upd = pgoutput.decode(
        b"U" + struct.pack(">I", 16384) + b"O" + _tuple(b"1", b"old") + b"N" + _tuple(b"1", "u")
    )
    assert isinstance(upd, pgoutput.Change)
    assert upd.new == [b"1", pgoutput.UNCHANGED]
    assert upd.old == [b"1", b"old"]
    ins = pgoutput.decode(b"I" + struct.pack(">I", 16384) + b"N" + _tuple(b"", None))
    assert isinstance(ins, pgoutput.Change)
    assert ins.new == [b"", None]
    commit = pgoutput.decode(b"C" + struct.pack(">bQQq", 0, 99, 120, 5))
    assert commit == pgoutput.Commit(99, 120, 5 + pgoutput.PG_EPOCH_OFFSET_US)
    assert pgoutput.parse_lsn(pgoutput.format_lsn(0x1_6B37_48)) == 0x1_6B37_48
    with pytest.raises(pgoutput.DecodeError):
        pgoutput.decode(b"Z")
