"""Glue job ``transform_products_bronze_to_silver``: bronze CSV -> typed current-state silver.

Products: SKU and category trimmed, currency an upper-case ISO code.
Everything generic (reading bronze by column name, applying changes, quality rules, quarantine,
partition writes, the report) lives in ``lakehouse_glue``, shipped as ``--extra-py-files``.
"""

from __future__ import annotations

import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from lakehouse_glue.cleaning import chain, trim, upper_trim
from lakehouse_glue.jobargs import JobArgs, job_arguments
from lakehouse_glue.quality import Cleaner
from lakehouse_glue.silver import run
from pyspark.context import SparkContext

ENTITY = "products"
#: The cleaning rules that are truly about products.
CLEAN: Cleaner | None = chain(trim("sku", "category"), upper_trim("currency"))


def run_step(glue_context: GlueContext, args: JobArgs) -> dict[str, object]:
    """The job's work, without the Glue job around it (``run_pipeline`` runs it too)."""
    return run(glue_context, args, ENTITY, CLEAN)


def main(argv: list[str]) -> dict[str, object]:
    """Resolve the job arguments, run the job, commit the bookmark; returns the report."""
    resolved = getResolvedOptions(argv, job_arguments(argv))
    args = JobArgs.from_resolved(resolved)
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args.job_name, resolved)
    report = run_step(glue_context, args)
    job.commit()
    return report


if __name__ == "__main__":
    main(sys.argv)
