"""End to end on real components: seed PostgreSQL, replicate, run the pipeline, compare.

Silver must equal PostgreSQL row for row and column by column; after more changes the
incremental run must equal a full refresh; a time-travel query in Athena SQL must equal
PostgreSQL as it was then; a rerun with nothing new must change nothing; and ``reconcile`` must
find no difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from pyspark.sql import DataFrame, SparkSession

from lakehouse.athena.engine import AthenaEngine
from lakehouse.catalog.crawler import crawl
from lakehouse.cli.main import app
from lakehouse.cli.pipeline import _as_json as pipeline_json
from lakehouse.config import get_settings
from lakehouse.glue.runner import start_job_run
from lakehouse.pipeline.run import EXIT_OK, run_pipeline
from lakehouse.reconcile import reconcile
from lakehouse.source.seed import seed
from tests.support import tables
from tests.support.lake import (
    Lake,
    drop_slot,
    entities,
    lake_settings,
    replicate_once,
    silver_frame,
    silver_with_lineage,
    source_frame,
    without_processed_at,
)
from tests.support.spark import assert_frames_equal

# Two full pipeline runs and the CLI over a seeded lake: about 14 minutes at load 20, beyond the
# default timeout of 900 s (pyproject) on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def _assert_silver_equals_source(spark: SparkSession, dsn: str, settings) -> None:  # type: ignore[no-untyped-def]
    for entity in entities():
        expected = source_frame(spark, dsn, entity)
        actual = silver_frame(spark, settings, entity)
        assert actual.count() == expected.count(), entity.name
        assert_frames_equal(actual, expected)


def _change_source(dsn: str) -> dict[str, int]:
    """A workload of real transactions: updates, deletes (with children) and inserts."""
    with psycopg.connect(dsn) as conn:
        counts: dict[str, int] = {}
        cur = conn.execute(
            "update customers set email = upper(email) || ' ', notes = case when notes is null "
            "then '' else null end, updated_at = now() where id in "
            "(select id from customers order by id limit 40)"
        )
        counts["customers_updated"] = cur.rowcount
        cur = conn.execute(
            "update orders set status = 'completed', completed_at = now(), updated_at = now() "
            "where id in (select id from orders where status = 'shipped' order by id limit 30)"
        )
        counts["orders_updated"] = cur.rowcount
        cur = conn.execute(
            "delete from events where id in (select id from events order by id limit 50)"
        )
        counts["events_deleted"] = cur.rowcount
        cur = conn.execute(
            "insert into events (id, tenant_id, customer_id, session_id, event_type, properties,"
            " occurred_at, created_at, updated_at) select gen_random_uuid(), tenant_id,"
            " customer_id, 'sess-new', 'search', '{\"q\": \"a,\\\"b\\\"\\nc\"}'::jsonb, now(),"
            " now(), now() from events order by id limit 25"
        )
        counts["events_inserted"] = cur.rowcount
        cur = conn.execute(
            "update products set price = price + 1.01, description = E'multi\\nline, \"q\"',"
            " updated_at = now() where id in (select id from products order by id limit 10)"
        )
        counts["products_updated"] = cur.rowcount
    return counts


#: The entities the workload changes: their time travel must see the source before it.
_TRAVELLED = ("customers", "orders", "events", "products")


def _as_of(spark: SparkSession, settings, moment: datetime) -> dict[str, DataFrame]:  # type: ignore[no-untyped-def]
    """Each travelled silver table ``for timestamp as of`` the moment, through local Athena."""
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    out: dict[str, DataFrame] = {}
    with AthenaEngine(settings, save_results=False) as engine:
        for entity in entities():
            if entity.name not in _TRAVELLED:
                continue
            columns = ", ".join(f'"{c}"' for c in entity.column_names)
            (result,) = engine.execute(
                f"select {columns} from silver.{entity.name} "
                f"for timestamp as of timestamp '{stamp} UTC'"
            )
            rows = [tuple(_utc(v) for v in row) for row in result.rows]
            ddl = ", ".join(f"`{c.name}` {c.spark_type}" for c in entity.columns)
            out[entity.name] = spark.createDataFrame(rows, ddl)
    return out


def _utc(value: Any) -> Any:
    """Athena shows timestamps in UTC without a zone; say so before Spark reads them."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def test_seed_replicate_pipeline_equals_source(  # noqa: PLR0915 - one scenario, step by step
    spark: SparkSession,
    make_source_db: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn = make_source_db()
    seed(dsn, scale=0.02, seed=11, reset=False)
    settings = lake_settings(tmp_path / "lake", dsn)
    try:
        replicate_once(settings)
        first = run_pipeline(settings, spark=spark, kinds=("silver", "quality"))
        assert [r.state for r in first.runs] == ["SUCCEEDED"] * len(first.runs)
        assert first.exit_code == EXIT_OK, [r.report for r in first.runs]
        _assert_silver_equals_source(spark, dsn, settings)
        assert all(not r.differences for r in reconcile(settings, dsn))
        # The source as it is now, kept for the time-travel query below.
        kept = {}
        for e in entities():
            if e.name in _TRAVELLED:
                frame = source_frame(spark, dsn, e)
                kept[e.name] = (frame.collect(), frame.schema)
        moment = datetime.now(UTC)

        # More changes, then the incremental run must land exactly where PostgreSQL is.
        counts = _change_source(dsn)
        assert min(counts.values()) > 0, counts
        # Before replication, reconcile must see exactly what changed, and the CLI exit 1.
        found = {(d.entity, d.metric) for r in reconcile(settings, dsn) for d in r.differences}
        assert ("events", "rows") in found
        assert ("products", "sum(price)") in found
        assert ("customers", "max(updated_at)") in found
        assert not any(entity == "tenants" for entity, _ in found)
        monkeypatch.setenv("LAKEHOUSE_LAKE", settings.lake)
        monkeypatch.setenv("DATABASE_URL", dsn)
        get_settings.cache_clear()
        try:
            cli = CliRunner().invoke(app, ["reconcile", "--entity", "events"])
            as_json = CliRunner().invoke(app, ["reconcile", "--entity", "events", "--json"])
            crawled = CliRunner().invoke(app, ["crawl", "--database", "silver", "--json"])
        finally:
            get_settings.cache_clear()
        assert cli.exit_code == 1, cli.output
        assert "difference" in cli.output
        # --json: the same findings as the library's, as data.
        assert as_json.exit_code == 1, as_json.output
        payload = json.loads(as_json.stdout)
        [events] = reconcile(settings, dsn, ["events"])
        assert [
            (e["entity"], e["tenants"], e["source_rows"], e["silver_rows"])
            for e in payload["entities"]
        ] == [("events", events.tenants, events.source_rows, events.silver_rows)]
        assert events.source_rows != events.silver_rows
        assert {
            (d["entity"], d["tenant_id"], d["metric"])
            for d in payload["entities"][0]["differences"]
        } == {(d.entity, d.tenant_id, d.metric) for d in events.differences}
        assert payload["differences"] == len(events.differences) > 0
        assert crawled.exit_code == 0, crawled.output
        registered = {t["table"]: t for t in json.loads(crawled.stdout)["tables"]}
        # Every entity's table, and besides them only the history tables of the history job.
        entity_tables = {f"silver.{e.name}" for e in entities()}
        assert entity_tables <= set(registered)
        others = set(registered) - entity_tables
        assert {t.removesuffix("_history") for t in others} <= entity_tables
        for e in entities():
            table = registered[f"silver.{e.name}"]
            if table["format"] == "iceberg":
                assert table["partitions"] is None  # Iceberg tracks its files itself
            else:
                assert table["format"] == "parquet"
                assert table["partitions"] > 0  # one per tenant_id
            assert table["files"] > 0
            assert table["columns"] >= len(e.columns)
        replicate_once(settings)
        incremental = run_pipeline(settings, spark=spark, kinds=("silver",))
        assert incremental.exit_code == EXIT_OK
        changed = {r.report["entity"]: r.report for r in incremental.runs if r.report}
        assert changed["events"]["rows_in"] == counts["events_deleted"] + counts["events_inserted"]
        # pipeline run --json prints the same figures as data.
        jobs = {j["job"]: j for j in json.loads(json.dumps(pipeline_json(incremental)))["jobs"]}
        events_job = next(e.silver_job_name for e in entities() if e.name == "events")
        assert jobs[events_job]["state"] == "SUCCEEDED"
        assert jobs[events_job]["rows_in"] == counts["events_deleted"] + counts["events_inserted"]
        ran = [j for j in jobs.values() if j["state"] not in ("UP_TO_DATE", "SKIPPED")]
        assert len(ran) == len(incremental.runs)
        # No new tenant file: its job is not even started (decided from the bookmark).
        tenants_job = next(e.silver_job_name for e in entities() if e.name == "tenants")
        assert "tenants" not in changed
        assert jobs[tenants_job]["state"] == "UP_TO_DATE"
        assert tenants_job in incremental.up_to_date
        _assert_silver_equals_source(spark, dsn, settings)
        assert all(not r.differences for r in reconcile(settings, dsn))
        # Time travel: silver as of the moment before the workload equals the source then.
        crawl(settings, ["silver"])
        for name, travelled in _as_of(spark, settings, moment).items():
            rows, schema = kept[name]
            then = spark.createDataFrame(rows, schema)
            assert travelled.count() == len(rows), name
            assert_frames_equal(travelled, then)
        incremental_state = {
            e.name: without_processed_at(silver_with_lineage(spark, settings, e)).collect()
            for e in entities()
        }

        # A rerun with no new files changes nothing (not even processed_at).
        before = {e.name: silver_with_lineage(spark, settings, e).collect() for e in entities()}
        rerun = run_pipeline(settings, spark=spark, kinds=("silver",))
        assert rerun.runs == []
        assert sorted(rerun.up_to_date) == sorted(e.silver_job_name for e in entities())
        for e in entities():
            assert_frames_equal(silver_with_lineage(spark, settings, e), before[e.name])

        # A full refresh from all bronze gives the same silver as the incremental runs, and
        # the same history: every version, built batch by batch, equals a rebuild.
        histories = {
            e.name: tables.read(spark, tables.history_table(spark, settings, e.name)).collect()
            for e in entities()
        }
        updated = [r for r in histories["customers"] if r["valid_to"] is not None]
        assert len(updated) == counts["customers_updated"]
        for e in entities():
            run = start_job_run(
                settings, e.silver_job_name, {"--full_refresh": "true"}, spark=spark
            )
            assert run.state == "SUCCEEDED", run.error
        for e in entities():
            assert_frames_equal(
                without_processed_at(silver_with_lineage(spark, settings, e)),
                incremental_state[e.name],
            )
            rebuilt = tables.read(spark, tables.history_table(spark, settings, e.name))
            assert_frames_equal(rebuilt, histories[e.name])
    finally:
        drop_slot(dsn, settings.slot_name)


def test_shared_e2e_lake_matches_source(spark: SparkSession, e2e_lake: Lake) -> None:
    """The session fixture other areas reuse: silver equals PostgreSQL, reconcile is clean."""
    _assert_silver_equals_source(spark, e2e_lake.dsn, e2e_lake.settings)
    assert all(not r.differences for r in reconcile(e2e_lake.settings, e2e_lake.dsn))
    quality = Path(e2e_lake.settings.reports_uri) / "quality" / "quality_report.json"
    report = json.loads(quality.read_text())
    assert report["quarantined_in_last_runs"] == 0
    assert {e: v["silver_rows"] for e, v in report["entities"].items()} == {
        e.name: source_frame(spark, e2e_lake.dsn, e).count() for e in entities()
    }
