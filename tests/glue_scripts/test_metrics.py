"""The jobs' CloudWatch metrics, put to a moto server: what the alarms of modules/monitoring see.

A silver run that quarantines rows puts exactly that count as ``QuarantinedRows``, and a gold
run puts ``GoldMartsPublished`` = 1, in the namespace and with the dimension of metrics.json
(test_deployment.py checks that the alarms name the same). Both are also recorded under
``reports/metrics/``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from lakehouse_glue.metrics import QUARANTINED_ROWS, load_metrics, publish
from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.db.cluster import free_port
from lakehouse.glue.runner import JobRun, start_job_run
from tests.support.bronze import customer, write_file
from tests.support.moto import MotoS3


def _sum(client: Any, name: str, deployment: str) -> float | None:
    declared = load_metrics()
    now = datetime.now(UTC)
    stats = client.get_metric_statistics(
        Namespace=declared.namespace,
        MetricName=name,
        Dimensions=[{"Name": declared.dimension, "Value": deployment}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(p["Sum"] for p in stats)) if stats else None


def _run(spark: SparkSession, settings: Settings, job: str) -> JobRun:
    run = start_job_run(settings, job, {"--full_refresh": "true"}, spark=spark)
    assert run.state == "SUCCEEDED", run.error
    return run


def test_silver_and_gold_runs_put_the_alarmed_metrics(
    spark: SparkSession,
    moto_s3: MotoS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in moto_s3.env().items():
        monkeypatch.setenv(key, value)
    deployment = f"test-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        lake=str(tmp_path / "lake"),
        state_dir=tmp_path / "state",
        metrics_cloudwatch=True,
        metrics_deployment=deployment,
    )
    rows = [
        customer("I", 1),
        customer("I", 2),
        customer("I", 3, email=None),  # NULL in a NOT NULL column
        customer("I", 4, status="paused"),  # not an accepted value
        customer("I", 5, created_at="yesterday"),  # does not parse
    ]
    write_file(Path(settings.bronze_uri), "customers", "LOAD00000001.csv.gz", rows)
    cloudwatch = boto3.client("cloudwatch")
    declared = load_metrics()
    quarantined = declared.metric("quarantined_rows").name
    published = declared.metric("gold_marts_published").name
    assert _sum(cloudwatch, quarantined, deployment) is None

    silver = _run(spark, settings, "transform_customers_bronze_to_silver")
    assert silver.quarantined == 3
    assert _sum(cloudwatch, quarantined, deployment) == 3.0
    # Another deployment's alarm sees nothing of it.
    assert _sum(cloudwatch, quarantined, f"{deployment}-other") is None

    gold = _run(spark, settings, "create_gold_customer_acquisition")
    assert _sum(cloudwatch, published, deployment) == 1.0
    assert _sum(cloudwatch, quarantined, deployment) == 3.0  # gold puts no quarantine count

    # The same figures are recorded beside the quality reports, for either home.
    records = {
        p.parent.name: json.loads(p.read_text())
        for p in (Path(settings.reports_uri) / "metrics").rglob("*.json")
    }
    assert set(records) == {silver.job_name, gold.job_name}
    (datum,) = records[silver.job_name]["metrics"]
    assert (datum["name"], datum["value"], datum["dimensions"]) == (
        quarantined,
        3.0,
        {declared.dimension: deployment},
    )
    assert records[gold.job_name]["sent_to_cloudwatch"] is True


def test_a_namespace_the_alarms_do_not_watch_is_refused() -> None:
    with pytest.raises(ValueError, match=r"not the namespace of metrics\.json"):
        publish(
            None,  # type: ignore[arg-type] - refused before anything is written
            reports_path="/nowhere",
            job_name="j",
            run_id="r",
            namespace="Lakehouse-typo",
            deployment="d",
            values={QUARANTINED_ROWS: 1},
        )


def test_a_failed_put_fails_the_run_with_what_to_check() -> None:
    closed = boto3.client(
        "cloudwatch",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(RuntimeError, match="cloudwatch:PutMetricData permission") as info:
        publish(
            None,  # type: ignore[arg-type] - fails before anything is written
            reports_path="/nowhere",
            job_name="transform_customers_bronze_to_silver",
            run_id="r",
            namespace=load_metrics().namespace,
            deployment="d",
            values={QUARANTINED_ROWS: 2},
            client=closed,
        )
    assert "QuarantinedRows" in str(info.value)
    assert "the data is written" in str(info.value)
