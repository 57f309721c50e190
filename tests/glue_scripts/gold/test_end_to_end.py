"""End to end: PostgreSQL -> replicator (bronze) -> silver jobs -> gold jobs -> gold Parquet.

Every gold mart, read back from the Parquet files the real ``create_gold_<mart>`` scripts wrote
through the local Glue runner, equals the same question asked of PostgreSQL; a second run of the
gold jobs writes the same rows again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration
from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import Settings
from lakehouse.glue.runner import start_job_run
from lakehouse.replicate import ReplicationOptions, Replicator
from tests.glue_scripts.gold import dataset
from tests.support import tables
from tests.support.marts import assert_same_rows
from tests.support.oracle import normalise, postgres_answer

pytestmark = pytest.mark.slow

# Changes made after the full load, so silver is built from CDC files too.
CHANGES = (
    """update orders set status = 'refunded', refunded_at = completed_at + interval '33 days',
       updated_at = now() where status = 'completed' and extract(minute from placed_at) < 12""",
    """update subscriptions set status = 'cancelled',
       cancelled_at = started_at + interval '45 days', updated_at = now()
       where status = 'active' and extract(second from started_at) < 20""",
    "delete from events where event_type = 'search'",
    "update customers set status = 'churned', updated_at = now() where email like 'c1%'",
)


@dataclass
class Lake:
    settings: Settings
    dsn: str


def _drop_slot(dsn: str, slot: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where slot_name = %s and not active",
            (slot,),
        )


@pytest.fixture(scope="module")
def gold_lake(
    tmp_path_factory: pytest.TempPathFactory,
    pg_cluster: object,
    migrated_template: str,
    spark: SparkSession,
) -> Iterator[Lake]:
    """A lake built from the gold data set by the replicator and every silver and gold job."""
    from lakehouse.db.cluster import LocalCluster

    assert isinstance(pg_cluster, LocalCluster)
    name = f"gold_e2e_{uuid.uuid4().hex[:10]}"
    pg_cluster.ensure_database(name, template=migrated_template)
    dsn = pg_cluster.dsn(name)
    root: Path = tmp_path_factory.mktemp("gold-e2e")
    settings = Settings(lake=str(root / "lake"), database_url=dsn, _env_file=None)  # type: ignore[call-arg]
    slot = f"gold_{uuid.uuid4().hex[:10]}"
    options = ReplicationOptions.from_settings(
        settings, slot_name=slot, interval_seconds=0.2, dsn=dsn
    )
    try:
        dataset.insert(dsn, dataset.build())
        Replicator(options).run(once=True)
        with psycopg.connect(dsn) as conn:
            for statement in CHANGES:
                conn.execute(statement)  # type: ignore[arg-type]
        Replicator(options).run(once=True)
        for entity in load_declaration().entities:
            run = start_job_run(
                settings, entity.silver_job_name, {"--full_refresh": "true"}, spark=spark
            )
            assert run.state == "SUCCEEDED", run.error
            assert run.quarantined == 0
        run_gold_jobs(settings, spark)
        yield Lake(settings=settings, dsn=dsn)
    finally:
        _drop_slot(dsn, slot)
        pg_cluster.drop_database(name)


def run_gold_jobs(settings: Settings, spark: SparkSession) -> None:
    for m in load_marts():
        run = start_job_run(settings, m.job_name, {"--full_refresh": "false"}, spark=spark)
        assert run.state == "SUCCEEDED", run.error


def read_gold(spark: SparkSession, settings: Settings, name: str) -> DataFrame:
    return tables.read(spark, tables.gold_table(spark, settings, name))


@pytest.mark.parametrize("name", [m.name for m in load_marts()])
def test_gold_parquet_equals_postgres(name: str, gold_lake: Lake, spark: SparkSession) -> None:
    expected = postgres_answer(gold_lake.dsn, name)
    assert expected
    assert_same_rows(read_gold(spark, gold_lake.settings, name), expected, name)


def test_gold_is_partitioned_by_tenant_one_file_each(gold_lake: Lake, spark: SparkSession) -> None:
    settings = gold_lake.settings
    with psycopg.connect(gold_lake.dsn) as conn:
        tenants = {str(r[0]) for r in conn.execute("select id from tenants").fetchall()}
    summary = tables.files_by_tenant(spark, tables.gold_table(spark, settings, "tenant_summary"))
    assert set(summary) == tenants
    monthly = tables.files_by_tenant(spark, tables.gold_table(spark, settings, "revenue_monthly"))
    assert monthly
    assert all(len(files) == 1 for files in monthly.values())


def test_rerunning_the_gold_jobs_changes_nothing(gold_lake: Lake, spark: SparkSession) -> None:
    def snapshot() -> dict[str, object]:
        return {
            m.name: normalise(
                tuple(r) for r in read_gold(spark, gold_lake.settings, m.name).collect()
            )
            for m in load_marts()
        }

    before = snapshot()
    run_gold_jobs(gold_lake.settings, spark)
    assert snapshot() == before
