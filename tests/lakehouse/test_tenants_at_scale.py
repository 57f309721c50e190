"""Isolation at 10,000 tenants on real components: one lake seeded with 10,000 tenants of Zipf
sizes at a tiny volume, replicated and run through the whole pipeline (silver, history, gold);
for the largest, a tiny, an empty and the last tenant every table scoped to it holds exactly
that tenant's rows (equal to PostgreSQL's, or to the unscoped rows of that tenant for gold),
``$files``, ``$partitions`` and time travel included.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import Entity, load_declaration
from pyspark.sql import SparkSession

from lakehouse.athena.engine import AthenaEngine
from lakehouse.config import Settings
from lakehouse.db.cluster import LocalCluster
from lakehouse.pipeline.run import run_pipeline
from lakehouse.source.seed import seed
from tests.support.lake import drop_slot, lake_settings, replicate_once

pytestmark = pytest.mark.slow

TENANTS = 10_000
SCALE = 0.01


@dataclass(frozen=True)
class ManyTenants:
    dsn: str
    settings: Settings


@pytest.fixture(scope="module")
def many(
    pg_cluster: LocalCluster, migrated_template: str, spark: SparkSession
) -> Iterator[ManyTenants]:
    name = f"many_{uuid.uuid4().hex[:10]}"
    pg_cluster.ensure_database(name, template=migrated_template)
    dsn = pg_cluster.dsn(name, role="maintenance")
    root = Path(tempfile.mkdtemp(prefix="lakehouse-many-"))
    settings = lake_settings(root / "lake", dsn)
    try:
        seed(dsn, scale=SCALE, seed=11, reset=False, tenants=TENANTS)
        replicate_once(settings)
        result = run_pipeline(settings, full_refresh=True, spark=spark)
        assert not [(r.job_name, r.error) for r in result.failed]
        yield ManyTenants(dsn, settings)
    finally:
        drop_slot(dsn, settings.slot_name)
        pg_cluster.drop_database(name)
        shutil.rmtree(root, ignore_errors=True)


def pg(dsn: str, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params or []).fetchall()  # type: ignore[arg-type]


def sample(dsn: str) -> dict[str, str]:
    """The tenants every isolation check runs for: largest, tiny, empty, last (by plan)."""
    counts = dict(
        pg(
            dsn,
            "select t.id::text, count(c.id) from tenants t left join customers c "
            "on c.tenant_id = t.id group by t.id",
        )
    )
    slug = dict(pg(dsn, "select id::text, slug from tenants"))
    by_index = {int(s.rsplit("-", 1)[1]): tid for tid, s in slug.items()}
    return {
        "largest": by_index[1],
        "tiny": next(t for t, n in sorted(counts.items()) if n == 1),
        "empty": next(t for t, n in sorted(counts.items()) if n == 0),
        "last": by_index[TENANTS],
    }


def _ids(entity: Entity, dsn: str, tenant_id: str) -> list[str]:
    rows = pg(
        dsn,
        f'select "{entity.primary_key}"::text from "{entity.name}" '
        f'where "{entity.tenant_column}" = %s order by 1',
        [tenant_id],
    )
    return [r[0] for r in rows]


def _check_tenant(
    engine: AthenaEngine, everyone: AthenaEngine, dsn: str, tenant_id: str, label: str
) -> None:
    def rows(sql: str) -> list[tuple[Any, ...]]:
        return engine.execute(sql)[-1].rows

    for entity in load_declaration().entities:
        want = _ids(entity, dsn, tenant_id)
        key = entity.primary_key
        got = rows(f"select {key}, tenant_id from silver.{entity.name} order by 1")
        assert [r[0] for r in got] == want, (label, entity.name)
        assert {r[1] for r in got} <= {tenant_id}
        history = rows(
            f"select {key}, tenant_id, is_current from silver.{entity.name}_history order by 1"
        )
        assert [r[0] for r in history if r[2]] == want, (label, entity.name)
        assert {r[1] for r in history} <= {tenant_id}
        # Metadata tables: the tenant's own row counts, nothing of the files' other tenants.
        files = rows(
            "select record_count, file_size_in_bytes, lower_bounds, upper_bounds "
            f'from silver."{entity.name}$files"'
        )
        assert sum(f[0] for f in files) == len(want), (label, entity.name)
        assert {f[1:] for f in files} <= {(None, None, None)}
        partitions = rows(f'select record_count, total_size from silver."{entity.name}$partitions"')
        assert partitions == ([(len(want), None)] if want else []), (label, entity.name)
    for mart in load_marts():
        mine = rows(f"select * from gold.{mart.name}")
        theirs = everyone.execute(
            f"select * from gold.{mart.name} where tenant_id = '{tenant_id}'"
        )[-1].rows
        assert Counter(mine) == Counter(theirs), (label, mart.name)
    # Time travel to the first snapshot of a table: still the tenant's rows only.
    first = everyone.execute(
        'select snapshot_id from silver."customers$snapshots" order by committed_at limit 1'
    )[-1].rows[0][0]
    travelled = rows(
        f"select tenant_id, count(*) from silver.customers for version as of {first} group by 1"
    )
    customers = len(_ids(load_declaration().entity("customers"), dsn, tenant_id))
    assert travelled == ([(tenant_id, customers)] if customers else [])


def test_a_tenant_sees_exactly_its_rows_at_10000_tenants(many: ManyTenants) -> None:
    assert pg(many.dsn, "select count(*) from tenants") == [(TENANTS,)]
    with AthenaEngine(many.settings, save_results=False) as everyone:
        for label, tenant_id in sample(many.dsn).items():
            with AthenaEngine(many.settings, tenant=tenant_id, save_results=False) as engine:
                _check_tenant(engine, everyone, many.dsn, tenant_id, label)
