"""Glue job ``create_gold_tenant_summary``: silver -> gold mart ``tenant_summary``.

Per tenant: customers, active customers, orders, completed orders, revenue, average order value,
events. Reads silver tenants, customers, orders, events; writes the Iceberg table
``gold.tenant_summary``, per run, in one commit (the tenants whose silver rows changed, or all of
it). The terms are defined in the Definitions section of glue-scripts/README.md.
"""

from __future__ import annotations

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from lakehouse_glue.gold.job import run_mart
from lakehouse_glue.gold.transforms import tenant_summary
from lakehouse_glue.jobargs import JOB_ARGUMENTS, JobArgs
from pyspark.context import SparkContext

MART = "tenant_summary"


def run_step(glue_context: GlueContext, args: JobArgs) -> None:
    """The job's work, without the Glue job around it (``run_pipeline`` runs it too)."""
    run_mart(glue_context, args, MART, tenant_summary)


def main(argv: list[str]) -> None:
    """Resolve the job arguments, build the mart, commit the job."""
    resolved = getResolvedOptions(argv, list(JOB_ARGUMENTS))
    args = JobArgs.from_resolved(resolved)
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args.job_name, resolved)
    run_step(glue_context, args)
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
