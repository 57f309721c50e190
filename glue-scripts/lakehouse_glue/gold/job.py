"""The body of every ``create_gold_<mart>`` job, generic over marts.

A gold job decides how much of its mart to build (:func:`lakehouse_glue.gold.incremental.plan`:
nothing, the tenants whose silver rows changed since its last commit, or all of it), reads the
silver tables its mart depends on at the snapshots of that plan, calls the mart's pure
transform and writes the result in one commit that records the plan. The script itself only
names the mart and its transform.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession

from lakehouse_glue import metrics
from lakehouse_glue.gold import incremental
from lakehouse_glue.gold.io import read_silver, replace_tenants, write_mart
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
    spark: SparkSession,
    catalog: str,
    silver_path: str,
    mart_name: str,
    transform: Transform,
    *,
    snapshots: dict[str, int | None] | None = None,
    tenants: Collection[str] | None = None,
) -> DataFrame:
    """The mart computed from silver (not yet written).

    Args:
        snapshots: entity -> the snapshot to read (default: the current ones).
        tenants: only these tenants (default: all).
    """
    inputs = {
        name: read_silver(
            spark,
            catalog,
            silver_path,
            name,
            snapshot_id=-1 if snapshots is None else snapshots[name],
            tenants=tenants,
        )
        for name in inputs_of(mart_name, transform)
    }
    return transform(**inputs)


def run_mart(
    glue_context: GlueContextLike, args: JobArgs, mart_name: str, transform: Transform
) -> incremental.Plan:
    """Bring mart ``mart_name`` up to date with silver; returns what the run did."""
    spark = glue_context.spark_session
    # Days and months are UTC by definition; Spark derives dates in the session time zone.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    catalog = args.iceberg_catalog
    plan = incremental.plan(
        spark, catalog, args.silver_path, args.gold_path, mart_name, full_refresh=args.full_refresh
    )
    if plan.mode == incremental.TENANTS:
        assert plan.tenants is not None
        if plan.tenants:
            mart_df = build_mart(
                spark,
                catalog,
                args.silver_path,
                mart_name,
                transform,
                snapshots=plan.inputs,
                tenants=plan.tenants,
            )
            replace_tenants(
                mart_df, plan.tenants, mart_name, catalog, args.gold_path, plan.summary()
            )
        # No tenant changed (compaction only): the mart stands; its record stays the older one,
        # which costs the next run a look at the same snapshots, never a wrong row.
    elif plan.mode == incremental.FULL:
        mart_df = build_mart(
            spark, catalog, args.silver_path, mart_name, transform, snapshots=plan.inputs
        )
        write_mart(mart_df, mart_name, catalog, args.gold_path, plan.summary())
    # Gold freshness: the alarm breaches when no mart was published for hours; a mart up to
    # date with silver counts as published.
    metrics.publish(
        spark,
        reports_path=args.reports_path,
        job_name=args.job_name,
        run_id=args.job_run_id or f"jr_{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}",
        namespace=args.metrics_namespace,
        deployment=args.metrics_deployment,
        values={metrics.GOLD_MARTS_PUBLISHED: 1},
    )
    return plan
