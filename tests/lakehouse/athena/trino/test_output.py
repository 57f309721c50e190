"""Values printed as Athena's result CSV prints them (Java number formatting, nested types)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from lakehouse.athena.trino.output import java_double, java_float, render


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.0, "3.0"),
        (0.5, "0.5"),
        (1e7, "1.0E7"),
        (9999999.0, "9999999.0"),
        (123456789.123, "1.23456789123E8"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (-2.5, "-2.5"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (-0.0, "-0.0"),
        (2.0**63, "9.223372036854776E18"),
    ],
)
def test_doubles_print_as_java_does(value: float, text: str) -> None:
    assert java_double(value) == text


def test_reals_print_their_float_digits() -> None:
    assert java_float(0.1) == "0.1"  # not 0.10000000149011612
    assert render(0.1, "FLOAT") == "0.1"


def test_scalars() -> None:
    assert render(True, "BOOLEAN") == "true"
    assert render(Decimal("1.50"), "DECIMAL(3,2)") == "1.50"
    assert render(Decimal("0E-10"), "DECIMAL(20,10)") == "0.0000000000"
    assert render(date(2020, 1, 2), "DATE") == "2020-01-02"
    assert render(datetime(2001, 8, 22, 3, 4, 5, 321999), "TIMESTAMP") == "2001-08-22 03:04:05.321"
    assert render(datetime(2001, 8, 22, 3, 4, 5), "TIMESTAMP") == "2001-08-22 03:04:05.000"
    tz = datetime(2001, 8, 22, 3, 4, 5, tzinfo=UTC)
    assert render(tz, "TIMESTAMP WITH TIME ZONE") == "2001-08-22 03:04:05.000 UTC"
    assert render(time(4, 0), "TIME") == "04:00:00.000"
    assert render(timedelta(days=2, hours=3), "INTERVAL") == "2 03:00:00.000"
    assert render(b"abc", "BLOB") == "61 62 63"
    assert render(None, "INTEGER") is None


def test_nested_values() -> None:
    assert render([1, None, 3], "INTEGER[]") == "[1, null, 3]"
    assert render(["a", "b"], "VARCHAR[]") == "[a, b]"
    assert render({"a": 1, "b": None}, "MAP(VARCHAR, INTEGER)") == "{a=1, b=null}"
    assert render({"k": [1.0]}, "MAP(VARCHAR, DOUBLE[])") == "{k=[1.0]}"
    assert render((1, "x"), "STRUCT(INTEGER, VARCHAR)") == "{field0=1, field1=x}"
    assert render({"v1": 1, "v2": "abc"}, 'STRUCT(v1 BIGINT, "v 2" VARCHAR)') == "{v1=1, v 2=abc}"
    assert render([[1, 2], [3]], "INTEGER[][]") == "[[1, 2], [3]]"
