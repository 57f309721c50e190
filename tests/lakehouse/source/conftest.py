"""Seeded source databases shared by the read-only tests of this folder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from lakehouse.db.cluster import LocalCluster
from lakehouse.source.seed import seed

SMALL_SCALE = 0.02
SEED = 42


def table_digests(dsn: str, tables: list[str]) -> dict[str, str]:
    """md5 of every table's rows in their text form, ordered by id."""
    out: dict[str, str] = {}
    with psycopg.connect(dsn) as conn:
        for table in tables:
            row = conn.execute(
                f"select md5(coalesce(string_agg(t::text, E'\\n' order by t.id), '')) "
                f"from {table} t"
            ).fetchone()
            assert row is not None
            out[table] = row[0]
    return out


@pytest.fixture(scope="module")
def seeded_db(pg_cluster: LocalCluster, migrated_template: str) -> Iterator[str]:
    """A source database seeded at a small scale; tests must not modify it."""
    name = f"seeded_{uuid.uuid4().hex[:10]}"
    pg_cluster.ensure_database(name, template=migrated_template)
    dsn = pg_cluster.dsn(name)
    seed(dsn, scale=SMALL_SCALE, seed=SEED, reset=False)
    yield dsn
    pg_cluster.drop_database(name)
