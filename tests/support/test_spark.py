"""The frame comparison every Spark test relies on fails when it should, and only then."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import DataFramesNotEqualError, SchemasNotEqualError
from pyspark.sql import DataFrame, SparkSession

from tests.support.spark import FLOAT_TOLERANCE, assert_frames_equal

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = "id string not null, amount decimal(12,2), ratio double"
ROWS = [("a", Decimal("1.10"), 0.5), ("b", None, 1e6), ("c", Decimal("3.00"), float("nan"))]
# Only what cannot import beside pandas 3 (and once needed a by-path loader) is refused here.
REFUSED = ("pyspark.testing", "pyspark.pandas")


def _frame(
    spark: SparkSession, rows: Sequence[tuple[object, ...]], schema: str = SCHEMA
) -> DataFrame:
    return spark.createDataFrame(rows, schema)


def test_the_same_rows_in_another_order_and_nullability_are_equal(spark: SparkSession) -> None:
    expected = _frame(spark, ROWS)
    nullable_id = SCHEMA.replace(" not null", "")
    assert_frames_equal(_frame(spark, ROWS[::-1], nullable_id), expected)
    assert_frames_equal(expected, expected.collect()[::-1])


def test_floats_are_equal_within_the_tolerance_only(spark: SparkSession) -> None:
    # 1e6 leaves room for a tolerance relative to the value (PySpark's allows 10 here): not ours.
    near = [*ROWS[:1], ("b", None, 1e6 + FLOAT_TOLERANCE / 2), *ROWS[2:]]
    assert_frames_equal(_frame(spark, near), _frame(spark, ROWS))
    far = [*ROWS[:1], ("b", None, 1e6 + 1e-6), *ROWS[2:]]
    with pytest.raises(DataFramesNotEqualError):
        assert_frames_equal(_frame(spark, far), _frame(spark, ROWS))


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([("a", Decimal("1.11"), 0.5), *ROWS[1:]], id="a differing value"),
        pytest.param([ROWS[0], ("b", Decimal("0.00"), 1e6), ROWS[2]], id="a value for a null"),
        pytest.param([*ROWS[:2], ("c", Decimal("3.00"), 0.0)], id="a number for NaN"),
        pytest.param(ROWS[:2], id="a missing row"),
        pytest.param([*ROWS, ROWS[0]], id="an extra row"),
        pytest.param([ROWS[0], *ROWS[:2]], id="a duplicated row in place of another"),
    ],
)
def test_different_rows_fail(spark: SparkSession, rows: Sequence[tuple[object, ...]]) -> None:
    with pytest.raises(DataFramesNotEqualError):
        assert_frames_equal(_frame(spark, rows), _frame(spark, ROWS))
    with pytest.raises(DataFramesNotEqualError):  # either side, and as collected rows
        assert_frames_equal(_frame(spark, ROWS), _frame(spark, rows).collect())


@pytest.mark.parametrize(
    "schema",
    [
        pytest.param(SCHEMA.replace("decimal(12,2)", "decimal(18,2)"), id="decimal precision"),
        pytest.param(SCHEMA.replace("ratio double", "ratio float"), id="float for double"),
        pytest.param(SCHEMA.replace("amount", "total"), id="a column name"),
        pytest.param("amount decimal(12,2), id string, ratio double", id="column order"),
    ],
)
def test_a_different_schema_fails(spark: SparkSession, schema: str) -> None:
    rows = ROWS if schema.startswith("id") else [(r[1], r[0], r[2]) for r in ROWS]
    with pytest.raises(SchemasNotEqualError):
        assert_frames_equal(_frame(spark, rows, schema), _frame(spark, ROWS))


def test_a_different_type_fails_even_as_collected_rows(spark: SparkSession) -> None:
    # Rows collected earlier are read with the actual schema: a string is no decimal.
    as_text = _frame(spark, ROWS, SCHEMA.replace("decimal(12,2)", "string")).collect()
    with pytest.raises(TypeError, match="DecimalType"):
        assert_frames_equal(_frame(spark, ROWS), as_text)


def test_nested_and_map_columns_compare_in_any_order(spark: SparkSession) -> None:
    # Spark orders neither maps nor (when hashing, as chispa does) anything holding one.
    schema = "id int, tags map<string,int>, items array<struct<k:string,v:map<string,int>>>"
    rows = [(i, {"x": i}, [("k", {"y": i})]) for i in range(3)] + [(0, {"x": 9}, [])]
    assert_frames_equal(_frame(spark, rows[::-1], schema), _frame(spark, rows, schema))
    changed = [*rows[:3], (0, {"x": 8}, [])]
    with pytest.raises(DataFramesNotEqualError):
        assert_frames_equal(_frame(spark, changed, schema), _frame(spark, rows, schema))


def test_the_session_never_imports_pandas_on_spark() -> None:
    # In a whole run every test module is imported (collected) before this test runs.
    assert not [m for m in sys.modules if m.startswith(REFUSED)]
    code = (
        "import importlib, sys, tests.conftest as c;"
        "[importlib.import_module(m) for m in c.pytest_plugins];"
        f"print([m for m in sys.modules if m.startswith({REFUSED!r})])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
