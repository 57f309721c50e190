"""Incremental gold: a run after changes to two tenants rebuilds a small mart whole and
replaces exactly those tenants' rows in a large one.

The lake is built by the real pipeline from a seeded PostgreSQL (24 tenants over 64 buckets, so
some files hold several tenants). Then tenant A has an order refunded and an event deleted, and
tenant B loses every event it had. The next pipeline run declares "small" (``gold.json``
``small_mart``) the half of the changed marts with the fewest rows, so both paths run. After it,
every mart must equal both a full recompute from silver and the same question asked of
PostgreSQL, row for row; a small changed mart must have been rebuilt whole (its commit says
why), and a large one by replacing just those tenants (the commit says how, and how many), with
every data file that held neither tenant still there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold import incremental
from lakehouse_glue.gold.job import build_mart
from lakehouse_glue.gold.marts import SmallMart, load_marts
from lakehouse_glue.gold.transforms import TRANSFORMS
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.pipeline.run import run_pipeline
from lakehouse.source.seed import seed
from tests.support import tables
from tests.support.lake import drop_slot, lake_settings, replicate_once
from tests.support.marts import assert_same_rows
from tests.support.oracle import postgres_answer
from tests.support.spark import assert_frames_equal

pytestmark = pytest.mark.slow

KINDS = ("silver", "gold")


def _files(spark: SparkSession, settings: Settings) -> dict[str, dict[str, set[str]]]:
    """Mart -> data file -> the tenants it holds."""
    out: dict[str, dict[str, set[str]]] = {}
    for m in load_marts():
        by_file: dict[str, set[str]] = {}
        for tenant, files in tables.files_by_tenant(
            spark, tables.gold_table(spark, settings, m.name)
        ).items():
            for f in files:
                by_file.setdefault(f, set()).add(tenant)
        out[m.name] = by_file
    return out


def _summary(spark: SparkSession, settings: Settings, name: str) -> dict[str, str]:
    table = tables.gold_table(spark, settings, name)
    return ice.snapshot_summary(spark, table, ice.current_snapshot_id(spark, table))


def _assert_only_their_files_rewritten(
    name: str, before: dict[str, set[str]], after: dict[str, set[str]], changed: set[str]
) -> None:
    """Every data file holding none of ``changed`` is still there, holding the same tenants;
    some file holding one of them is gone (rewritten)."""
    untouched = {f for f, held in before.items() if not held & changed}
    assert untouched, name
    assert untouched <= set(after), name
    assert {f: after[f] for f in untouched} == {f: before[f] for f in untouched}, name
    assert set(before) - untouched - set(after), (
        f"{name}: the files holding {sorted(changed)} were not rewritten"
    )


def _change_two_tenants(dsn: str) -> tuple[str, str]:
    """Tenant A: an order refunded and an event deleted; tenant B: every event deleted."""
    with psycopg.connect(dsn) as conn:
        a, b = (
            str(r[0])
            for r in conn.execute(
                "select tenant_id from events group by tenant_id "
                "having count(*) > 5 order by tenant_id limit 2"
            ).fetchall()
        )
        refunded = conn.execute(
            "update orders set status = 'refunded', refunded_at = paid_at + interval '1 day', "
            "updated_at = now() where id = (select id from orders where tenant_id = %s "
            "and paid_at is not null and refunded_at is null and cancelled_at is null "
            "order by id limit 1)",
            [a],
        ).rowcount
        one_event = conn.execute(
            "delete from events where id = (select id from events where tenant_id = %s "
            "and customer_id is not null order by id limit 1)",
            [a],
        ).rowcount
        all_events = conn.execute("delete from events where tenant_id = %s", [b]).rowcount
    assert (refunded, one_event) == (1, 1)
    assert all_events > 5
    return a, b


def _rows(spark: SparkSession, settings: Settings, name: str) -> int:
    return int(_summary(spark, settings, name)["total-records"])


def test_changes_to_two_tenants_rebuild_small_marts_and_replace_only_their_rows_in_large_ones(
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.005, seed=11, reset=False, tenants=24)
    settings = lake_settings(tmp_path / "lake", dsn)
    try:
        replicate_once(settings)
        first = run_pipeline(settings, spark=spark, kinds=KINDS)
        assert not first.failed, [r.error for r in first.failed]
        for m in load_marts():
            assert _summary(spark, settings, m.name)[incremental.MODE] == incremental.FULL
        before = _files(spark, settings)

        a, b = _change_two_tenants(dsn)
        expected = {"orders": {a}, "events": {a, b}}
        changed_marts = [m.name for m in load_marts() if set(m.depends_on) & set(expected)]
        sizes = sorted({_rows(spark, settings, name) for name in changed_marts})
        assert len(sizes) >= 2, sizes  # a limit between them makes both kinds of mart
        limit = sizes[len(sizes) // 2 - 1]
        monkeypatch.setattr(incremental, "small_mart", lambda: SmallMart(limit, 2**62))
        small = {n for n in changed_marts if _rows(spark, settings, n) <= limit}
        assert small, changed_marts
        assert small != set(changed_marts), changed_marts
        replicate_once(settings)
        second = run_pipeline(settings, spark=spark, kinds=KINDS)
        assert not second.failed, [r.error for r in second.failed]

        catalog = register_lake_catalog(spark, settings)
        after = _files(spark, settings)
        for m in load_marts():
            gold = tables.read(spark, tables.gold_table(spark, settings, m.name))
            # Row for row what a full recompute from silver gives, and PostgreSQL's answer.
            full = build_mart(spark, catalog, settings.silver_uri, m.name, TRANSFORMS[m.name])
            assert_frames_equal(gold, full)
            assert_same_rows(gold, postgres_answer(dsn, m.name), m.name)
            changed = set().union(*(expected.get(e, set()) for e in m.depends_on))
            summary = _summary(spark, settings, m.name)
            if m.depends_on == ("events",):
                # B has no event any more: its rows left the mart.
                assert gold.where(gold.tenant_id == b).count() == 0, m.name
            if not changed:
                assert after[m.name] == before[m.name], m.name  # not run, not written
            elif m.name in small:
                assert summary[incremental.MODE] == incremental.FULL, m.name
                assert summary[incremental.REASON] == incremental.SMALL, m.name
                # Rebuilt whole: no data file of the mart before is one of it now.
                assert not set(after[m.name]) & set(before[m.name]), m.name
            else:
                assert summary[incremental.MODE] == incremental.TENANTS, m.name
                assert summary[incremental.TENANTS_REPLACED] == str(len(changed)), m.name
                _assert_only_their_files_rewritten(m.name, before[m.name], after[m.name], changed)
    finally:
        drop_slot(dsn, settings.slot_name)
