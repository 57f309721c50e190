"""Typing raw strings: exact decimals, strict booleans, UTC timestamps, validated JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from lakehouse_glue.casting import typed_value
from lakehouse_glue.model import Column
from pyspark.sql import Column as SparkColumn
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812

from tests.support.spark import assert_frames_equal


def _cast(spark: SparkSession, column: Column, values: list[str | None]) -> list[tuple]:  # type: ignore[type-arg]
    df = spark.createDataFrame([(v,) for v in values], "raw string")
    typed, parsed = typed_value(F.col("raw"), column)
    return [tuple(r) for r in df.select(typed.alias("v"), parsed.alias("ok")).collect()]


def test_decimal_is_exact_and_rejects_rounding(spark: SparkSession) -> None:
    col = Column("price", "decimal(12,2)", nullable=True)
    got = _cast(spark, col, ["12.50", "0.01", "-3", "9999999999.99", "12.505", "1e3", "x", None])
    assert got == [
        (Decimal("12.50"), True),
        (Decimal("0.01"), True),
        (Decimal("-3.00"), True),
        (Decimal("9999999999.99"), True),
        (None, False),  # more scale than declared: an error, never rounded
        (None, False),
        (None, False),
        (None, True),
    ]


def test_boolean_accepts_only_the_contract_spellings(spark: SparkSession) -> None:
    col = Column("b", "boolean", nullable=True)
    got = _cast(spark, col, ["true", "false", "t", "f", "1", "0", "TRUE", "yes", "", None])
    assert got == [
        (True, True),
        (False, True),
        (True, True),
        (False, True),
        (True, True),
        (False, True),
        (True, True),
        (None, False),
        (None, False),
        (None, True),
    ]


def test_timestamps_are_utc_whatever_the_session_zone(spark: SparkSession) -> None:
    col = Column("at", "timestamp", nullable=True)
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        df = spark.createDataFrame(
            [
                ("2024-03-10 07:30:00.123456",),
                ("2024-03-10 07:30:00+00",),
                ("2024-13-01 00:00:00",),
            ],
            "raw string",
        )
        typed, parsed = typed_value(F.col("raw"), col)
        got = df.select(F.unix_micros(typed).alias("us"), parsed.alias("ok")).collect()
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone or "UTC")
    expected = int(datetime(2024, 3, 10, 7, 30, 0, 123456, tzinfo=UTC).timestamp() * 1_000_000)
    assert [tuple(r) for r in got] == [
        (expected, True),
        (expected - 123456, True),
        (None, False),
    ]


def test_json_is_validated_and_kept_as_text(spark: SparkSession) -> None:
    col = Column("j", "json", nullable=True)
    got = _cast(spark, col, ['{"a": [1, "x,y"]}', "[]", '"s"', "{bad", '{"a":1} x', None])
    assert got == [
        ('{"a": [1, "x,y"]}', True),
        ("[]", True),
        ('"s"', True),
        (None, False),
        (None, False),
        (None, True),
    ]


def test_uuid_int_and_date(spark: SparkSession) -> None:
    uuid_col = Column("id", "uuid", nullable=False)
    lower = "0e0e0e0e-1111-2222-3333-44444444abcd"
    assert _cast(spark, uuid_col, ["0E0E0E0E-1111-2222-3333-444444444444", "nope", lower]) == [
        ("0e0e0e0e-1111-2222-3333-444444444444", True),
        (None, False),
        (lower, True),  # PostgreSQL's form, kept as it is
    ]
    int_col = Column("q", "int", nullable=False)
    assert _cast(spark, int_col, ["42", "-1", "1.5", "99999999999"]) == [
        (42, True),
        (-1, True),
        (None, False),
        (None, False),  # overflows int: an error, not a wrap-around
    ]
    df = spark.createDataFrame([("2024-02-29",), ("2023-02-29",)], "raw string")
    typed, parsed = typed_value(F.col("raw"), Column("d", "date", nullable=True))
    assert_frames_equal(
        df.select(typed.alias("v"), parsed.alias("ok")),
        spark.createDataFrame(
            [(datetime(2024, 2, 29).date(), True), (None, False)], "v date, ok boolean"
        ),
    )


# --- hostile texts: the fast paths must give exactly the answers of the plain definitions ----

_PLAIN_TS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
_PLAIN_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)\z"


def _plain_timestamp_utc(raw: SparkColumn) -> SparkColumn:
    """The definition, stated plainly: the shape, then Spark's cast with the offset or UTC's."""
    with_zone = F.when(raw.rlike(_PLAIN_TS + _PLAIN_OFFSET), raw).otherwise(
        F.concat(raw, F.lit("Z"))
    )
    no_control = ~raw.rlike(r"[\x00-\x1f\u0085\u2028\u2029]")
    return F.when(raw.rlike(_PLAIN_TS) & no_control, with_zone.cast("timestamp"))


def _us(*args: int) -> int:
    return int((datetime(*args, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * (
        1_000_000
    )


#: (text, microseconds since the epoch, or None when the text is not a timestamp)
HOSTILE_TIMESTAMPS: list[tuple[str | None, int | None]] = [
    # The contract's form, with every length of fraction PostgreSQL may print.
    ("2024-03-10 07:30:00", _us(2024, 3, 10, 7, 30)),
    ("2024-03-10 07:30:00.1", _us(2024, 3, 10, 7, 30) + 100_000),
    ("2024-03-10 07:30:00.12", _us(2024, 3, 10, 7, 30) + 120_000),
    ("2024-03-10 07:30:00.123", _us(2024, 3, 10, 7, 30) + 123_000),
    ("2024-03-10 07:30:00.1234", _us(2024, 3, 10, 7, 30) + 123_400),
    ("2024-03-10 07:30:00.12345", _us(2024, 3, 10, 7, 30) + 123_450),
    ("2024-03-10 07:30:00.123456", _us(2024, 3, 10, 7, 30) + 123_456),
    ("2024-03-10T07:30:00.000001", _us(2024, 3, 10, 7, 30) + 1),
    # Local times New York skips (spring forward) or repeats (fall back): UTC has them once.
    ("2024-03-10 02:30:00.5", _us(2024, 3, 10, 2, 30) + 500_000),
    ("2024-11-03 01:30:00.123456", _us(2024, 11, 3, 1, 30) + 123_456),
    # Leap days, the ends of the calendar and before 1970 (negative microseconds).
    ("2024-02-29 23:59:59.999999", _us(2024, 2, 29, 23, 59, 59) + 999_999),
    ("2000-02-29 00:00:00", _us(2000, 2, 29)),
    ("2023-02-29 00:00:00", None),
    ("1900-02-29 00:00:00", None),
    ("1969-12-31 23:59:59.999999", -1),
    # The days the Julian calendar skipped: Spark's calendar is proleptic Gregorian, as is this.
    ("1582-10-10 12:00:00.000001", _us(1582, 10, 10, 12) + 1),
    ("1900-01-01 00:00:00", _us(1900, 1, 1)),
    ("0001-01-01 00:00:00.000001", _us(1, 1, 1) + 1),
    ("9999-12-31 23:59:59.999999", _us(9999, 12, 31, 23, 59, 59) + 999_999),
    # Offsets: not the contract's, still read with their offset.
    ("2024-03-10 07:30:00Z", _us(2024, 3, 10, 7, 30)),
    ("2024-03-10 07:30:00+00", _us(2024, 3, 10, 7, 30)),
    ("2024-03-10 07:30:00.25+05:30", _us(2024, 3, 10, 2, 0) + 250_000),
    ("2024-03-10 07:30:00-0800", _us(2024, 3, 10, 15, 30)),
    # Malformed shapes, impossible values, stray characters.
    ("2024-13-01 00:00:00", None),
    ("2024-04-31 00:00:00", None),
    ("2024-03-10 24:00:00", None),
    ("2024-03-10 23:59:60", None),
    ("2024-03-10 23:60:00", None),
    ("2024-3-10 07:30:00", None),
    ("2024-03-10 7:30:00", None),
    ("2024-03-10 07:30", None),
    ("2024-03-10", None),
    (" 2024-03-10 07:30:00", None),
    ("+2024-03-10 07:30:00", None),
    ("20240-03-10 07:30:00", None),
    ("2024/03/10 07:30:00", None),
    ("2024-03-10 07:30:00 UTC", None),
    ("2024-03-10 07:30:00+5:30", None),
    ("2024-03-10 07:30:00America/New_York", None),
    ("\u0662\u0660\u0662\u0664-03-10 07:30:00", None),  # Arabic-Indic digits
    ("", None),
    ("not a time", None),
    (None, None),
]


def test_hostile_timestamps_in_any_session_zone(spark: SparkSession) -> None:
    col = Column("at", "timestamp", nullable=True)
    zone = spark.conf.get("spark.sql.session.timeZone")
    texts = [t for t, _ in HOSTILE_TIMESTAMPS]
    try:
        for session_zone in ("UTC", "America/New_York", "Asia/Kolkata"):
            spark.conf.set("spark.sql.session.timeZone", session_zone)
            df = spark.createDataFrame([(i, t) for i, t in enumerate(texts)], "i int, raw string")
            typed, parsed = typed_value(F.col("raw"), col)
            got = df.select(
                "i",
                F.unix_micros(typed).alias("us"),
                parsed.alias("ok"),
                F.unix_micros(_plain_timestamp_utc(F.col("raw"))).alias("plain"),
            ).collect()
            by_text = {texts[r["i"]]: (r["us"], r["ok"], r["plain"]) for r in got}
            for text, expected in HOSTILE_TIMESTAMPS:
                us, ok, plain = by_text[text]
                assert (us, ok) == (expected, text is None or expected is not None), (
                    session_zone,
                    text,
                )
                assert us == plain, (session_zone, text)
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone or "UTC")


def test_fraction_quirks_read_as_the_plain_cast_does(spark: SparkSession) -> None:
    # Not the contract's form, and typed exactly as before the fast path: Spark's cast
    # truncates a seventh fraction digit and reads a bare trailing point as no fraction.
    texts = ["2024-03-10 07:30:00.1234567", "2024-03-10 07:30:00."]
    df = spark.createDataFrame([(t,) for t in texts], "raw string")
    typed, _ = typed_value(F.col("raw"), Column("at", "timestamp", nullable=True))
    got = df.select(F.unix_micros(typed), F.unix_micros(_plain_timestamp_utc(F.col("raw"))))
    at = _us(2024, 3, 10, 7, 30)
    assert [tuple(r) for r in got.collect()] == [(at + 123_456,) * 2, (at, at)]


def test_hostile_json(spark: SparkSession) -> None:
    col = Column("j", "json", nullable=True)
    valid = [
        '{"a": [1, "x,y"]}',
        "[]",
        "{}",
        '"s"',
        "0",
        "-1.5e3",
        "true",
        "null",
        '{"a": {"b": [{"c": null}]}}',
        '{"a": "\\u0001 and \\t escaped"}',
        '{"a": "caf\u00e9 \U0001f600"}',
        '\n{\t"a": 1\r\n}\n',  # control characters as whitespace between tokens
        "  [1]  ",
    ]
    invalid = [
        "{bad",
        '{"a":1} x',
        '{"a":1}}',
        '{"a":}',
        "[1,]",
        "",
        "   ",
        "\n",
        "1, 2",  # two documents
        '{"a": 1}, {"b": 2}',
        "NaN",  # not JSON (PostgreSQL refuses it too)
        "-Infinity",
        '{"a": NaN}',
        '{"a": "raw\ttab"}',  # a control character inside a string must be escaped
        '{"a": "raw\nnewline"}',
        "nul",
        "undefined",
    ]
    got = _cast(spark, col, [*valid, *invalid, None])
    assert got == [(v, True) for v in valid] + [(None, False) for _ in invalid] + [(None, True)]


def test_json_edges(spark: SparkSession) -> None:
    """Texts at the edges of what Spark's JSON functions accept: a wrapping array closed early,
    single quotes, nesting, escapes and whitespace get the verdicts JSON gives."""
    col = Column("j", "json", nullable=True)
    valid = [
        '{"a": "]", "b": "[", "c": "}{"}',  # brackets inside strings
        '{"a": "\\\\"}',  # an escaped backslash ends the string
        '{"a": "\\"}"}',
        '{"a": "\\/\\b\\f\\n\\r\\t\\uD83D\\uDE00"}',
        '{"a":1,"b":null}',  # no spaces
        '{ "a" :  1 ,  "b" : true }',
        '{"a": 1, "a": 2}',  # a repeated name is still JSON
        '{"a": 0, "b": -0.5, "c": 1E+10, "d": 123456789012345678901234567890}',
        '{"a": [[1, [2]], {"b": [3]}]}',  # nesting
        '{"a": ["it\'s"], "b\'": 1}',  # a single quote inside strings
        "[[], [[]], [{}]]",
        '["]", "[", "\\"]"]',
        '{"a": "x"}\t',  # whitespace other than spaces
        "\r\n[1]",
        '{"a": "\u007f"}',  # DEL is no control character in JSON
        "123",
        '"a string"',
        "false",
    ]
    invalid = [
        "1] [2",  # closes the wrapping array early: the rest was never read
        '"a"] ["b"',
        "[1]] [[2",
        '{"a": 1}] [{"b": 2}',
        "1] x",
        '{"a": 01}',  # leading zero
        '{"a": 1.}',
        '{"a": .5}',
        '{"a": +1}',
        '{"a": 1e}',
        '{"a": "\\x"}',  # no such escape
        '{"a": "\\u12"}',
        '{"a": "\\"}',  # the quote is escaped: the string never ends
        '{"a": "x"',
        '{"a" "x"}',
        '{"a": "x",}',
        '{,"a": 1}',
        "{'a': 1}",  # single quotes (Spark's own JSON functions accept them, for Hive)
        "['a']",
        "'a'",
        "{a: 1}",
        '{"a": True}',
        '{"a": nul}',
        '{"a": 1} {"b": 2}',
        '{"a": "x\u0000y"}',  # a raw NUL inside a string
        '{"a": 1}\u0001',  # a control character that is no JSON whitespace
        "\u00a0{}",  # a no-break space is no JSON whitespace
        "[1]]",
        "]",
        "[",
        ",",
    ]
    got = _cast(spark, col, [*valid, *invalid])
    assert got == [(v, True) for v in valid] + [(None, False) for _ in invalid], [
        (t, ok) for t, (_, ok) in zip([*valid, *invalid], got, strict=True)
    ]


def test_a_trailing_line_break_is_an_error_in_every_strict_type(spark: SparkSession) -> None:
    # Java's "$" (Spark's rlike) also matches before a final line terminator, and Spark's casts
    # trim it away: a pattern ending in "$" would type "42\n" as 42 instead of quarantining it.
    good = {
        "uuid": "0e0e0e0e-1111-2222-3333-44444444abcd",
        "int": "42",
        "bigint": "-7",
        "decimal(12,2)": "12.50",
        "decimal(10,0)": "12",
        "date": "2024-02-29",
        "timestamp": "2024-03-10 07:30:00",
    }
    for kind, text in good.items():
        col = Column("c", kind, nullable=True)
        texts = [text] + [text + end for end in ("\n", "\r\n", "\r", "\u2028", "\u0085")]
        if kind == "timestamp":
            texts += [text + "Z\n", text + "+02:00\n"]
        got = _cast(spark, col, texts)
        assert got[0][1] is True, kind
        assert got[0][0] is not None, kind
        assert got[1:] == [(None, False)] * (len(texts) - 1), (kind, got)


def test_hostile_uuids(spark: SparkSession) -> None:
    col = Column("id", "uuid", nullable=True)
    good = "0e0e0e0e-1111-2222-3333-44444444aBcD"
    bad = [
        "0e0e0e0e-1111-2222-3333-44444444abc",  # 35 characters
        "0e0e0e0e-1111-2222-3333-44444444abcde",  # 37
        "0e0e0e0e1111222233334444444abcd",
        "{0e0e0e0e-1111-2222-3333-44444444abcd}",
        "0e0e0e0e-1111-2222-3333-44444444abcg",
        "0e0e0e0e_1111_2222_3333_44444444abcd",
        " 0e0e0e0e-1111-2222-3333-44444444abcd",
        "0e0e0e0e-1111-2222-3333-44444444abc\u0661",
        "",
    ]
    assert _cast(spark, col, [good, *bad]) == [(good.lower(), True)] + [(None, False)] * len(bad)


def test_uuid_digits_are_exactly_the_hexadecimal_ones(spark: SparkSession) -> None:
    # Whatever form the patterns take (ranges, or the digits spelled out): any character put in
    # a digit's place must type exactly when it is one of the 22 hexadecimal spellings, with the
    # neighbours of each range, every control and Latin-1 character and look-alikes (full-width,
    # Arabic-Indic digits, dotted capital I, Kelvin sign) refused.
    col = Column("id", "uuid", nullable=True)
    hexdigits = set("0123456789abcdefABCDEF")
    others = [0x0130, 0x0131, 0x017F, 0x0660, 0x0669, 0x212A, 0xFF10, 0xFF21, 0xFF41, 0xFF46]
    chars = [chr(c) for c in [*range(0x00, 0x250), *others]]
    lower = "0e0e0e0e-1111-2222-3333-44444444abcd"
    upper = lower.upper()
    # A character in the first and in the last place, of a lower-case UUID (the kept form) and of
    # an upper-case one (matched again and lowered).
    cases = [(t, i, ch) for t in (lower, upper) for i in (0, 35) for ch in chars]
    got = _cast(spark, col, [t[:i] + ch + t[i + 1 :] for t, i, ch in cases])
    want = [
        ((t[:i] + ch + t[i + 1 :]).lower(), True) if ch in hexdigits else (None, False)
        for t, i, ch in cases
    ]
    assert got == want
    assert sum(ok for _, ok in got) == 4 * len(hexdigits)
