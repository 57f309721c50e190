"""Typing raw strings: exact decimals, strict booleans, UTC timestamps, validated JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from lakehouse_glue.casting import typed_value
from lakehouse_glue.model import Column
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812

from tests.support.spark import assertDataFrameEqual


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
    assert _cast(spark, uuid_col, ["0E0E0E0E-1111-2222-3333-444444444444", "nope"]) == [
        ("0e0e0e0e-1111-2222-3333-444444444444", True),
        (None, False),
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
    assertDataFrameEqual(
        df.select(typed.alias("v"), parsed.alias("ok")),
        spark.createDataFrame(
            [(datetime(2024, 2, 29).date(), True), (None, False)], "v date, ok boolean"
        ),
    )
