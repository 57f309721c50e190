"""Quality reports: one JSON document per job run, plus the latest one per entity.

Layout under ``<reports_path>/quality/``:

* ``runs/<entity>/<run id>.json`` - every silver job run, kept (the history);
* ``latest/<entity>.json`` - the most recent run of each silver job;
* ``quality_report.json`` and ``history/<run id>.json`` - written by ``publish_quality_report``:
  the latest run of every entity plus the soft rules over the final silver.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession

from lakehouse_glue import fs


def quality_root(reports_path: str) -> str:
    return f"{reports_path.rstrip('/')}/quality"


def run_report_path(reports_path: str, entity: str, run_id: str) -> str:
    return f"{quality_root(reports_path)}/runs/{entity}/{run_id}.json"


def latest_report_path(reports_path: str, entity: str) -> str:
    return f"{quality_root(reports_path)}/latest/{entity}.json"


def summary_path(reports_path: str) -> str:
    return f"{quality_root(reports_path)}/quality_report.json"


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False, default=str) + "\n"


def write_run_report(spark: SparkSession, reports_path: str, report: dict[str, Any]) -> str:
    """Write a silver job's report to ``runs/`` and ``latest/``; returns the run path."""
    text = dumps(report)
    path = run_report_path(reports_path, report["entity"], report["run_id"])
    fs.write_text(spark, path, text)
    fs.write_text(spark, latest_report_path(reports_path, report["entity"]), text)
    return path


def read_json(spark: SparkSession, path: str) -> dict[str, Any] | None:
    text = fs.read_text(spark, path)
    if text is None:
        return None
    data: dict[str, Any] = json.loads(text)
    return data
