"""A local SparkSession for the whole test session, and PySpark's DataFrame comparison.

``assertDataFrameEqual`` is PySpark's, importable beside pandas 3 and NumPy 2:
``import pyspark.testing`` runs the package's ``__init__``, which imports pandas-on-Spark, and
PySpark 3.5's pandas-on-Spark fails to import under both (pandas 3 moved names it imports; it
uses ``np.NaN``, removed in NumPy 2.0). The function itself lives in
``pyspark/testing/utils.py``, which tolerates a pandas-on-Spark that raises ``ImportError`` (as
it does under pandas 3), so when the package import fails that one file is loaded directly.
pandas is not pinned below 3: under pandas 2 with NumPy 2 the import fails with an
``AttributeError``, which that function does not catch, and the pinned pyarrow (26) refuses
NumPy 1.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyspark
import pytest
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.glue.iceberg import session_config as iceberg_session_config


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
    for key, value in iceberg_session_config(Settings()).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def _load() -> Callable[..., None]:
    try:
        from pyspark.testing.utils import assertDataFrameEqual

        return assertDataFrameEqual
    except (ImportError, AttributeError):  # pandas 3 or NumPy 2 break pyspark.pandas
        path = Path(pyspark.__file__).parent / "testing" / "utils.py"
        spec = importlib.util.spec_from_file_location("_pyspark_testing_utils", path)
        assert spec is not None
        assert spec.loader is not None
        module: Any = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded: Callable[..., None] = module.assertDataFrameEqual
        return loaded


assertDataFrameEqual = _load()  # noqa: N816 - the PySpark name
