"""The one builder of test lakes (:func:`build_lake`), its pieces and its fixtures.

A lake is built in one of three layouts, each as fast as the tests that read it allow:

- ``"pipeline"``: the real thing. A source database is seeded (``scale``, ``seed``), replicated
  once into bronze, and the whole pipeline (silver, gold, quality) runs on Spark.
- ``"parquet"``: no Spark, seconds. The eight tables are created from ``entities.json`` and
  filled with deterministic awkward rows (:mod:`tests.support.lake_rows`), then written out by
  the contracts: bronze as DMS full-load CSV, silver and every gold mart as Parquet.
- ``"iceberg"``: no source database. ``silver.tenants`` and ``silver.orders`` as Iceberg tables
  in the Hadoop layout, committed in three snapshots (:mod:`tests.support.lake_iceberg`).

Every layout uses the same three tenants (:data:`TENANTS`) except the seeded one, whose tenants
the seed draws; ``crawled`` registers the lake's tables in the local catalog as ``lakehouse
crawl`` does.

Fixtures (registered for every test package by the root ``conftest.py``):

- ``e2e_lake`` (session): the pipeline layout at scale 0.02, seed 7. Read-only.
- ``athena_lake`` (session): the parquet layout, crawled. Read-only.
- ``iceberg_lake`` (per test): the iceberg layout, crawled; tests may commit to it. Tests of
  crawling itself build it with ``crawled=False``.
"""

from __future__ import annotations

import hashlib
import runpy
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import psycopg
import pytest
from lakehouse_glue.changes import LINEAGE
from lakehouse_glue.model import Entity, load_declaration
from psycopg import sql
from pyspark.sql import DataFrame, SparkSession

from lakehouse.catalog.crawler import crawl
from lakehouse.config import Settings
from lakehouse.db.cluster import LocalCluster
from lakehouse.db.roles import Role
from lakehouse.glue.runner import ensure_stubs_on_path, job_scripts
from tests.support import tables
from tests.support.lake_iceberg import TENANTS, IcebergLake, build_iceberg_tables
from tests.support.lake_rows import write_parquet_lake
from tests.support.postgres import role_dsn

Layout = Literal["pipeline", "parquet", "iceberg"]

__all__ = ["TENANTS", "IcebergLake", "Lake", "build_lake"]


@dataclass(frozen=True)
class Lake:
    """A built lake: its settings, its source database (maintenance role) and its tenants."""

    settings: Settings
    dsn: str = ""
    tenant_ids: dict[str, str] = field(default_factory=dict)  # slug -> id


def lake_settings(root: Path, dsn: str | None = None, role: Role = "maintenance") -> Settings:
    """Settings of a lake at ``root`` with its own replication slot and state folder.

    ``dsn`` is a test database's maintenance URL; the application connects as ``role`` (the
    dashboards' tests need the app's login role), the replicator as the replicator role.
    Without ``dsn``: a lake without a source, read and written in place (no ``.env``).
    """
    if dsn is None:
        return Settings(lake=str(root), _env_file=None)  # type: ignore[call-arg]
    return Settings(
        lake=str(root),
        database_url=role_dsn(dsn, role),
        owner_database_url=role_dsn(dsn, "owner"),
        maintenance_database_url=dsn,
        replicator_database_url=role_dsn(dsn, "replicator"),
        slot_name=f"test_{uuid.uuid4().hex[:12]}",
        state_dir=root / ".state",
    )


def lake_environment(settings: Settings) -> dict[str, str]:
    """The variables that give a new process (or the CLI's settings) the lake of ``settings``."""
    assert settings.database_url is not None
    urls = {
        "DATABASE_URL": settings.database_url,
        "LAKEHOUSE_OWNER_DATABASE_URL": settings.owner_database_url,
        "LAKEHOUSE_MAINTENANCE_DATABASE_URL": settings.maintenance_database_url,
        "LAKEHOUSE_REPLICATOR_DATABASE_URL": settings.replicator_database_url,
    }
    return {
        "LAKEHOUSE_LAKE": settings.lake_uri,
        "LAKEHOUSE_SLOT": settings.slot_name,
        "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
        "LAKEHOUSE_COMPACT_BUCKET_FILES": str(settings.compact_bucket_files),
        **{name: url for name, url in urls.items() if url},
    }


def file_fingerprints(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file below ``root`` by relative path: size, modification time, content digest
    (equal before and after means nothing there was written, not even rewritten the same)."""
    out: dict[str, tuple[int, int, str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns, digest)
    return out


def replicate_once(settings: Settings) -> None:
    from lakehouse.replicate import run_once

    run_once(settings)


def drop_slot(dsn: str, slot: str) -> None:
    """Drop a lake's replication slot (a database holding one cannot be dropped)."""
    with psycopg.connect(role_dsn(dsn, "replicator"), autocommit=True) as conn:
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where slot_name = %s and not active",
            [slot],
        )


@overload
def build_lake(root: Path, layout: Literal["iceberg"], *, crawled: bool = ...) -> IcebergLake: ...
@overload
def build_lake(
    root: Path, layout: Literal["parquet"], *, dsn: str, crawled: bool = ...
) -> Lake: ...
@overload
def build_lake(
    root: Path,
    layout: Literal["pipeline"],
    *,
    dsn: str,
    scale: float = ...,
    seed: int = ...,
    spark: SparkSession | None = ...,
) -> Lake: ...
def build_lake(
    root: Path,
    layout: Layout,
    *,
    dsn: str | None = None,
    crawled: bool = True,
    scale: float = 0.02,
    seed: int = 7,
    spark: SparkSession | None = None,
) -> Lake | IcebergLake:
    """Build a lake under ``root`` in ``layout`` (see the module docstring).

    Args:
        root: The lake's folder (created if missing).
        layout: ``"pipeline"``, ``"parquet"`` or ``"iceberg"``.
        dsn: The source database: for the pipeline layout an empty migrated database's
            maintenance URL; for the parquet layout an empty database's superuser URL (the
            tables are created from the declaration).
        crawled: Register the tables in the local catalog (the pipeline always crawls, as its
            last step does).
        scale: The seed's scale (pipeline layout).
        seed: The seed's random seed (pipeline layout).
        spark: The SparkSession the pipeline runs on (pipeline layout).
    """
    if layout == "pipeline":
        assert dsn is not None, "the pipeline layout needs a source database"
        settings = lake_settings(root, dsn, role="app")
        _run_pipeline(settings, dsn, scale=scale, seed=seed, spark=spark)
        return Lake(settings=settings, dsn=dsn, tenant_ids=_tenant_ids(dsn))
    settings = lake_settings(root)
    lake: Lake | IcebergLake
    if layout == "iceberg":
        lake = build_iceberg_tables(root, settings)
    else:
        assert dsn is not None, "the parquet layout needs a source database"
        write_parquet_lake(settings, dsn)
        lake = Lake(settings=settings, dsn=dsn, tenant_ids=dict(TENANTS))
    if crawled:
        crawl(settings, ["silver"] if layout == "iceberg" else ["bronze", "silver", "gold"])
    return lake


def _run_pipeline(
    settings: Settings, dsn: str, *, scale: float, seed: int, spark: SparkSession | None
) -> None:
    from lakehouse.pipeline.run import run_pipeline
    from lakehouse.source.seed import seed as seed_source

    seed_source(dsn, scale=scale, seed=seed, reset=False)
    replicate_once(settings)
    result = run_pipeline(settings, full_refresh=True, spark=spark)
    failed = [(r.job_name, r.error) for r in result.failed]
    assert not failed, failed


def _tenant_ids(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("select slug, id::text from tenants order by slug").fetchall()
    return {str(slug): str(tid) for slug, tid in rows}


@pytest.fixture(scope="session")
def e2e_lake(
    pg_cluster: LocalCluster, migrated_template: str, spark: SparkSession
) -> Iterator[Lake]:
    """Seed (scale 0.02, seed 7) -> replicate once -> full pipeline (silver, gold, quality).

    Session-scoped and shared: tests must not change the database or the lake. Silver equals
    the source (the pipeline tests prove it); gold is whatever the gold jobs make of it.
    """
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    pg_cluster.ensure_database(name, template=migrated_template)
    dsn = pg_cluster.dsn(name, role="maintenance")
    root = Path(tempfile.mkdtemp(prefix="lakehouse-e2e-"))
    lake: Lake | None = None
    try:
        lake = build_lake(root, "pipeline", dsn=dsn, spark=spark)
        yield lake
    finally:
        if lake is not None:
            drop_slot(dsn, lake.settings.slot_name)
        pg_cluster.drop_database(name)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def athena_lake(pg_cluster: LocalCluster) -> Iterator[Lake]:
    """A crawled lake with bronze, silver and every gold mart, and its source database."""
    name = f"athena_{uuid.uuid4().hex[:10]}"
    pg_cluster.ensure_database(name)
    root = Path(tempfile.mkdtemp(prefix="lakehouse-athena-"))
    try:
        yield build_lake(root, "parquet", dsn=pg_cluster.dsn(name))
    finally:
        shutil.rmtree(root, ignore_errors=True)
        pg_cluster.drop_database(name)


@pytest.fixture
def iceberg_lake(tmp_path: Path) -> IcebergLake:
    """The iceberg layout, its silver tables crawled (tests may commit to it)."""
    return build_lake(tmp_path / "lake", "iceberg")


# Reading a lake's tables beside its source (the end-to-end tests' comparisons).


def entities() -> list[Entity]:
    return list(load_declaration().entities)


def cleaner(entity: Entity) -> Any:
    """The cleaning rules of the entity's job script (so the test applies the same ones)."""
    ensure_stubs_on_path()
    module = runpy.run_path(str(job_scripts()[entity.silver_job_name]), run_name="loaded")
    return module["CLEAN"]


def source_frame(spark: SparkSession, dsn: str, entity: Entity) -> DataFrame:
    """The PostgreSQL table as a typed DataFrame, cleaned like silver (uuid/json as text)."""
    cols = [
        sql.SQL("{}::text").format(sql.Identifier(c.name))
        if c.type in ("uuid", "json")
        else sql.Identifier(c.name)
        for c in entity.columns
    ]
    query = sql.SQL("select {} from {}.{}").format(
        sql.SQL(", ").join(cols), sql.Identifier(entity.schema), sql.Identifier(entity.name)
    )
    with psycopg.connect(dsn) as conn:
        conn.execute("set time zone 'UTC'")
        rows = conn.execute(query).fetchall()
    ddl = ", ".join(f"`{c.name}` {c.spark_type}" for c in entity.columns)
    df = spark.createDataFrame(rows, ddl)
    clean = cleaner(entity)
    return clean(df) if clean is not None else df


def silver_frame(spark: SparkSession, settings: Settings, entity: Entity) -> DataFrame:
    """The silver table's declared columns (lineage dropped), at its current snapshot."""
    return silver_with_lineage(spark, settings, entity).select(*entity.column_names)


def silver_with_lineage(spark: SparkSession, settings: Settings, entity: Entity) -> DataFrame:
    return tables.read(spark, tables.silver_table(spark, settings, entity.name))


def without_processed_at(df: DataFrame) -> DataFrame:
    return df.drop(LINEAGE[-1])
