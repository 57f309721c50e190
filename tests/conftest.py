"""Session fixtures that start real things: a PostgreSQL 15 cluster and migrated databases.

The cluster lives in a fresh folder under /tmp on a free port and is destroyed at the end of
the session. Each test that needs a source database gets its own, cloned from a migrated
template, so tests never see each other's rows, slots or files.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.db.cluster import LocalCluster, free_port
from lakehouse.db.migrate import migrate

TEMPLATE_DB = "lakehouse_template"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    """A private PostgreSQL 15 cluster for the whole test session."""
    root = Path(tempfile.mkdtemp(prefix="lakehouse-test-pg-"))
    os.chmod(root, 0o755)  # the unprivileged server user must reach it when we are root
    cluster = LocalCluster(root / "pg", free_port(), db_name="postgres")
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()
        root.rmdir() if root.exists() and not any(root.iterdir()) else None


@pytest.fixture(scope="session")
def migrated_template(pg_cluster: LocalCluster) -> str:
    """Name of a database holding the migrated source schema (no rows), used as a template."""
    pg_cluster.ensure_database(TEMPLATE_DB)
    migrate(pg_cluster.dsn(TEMPLATE_DB))
    return TEMPLATE_DB


@pytest.fixture
def make_source_db(pg_cluster: LocalCluster, migrated_template: str) -> Iterator[Callable[[], str]]:
    """Factory: a new, empty, migrated source database; returns its DSN. Dropped afterwards."""
    created: list[str] = []

    def make() -> str:
        name = f"src_{uuid.uuid4().hex[:12]}"
        pg_cluster.ensure_database(name, template=migrated_template)
        created.append(name)
        return pg_cluster.dsn(name)

    yield make
    for name in created:
        pg_cluster.drop_database(name)


@pytest.fixture
def source_db(make_source_db: Callable[[], str]) -> str:
    """DSN of a fresh, empty, migrated source database."""
    return make_source_db()


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local SparkSession for the whole test session (UTC, small shuffles, no UI)."""
    # Python workers must run this interpreter (the venv with lakehouse_glue and pandas).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("lakehouse-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
