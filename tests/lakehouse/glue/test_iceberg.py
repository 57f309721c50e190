"""The local Iceberg runtime: which jar, which session settings, one catalog name per lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.iceberg import EXTENSIONS, catalog_name, runtime_jar, session_config


def test_the_pinned_wheel_carries_iceberg_1_10_for_spark_3_5_and_scala_2_12() -> None:
    jar = runtime_jar(Settings())
    assert jar.name == "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
    assert jar.is_file()
    assert session_config(Settings()) == {
        "spark.jars": str(jar),
        "spark.sql.extensions": EXTENSIONS,
    }


def test_a_jar_setting_wins_and_a_missing_jar_is_named(tmp_path: Path) -> None:
    other = tmp_path / "iceberg-spark-runtime-3.5_2.12-9.9.9.jar"
    other.write_bytes(b"PK")
    assert runtime_jar(Settings(iceberg_runtime_jar=other)) == other.resolve()
    missing = tmp_path / "nope.jar"
    with pytest.raises(LakehouseError, match=r"LAKEHOUSE_ICEBERG_JAR=.*nope\.jar is not a file"):
        runtime_jar(Settings(iceberg_runtime_jar=missing))


def test_catalog_names_are_identifiers_one_per_lake(tmp_path: Path) -> None:
    a = catalog_name(str(tmp_path / "a"))
    assert a == catalog_name(str(tmp_path / "a") + "/")
    assert a != catalog_name(str(tmp_path / "b"))
    assert a.isidentifier()
