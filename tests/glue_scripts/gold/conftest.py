"""Fixtures of the gold tests: a source database with data, and its tables as silver inputs.

``silver_inputs`` is a test-input adapter, not a stand-in for the data path: it loads the
PostgreSQL tables into Spark with exactly the silver schema (declared columns, Spark types from
``entities.json``, ``tenant_id`` on tenants), so the gold transforms can be checked against
PostgreSQL on their own. The end-to-end test runs the real silver jobs instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from lakehouse_glue.gold.io import gold_input_schema
from lakehouse_glue.model import load_declaration
from pyspark.sql import DataFrame, SparkSession

from lakehouse.db.cluster import LocalCluster
from tests.glue_scripts.gold import dataset

#: Scale of the real seed in the gold tests (about 12,000 rows).
SEED_SCALE = 0.02


@pytest.fixture(scope="module")
def gold_source(pg_cluster: LocalCluster, migrated_template: str) -> Iterator[str]:
    """DSN of a migrated source database holding the hand-shaped gold data set."""
    name = f"gold_{uuid.uuid4().hex[:12]}"
    pg_cluster.ensure_database(name, template=migrated_template)
    dsn = pg_cluster.dsn(name)
    dataset.insert(dsn, dataset.build())
    try:
        yield dsn
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture(scope="module")
def seeded_source(pg_cluster: LocalCluster, migrated_template: str) -> Iterator[str]:
    """DSN of a migrated source database holding the real seed at a small scale."""
    from lakehouse.source.seed import seed

    name = f"gold_seed_{uuid.uuid4().hex[:10]}"
    pg_cluster.ensure_database(name, template=migrated_template)
    dsn = pg_cluster.dsn(name)
    seed(dsn, scale=SEED_SCALE, seed=7, reset=False)
    try:
        yield dsn
    finally:
        pg_cluster.drop_database(name)


def _select_list(entity_name: str) -> str:
    entity = load_declaration().entity(entity_name)
    cols: list[str] = []
    for c in entity.columns:
        # uuid and jsonb travel as text, as in silver (Column.spark_type is string for both).
        cols.append(f"{c.name}::text" if c.type in ("uuid", "json") else c.name)
    if "tenant_id" not in entity.column_names:
        cols.append(f"{entity.tenant_column}::text as tenant_id")
    return ", ".join(cols)


def load_silver_inputs(spark: SparkSession, dsn: str) -> dict[str, DataFrame]:
    """Every source table as a DataFrame with the silver schema (read once, cached)."""
    frames: dict[str, DataFrame] = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for entity in load_declaration().entities:
            cur.execute(f"select {_select_list(entity.name)} from {entity.schema}.{entity.name}")
            rows: list[tuple[Any, ...]] = cur.fetchall()
            df = spark.createDataFrame(rows, gold_input_schema(entity.name)).cache()
            frames[entity.name] = df
    return frames


@pytest.fixture(scope="module", params=["handmade", "seeded"])
def source_and_inputs(
    request: pytest.FixtureRequest, spark: SparkSession
) -> Iterator[tuple[str, dict[str, DataFrame]]]:
    """(DSN, silver inputs) of the hand-shaped data set, then of the real seed."""
    dsn: str = request.getfixturevalue(
        "gold_source" if request.param == "handmade" else "seeded_source"
    )
    frames = load_silver_inputs(spark, dsn)
    yield dsn, frames
    for df in frames.values():
        df.unpersist()
