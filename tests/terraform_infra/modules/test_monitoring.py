"""modules/monitoring: job and workflow failures alert through an encrypted SNS topic, and the
lake alarms watch the metrics the jobs put."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from lakehouse_glue.metrics import GOLD_MARTS_PUBLISHED, QUARANTINED_ROWS, load_metrics, metric_data

from tests.terraform_infra.plan import (
    NAME,
    of_type,
)

pytestmark = pytest.mark.slow


def test_lake_alarms_watch_the_metrics_the_jobs_put(resources: list[dict[str, Any]]) -> None:
    """The alarms name the namespace, metric and dimensions lakehouse_glue.metrics puts."""
    declared = load_metrics()
    put = {
        d["MetricName"]: d
        for d in metric_data(
            {QUARANTINED_ROWS: 3, GOLD_MARTS_PUBLISHED: 1}, NAME, datetime.now(UTC)
        )
    }
    alarms = {
        a["values"]["alarm_name"]: a["values"]
        for a in of_type(resources, "aws_cloudwatch_metric_alarm")
    }
    for alarm_name, key in (
        (f"{NAME}-quarantined-rows", QUARANTINED_ROWS),
        (f"{NAME}-gold-stale", GOLD_MARTS_PUBLISHED),
    ):
        alarm, datum = alarms[alarm_name], put[declared.metric(key).name]
        assert alarm["namespace"] == declared.namespace == "Lakehouse"
        assert alarm["metric_name"] == datum["MetricName"]
        assert alarm["dimensions"] == {d["Name"]: d["Value"] for d in datum["Dimensions"]}
        assert alarm["statistic"] == "Sum"  # a run's value counts whatever its timestamp
    for job in of_type(resources, "aws_glue_job"):
        args = job["values"]["default_arguments"]
        assert (args["--metrics_namespace"], args["--metrics_deployment"]) == (
            declared.namespace,
            NAME,
        )


def test_failures_alert_through_encrypted_sns(
    tf_plan: dict[str, Any], resources: list[dict[str, Any]]
) -> None:
    topic = [c for c in tf_plan["resource_changes"] if c["type"] == "aws_sns_topic"]
    assert len(topic) == 1
    # The key's ARN is only known after apply: the plan marks the attribute as set but unknown.
    assert topic[0]["change"]["after_unknown"]["kms_master_key_id"] is True
    rules = {
        r["values"]["name"]: r["values"] for r in of_type(resources, "aws_cloudwatch_event_rule")
    }
    assert set(rules) == {f"{NAME}-glue-job-failed", f"{NAME}-dms-task-failed"}
    glue_rule = json.loads(rules[f"{NAME}-glue-job-failed"]["event_pattern"])
    assert glue_rule["source"] == ["aws.glue"]
    assert set(glue_rule["detail"]["state"]) == {"FAILED", "TIMEOUT", "ERROR"}
    jobs = {j["values"]["name"] for j in of_type(resources, "aws_glue_job")}
    assert set(glue_rule["detail"]["jobName"]) == jobs
    alarms = {
        a["values"]["alarm_name"].removeprefix(f"{NAME}-"): a["values"]
        for a in of_type(resources, "aws_cloudwatch_metric_alarm")
    }
    assert {(a["namespace"], a["metric_name"]) for a in alarms.values()} == {
        ("AWS/DMS", "CDCLatencySource"),
        ("AWS/DMS", "CDCLatencyTarget"),
        ("AWS/RDS", "OldestReplicationSlotLag"),
        ("AWS/RDS", "TransactionLogsDiskUsage"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("Lakehouse", "QuarantinedRows"),
        ("Lakehouse", "GoldMartsPublished"),
    }
    mib = 1024 * 1024
    # Half of max_slot_wal_keep_size (5120 MB) for the slot, all of it for WAL on disk, 20% of
    # the 20 GB for free storage.
    assert alarms["source-db-slot-lag"]["threshold"] == 2560 * mib
    assert alarms["source-db-wal-disk"]["threshold"] == 5120 * mib
    assert alarms["source-db-free-storage"]["threshold"] == 20 * 1024 * mib * 20 / 100
    assert alarms["source-db-free-storage"]["comparison_operator"] == "LessThanThreshold"
    # Any quarantined row alerts; no mart for 26 hours in a row (no data included) alerts.
    assert alarms["quarantined-rows"]["dimensions"] == {"Deployment": NAME}
    assert alarms["quarantined-rows"]["threshold"] == 0
    gold = alarms["gold-stale"]
    assert (gold["period"], gold["evaluation_periods"], gold["datapoints_to_alarm"]) == (
        3600,
        26,
        26,
    )
    assert gold["treat_missing_data"] == "breaching"
    assert gold["comparison_operator"] == "LessThanThreshold"
    assert gold["threshold"] == 1
    # Every alarm goes to the one topic (its ARN is only known after apply).
    changes = [c for c in tf_plan["resource_changes"] if c["type"] == "aws_cloudwatch_metric_alarm"]
    assert all(c["change"]["after_unknown"]["alarm_actions"] for c in changes)
