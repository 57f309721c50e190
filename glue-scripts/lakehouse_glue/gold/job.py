"""The body of every ``create_gold_<mart>`` job, generic over marts.

A gold job reads the silver tables its mart depends on, calls the mart's pure transform and
overwrites the mart. The script itself only names the mart and its transform.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession

from lakehouse_glue import metrics
from lakehouse_glue.gold.io import read_silver, write_mart
from lakehouse_glue.gold.marts import mart
from lakehouse_glue.jobargs import GlueContextLike, JobArgs

Transform = Callable[..., DataFrame]


def inputs_of(mart_name: str, transform: Transform) -> list[str]:
    """The silver entities ``transform`` takes; they must be the mart's ``depends_on``.

    The Terraform workflow and the pipeline DAG order jobs by ``depends_on``: a transform that
    read something else would silently run before its input was ready.
    """
    params = list(inspect.signature(transform).parameters)
    declared = mart(mart_name).depends_on
    if sorted(params) != sorted(declared):
        raise ValueError(
            f"gold mart {mart_name!r}: transform {transform.__name__} reads {params} but "
            f"gold.json depends_on says {list(declared)}; make them the same"
        )
    return params


def build_mart(
    spark: SparkSession, catalog: str, silver_path: str, mart_name: str, transform: Transform
) -> DataFrame:
    """The mart computed from the current silver tables (not yet written)."""
    inputs = {
        name: read_silver(spark, catalog, silver_path, name)
        for name in inputs_of(mart_name, transform)
    }
    return transform(**inputs)


def run_mart(
    glue_context: GlueContextLike, args: JobArgs, mart_name: str, transform: Transform
) -> None:
    """Compute mart ``mart_name`` with ``transform`` from silver and replace it in gold."""
    spark = glue_context.spark_session
    # Days and months are UTC by definition; Spark derives dates in the session time zone.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    mart_df = build_mart(spark, args.iceberg_catalog, args.silver_path, mart_name, transform)
    write_mart(mart_df, mart_name, args.iceberg_catalog, args.gold_path)
    # Gold freshness: the alarm breaches when no mart was published for hours.
    metrics.publish(
        spark,
        reports_path=args.reports_path,
        job_name=args.job_name,
        run_id=args.job_run_id or f"jr_{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}",
        namespace=args.metrics_namespace,
        deployment=args.metrics_deployment,
        values={metrics.GOLD_MARTS_PUBLISHED: 1},
    )
