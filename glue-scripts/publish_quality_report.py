"""Glue job ``publish_quality_report``: the data-quality report of the whole pipeline run.

Runs last in the DAG. Gathers every silver job's latest report, runs the soft rules (references
within the tenant, unique keys, order totals) over the final silver, and writes
``<reports_path>/quality/quality_report.json``. See ``lakehouse_glue.quality`` for the rules.
"""

from __future__ import annotations

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from lakehouse_glue.jobargs import JOB_ARGUMENTS, JobArgs
from lakehouse_glue.publish import publish
from pyspark.context import SparkContext


def run_step(glue_context: GlueContext, args: JobArgs) -> dict[str, object]:
    """The job's work, without the Glue job around it (``run_pipeline`` runs it too)."""
    return publish(glue_context.spark_session, args)


def main(argv: list[str]) -> dict[str, object]:
    """Resolve the job arguments, publish the report, commit the job."""
    resolved = getResolvedOptions(argv, list(JOB_ARGUMENTS))
    args = JobArgs.from_resolved(resolved)
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args.job_name, resolved)
    report = run_step(glue_context, args)
    job.commit()
    return report


if __name__ == "__main__":
    main(sys.argv)
