"""Helpers of the end-to-end tests: a temporary lake over a seeded source, and comparisons."""

from __future__ import annotations

import runpy
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from lakehouse_glue.changes import LINEAGE
from lakehouse_glue.model import Entity, load_declaration
from psycopg import sql
from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import Settings
from lakehouse.glue.runner import ensure_stubs_on_path, job_scripts
from tests.conftest import role_dsn
from tests.glue_scripts import tables


@dataclass
class Lake:
    """A source database and the lake built from it."""

    dsn: str
    settings: Settings


def lake_settings(root: Path, dsn: str) -> Settings:
    """Settings of a temporary lake with its own replication slot; replication runs as the
    replicator role (``dsn`` is a test database's maintenance URL)."""
    return Settings(
        lake=str(root),
        database_url=dsn,
        replicator_database_url=role_dsn(dsn, "replicator"),
        slot_name=f"test_{uuid.uuid4().hex[:12]}",
        state_dir=root / ".state",
    )


def replicate_once(settings: Settings) -> None:
    from lakehouse.replicate import run_once

    run_once(settings)


def drop_slot(dsn: str, slot: str) -> None:
    with psycopg.connect(role_dsn(dsn, "replicator"), autocommit=True) as conn:
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where slot_name = %s and not active",
            [slot],
        )


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


def entities() -> list[Entity]:
    return list(load_declaration().entities)


def without_processed_at(df: DataFrame) -> DataFrame:
    return df.drop(LINEAGE[-1])
