"""The quality report of a whole pipeline run (the ``publish_quality_report`` job).

It runs once every silver job has finished (beside the gold jobs, which it does not read): it
gathers the latest run report of every silver job, counts the silver rows, runs the soft rules
over the final silver (references across tables need every table current) and writes
``quality/quality_report.json`` plus a copy in ``quality/history/``. The report records the
Iceberg snapshot each silver table was read at and the rules' version, so the next report
evaluates again only the rules that read a table that changed (a new commit).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from lakehouse_glue import fs
from lakehouse_glue import iceberg as ice
from lakehouse_glue.changes import silver_columns
from lakehouse_glue.jobargs import JobArgs
from lakehouse_glue.model import load_declaration
from lakehouse_glue.quality import EarlierChecks, rules_version, soft_checks, soft_rules
from lakehouse_glue.report import dumps, latest_report_path, quality_root, read_json, summary_path


def read_silver_tables(
    spark: SparkSession, catalog: str, silver_path: str
) -> tuple[dict[str, DataFrame], dict[str, int | None]]:
    """Every entity's silver table that exists, at a fixed snapshot, with that snapshot's id.

    Each table is read ``as of`` the snapshot recorded, so a commit landing while the rules
    run cannot make the report describe a state its snapshot ids do not name.
    """
    tables: dict[str, DataFrame] = {}
    snapshots: dict[str, int | None] = {}
    for entity in load_declaration().entities:
        table = ice.silver_table(catalog, silver_path, entity.name)
        if not ice.exists(spark, table):
            continue
        snapshot = ice.current_snapshot_id(spark, table)
        columns = ", ".join(f"`{c}`" for c in silver_columns(entity))
        as_of = "" if snapshot is None else f" version as of {int(snapshot)}"
        tables[entity.name] = spark.sql(f"select {columns} from {table.ident}{as_of}")
        snapshots[entity.name] = snapshot
    return tables, snapshots


def _earlier(
    previous: dict[str, Any] | None, snapshots: dict[str, int | None], version: str
) -> EarlierChecks | None:
    """What the previous report still says, if it was made by the same rules."""
    if not previous or previous.get("rules_version") != version:
        return None
    before = previous.get("silver_snapshots") or {}
    return EarlierChecks(
        results={(r["entity"], r["rule"], r["detail"]): r for r in previous.get("soft_rules", [])},
        rows={e: int(v["silver_rows"]) for e, v in previous.get("entities", {}).items()},
        unchanged=frozenset(
            e for e, snap in snapshots.items() if snap is not None and before.get(e) == snap
        ),
    )


def follow_compaction(
    report: dict[str, Any], entity: str, before: int | None, after: int | None
) -> bool:
    """Make a report that read ``entity``'s silver table at snapshot ``before`` name ``after``.

    For a compaction between the two: Iceberg's ``replace`` operation, which adds and removes
    files "without changing table data", so the report's results hold as they are for the
    snapshot after it. Without this, the next report would evaluate that table's rules again
    (:func:`_earlier` reuses a result only at the same snapshot) and a run with nothing new
    could not end before Spark (``lakehouse.pipeline.state``). A report that read another
    snapshot (or no table) is left alone. Returns whether ``report`` changed.
    """
    snapshots = report.get("silver_snapshots")
    if before is None or not isinstance(snapshots, dict) or snapshots.get(entity) != before:
        return False
    snapshots[entity] = after
    return True


def build_report(spark: SparkSession, args: JobArgs) -> dict[str, Any]:
    """Assemble the pipeline-level quality report (not written).

    Soft rules over tables that did not change since the previous report (same snapshot, same
    rules) keep that report's results instead of being evaluated again.
    """
    declaration = load_declaration()
    tables, snapshots = read_silver_tables(spark, args.iceberg_catalog, args.silver_path)
    rules = soft_rules(tables, declaration)
    version = rules_version(rules)
    previous = read_json(spark, summary_path(args.reports_path))
    soft, silver_rows = soft_checks(rules, _earlier(previous, snapshots, version))
    entities: dict[str, Any] = {}
    for entity in declaration.entities:
        latest = read_json(spark, latest_report_path(args.reports_path, entity.name))
        entities[entity.name] = {
            "silver_rows": silver_rows.get(entity.name, 0),
            "last_run": latest,
        }
    quarantined = sum(
        int((e["last_run"] or {}).get("rows_quarantined", 0))
        + int((e["last_run"] or {}).get("files", {}).get("quarantined", 0))
        for e in entities.values()
    )
    soft_violations = sum(int(r["violations"]) for r in soft)
    status = "quarantined" if quarantined else ("warnings" if soft_violations else "ok")
    return {
        "run_id": args.job_run_id or f"jr_{uuid.uuid4().hex}",
        "generated_at": datetime.now(UTC).isoformat(),
        "status": status,
        "quarantined_in_last_runs": quarantined,
        "soft_rule_violations": soft_violations,
        "entities": entities,
        "soft_rules": soft,
        "rules_version": version,
        "silver_snapshots": snapshots,
    }


def publish(spark: SparkSession, args: JobArgs) -> dict[str, Any]:
    """Build the report and write it to ``quality_report.json`` and ``history/``."""
    report = build_report(spark, args)
    text = dumps(report)
    fs.write_text(spark, summary_path(args.reports_path), text)
    fs.write_text(spark, f"{quality_root(args.reports_path)}/history/{report['run_id']}.json", text)
    return report
