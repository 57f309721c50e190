"""A local SparkSession for the whole test session, and the one policy for comparing frames.

``assert_frames_equal`` is chispa's ``assert_approx_df_equality`` (chispa is a maintained
library made for the job; ``pyspark.testing`` imports pandas-on-Spark, which PySpark 3.5 cannot
import beside pandas 3 and NumPy 2). The policy every Spark test relies on:

- rows in any order, but each as many times as the other side has it (a multiset);
- schemas equal by column names, order and types (decimal precision and scale included, which
  PySpark's ``assertDataFrameEqual`` did not compare), blind to nullability and to column
  metadata, as that function was;
- floats equal within ``FLOAT_TOLERANCE`` (absolute), never looser than PySpark's
  ``assertDataFrameEqual`` default (``1e-8 + 1e-5 * |expected|``); NaN equals only NaN.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import ArrayType, DataType, MapType, StructType

from lakehouse.config import Settings
from lakehouse.glue.iceberg import session_config as iceberg_session_config
from lakehouse.glue.iceberg import skip_local_checksums
from lakehouse.glue.jvmnames import remember_names
from lakehouse.glue.runner import local_fs_config

FLOAT_TOLERANCE = 1e-8


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local SparkSession for the whole test session (UTC, small shuffles, no UI, Iceberg)."""
    # Python workers must run this interpreter (the venv with lakehouse_glue and pandas).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("lakehouse-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
    )
    # The same Iceberg runtime and SQL extensions as the pipeline's session.
    # and the same local file system (permissions set in the JVM, see lakehouse.glue.localfs).
    for key, value in {**iceberg_session_config(Settings()), **local_fs_config(Settings())}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    skip_local_checksums(session)  # as the pipeline's session
    remember_names(session.sparkContext._jvm)  # as the pipeline's session
    try:
        yield session
    finally:
        session.stop()


def assert_frames_equal(actual: DataFrame, expected: DataFrame | list[Row]) -> None:
    """Assert that ``actual`` holds the rows of ``expected`` under the policy above.

    Args:
        actual: The frame under test.
        expected: The expected frame, or rows collected earlier (a snapshot of a table that
            has changed since), read with ``actual``'s schema.

    Raises:
        chispa.SchemasNotEqualError: The column names, order or types differ.
        chispa.DataFramesNotEqualError: The rows differ; the message shows both sides.
    """
    if isinstance(expected, list):
        expected = actual.sparkSession.createDataFrame(expected, actual.schema)
    for frame in (actual, expected):
        # chispa compares rows as dicts: a repeated name would hide a column.
        assert len(set(frame.columns)) == len(frame.columns), f"repeated columns: {frame.columns}"
    assert_approx_df_equality(
        actual,
        expected,
        FLOAT_TOLERANCE,
        ignore_nullable=True,
        allow_nan_equality=True,
        transforms=[_without_metadata, _in_one_order],
    )


def _without_metadata(df: DataFrame) -> DataFrame:
    return df.select([F.col(f"`{c}`").alias(c, metadata={}) for c in df.columns])


def _in_one_order(df: DataFrame) -> DataFrame:
    """Both sides in the same row order (which one does not matter: rows are then paired).

    Not chispa's ``ignore_row_order``: it hashes nested columns, and Spark can neither hash nor
    order a map, so a column holding one is ordered by its JSON text here. One partition sorted
    within itself costs about a plain collect of these small frames; a global sort adds a
    sampling job and a shuffle to every comparison.
    """
    keys = [_sort_key(f"`{f.name}`", f.dataType) for f in df.schema.fields]
    return df.coalesce(1).sortWithinPartitions(*keys)


def _sort_key(name: str, data_type: DataType) -> Column:
    return F.to_json(F.col(name)) if _holds_a_map(data_type) else F.col(name)


def _holds_a_map(data_type: DataType) -> bool:
    if isinstance(data_type, MapType):
        return True
    if isinstance(data_type, ArrayType):
        return _holds_a_map(data_type.elementType)
    if isinstance(data_type, StructType):
        return any(_holds_a_map(f.dataType) for f in data_type.fields)
    return False
