"""The custom metrics the jobs publish, declared once in ``declarations/metrics.json``.

A silver job run publishes ``QuarantinedRows`` (0 too, so the alarm sees every run) and a gold
job run ``GoldMartsPublished`` = 1 once its mart is written; Terraform alarms on the same
namespace, names and dimension (``modules/monitoring``), read from the same file.

Every run writes its metrics to ``<reports_path>/metrics/<job name>/<run id>.json`` (both
homes). With a ``--metrics_namespace`` (Terraform always sets it; locally
``LAKEHOUSE_METRICS_CLOUDWATCH=true``) they are also put to CloudWatch with ``PutMetricData``
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html),
through boto3's usual configuration (region, credentials, ``AWS_ENDPOINT_URL_CLOUDWATCH``).
A failed put fails the job: the data is written, but an alarm that cannot see it is silent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from pyspark.sql import SparkSession

from lakehouse_glue import fs

QUARANTINED_ROWS = "quarantined_rows"
GOLD_MARTS_PUBLISHED = "gold_marts_published"


@dataclass(frozen=True)
class Metric:
    """One declared metric: its CloudWatch name and unit."""

    key: str
    name: str
    unit: str


@dataclass(frozen=True)
class MetricsDeclaration:
    """``metrics.json``: the namespace, the dimension that names the deployment, the metrics."""

    namespace: str
    dimension: str
    metrics: dict[str, Metric]

    def metric(self, key: str) -> Metric:
        if key not in self.metrics:
            raise KeyError(f"metrics.json declares no metric {key!r}: {sorted(self.metrics)}")
        return self.metrics[key]


@cache
def load_metrics() -> MetricsDeclaration:
    """Parse ``declarations/metrics.json``."""
    text = resources.files("lakehouse_glue").joinpath("declarations", "metrics.json")
    raw: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return MetricsDeclaration(
        namespace=str(raw["namespace"]),
        dimension=str(raw["dimension"]),
        metrics={
            key: Metric(key, str(m["name"]), str(m["unit"])) for key, m in raw["metrics"].items()
        },
    )


def metrics_path(reports_path: str, job_name: str, run_id: str) -> str:
    return f"{reports_path.rstrip('/')}/metrics/{job_name}/{run_id}.json"


def metric_data(values: dict[str, float], deployment: str, at: datetime) -> list[dict[str, Any]]:
    """``MetricData`` of ``PutMetricData`` for declared metric keys -> values."""
    declaration = load_metrics()
    return [
        {
            "MetricName": declaration.metric(key).name,
            "Dimensions": [{"Name": declaration.dimension, "Value": deployment}],
            "Timestamp": at,
            "Value": float(value),
            "Unit": declaration.metric(key).unit,
        }
        for key, value in values.items()
    ]


def publish(
    spark: SparkSession,
    *,
    reports_path: str,
    job_name: str,
    run_id: str,
    namespace: str,
    deployment: str,
    values: dict[str, float],
    client: Any = None,
) -> dict[str, Any]:
    """Record the run's metrics and, with a ``namespace``, put them to CloudWatch.

    Args:
        values: declared metric key (``metrics.json``) -> value.
        namespace: the CloudWatch namespace, or "" to only record them.
        deployment: the value of the declared dimension (Terraform: the deployment's name).
        client: a boto3 CloudWatch client (default: ``boto3.client("cloudwatch")``).

    Returns:
        The record written to ``metrics_path``.
    """
    at = datetime.now(UTC).replace(microsecond=0)
    data = metric_data(values, deployment, at)
    if namespace:
        if namespace != load_metrics().namespace:
            raise ValueError(
                f"--metrics_namespace {namespace!r} is not the namespace of metrics.json "
                f"({load_metrics().namespace!r}), on which the alarms are set"
            )
        # boto3 is on Glue and in the local environment; only needed to send.
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        if client is None:
            client = boto3.client("cloudwatch")
        try:
            client.put_metric_data(Namespace=namespace, MetricData=data)
        except (BotoCoreError, ClientError) as exc:
            raise RuntimeError(
                f"{job_name}: the data is written, but putting its metrics "
                f"{[d['MetricName'] for d in data]} to CloudWatch namespace {namespace!r} "
                f"failed: {exc}. Check the role's cloudwatch:PutMetricData permission and "
                "the region; the alarms on these metrics cannot see this run"
            ) from exc
    record = {
        "job_name": job_name,
        "run_id": run_id,
        "namespace": namespace or load_metrics().namespace,
        "sent_to_cloudwatch": bool(namespace),
        "metrics": [
            {
                "name": d["MetricName"],
                "dimensions": {x["Name"]: x["Value"] for x in d["Dimensions"]},
                "value": d["Value"],
                "unit": d["Unit"],
                "timestamp": at.isoformat(),
            }
            for d in data
        ],
    }
    fs.write_text(
        spark, metrics_path(reports_path, job_name, run_id), json.dumps(record, indent=2) + "\n"
    )
    return record
