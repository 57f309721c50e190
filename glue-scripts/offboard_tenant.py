"""Glue job ``offboard_tenant``: erase one tenant from every silver, history and gold table.

The AWS side of ``lakehouse tenants offboard``, run on demand by a data engineer (never by the
pipeline's workflow or schedule)::

    aws glue start-job-run --job-name <name>-offboard_tenant \
        --arguments '{"--tenant_id": "<the tenant's id>"}'

``--tenant_id`` is the tenant's id (a UUID; anything else fails before the lake is read);
``--expire_snapshots true`` also expires every older snapshot so that time travel cannot reach
the rows. The job holds the lake's writer lock at ``--lake_root`` (as ``run_pipeline`` and
``lakehouse pipeline run`` do), then runs :func:`lakehouse_glue.tenants.offboard_by_id`: the
tenant joins the offboarded list, its rows are deleted from every table in one Iceberg commit
each, and ``<reports_path>/offboarding/<tenant_id>.json`` records the rows deleted per table and
the bronze files that still hold the tenant's rows (terraform-infra/README.md, "Offboarding a
tenant", says what else remains and for how long).
"""

from __future__ import annotations

import json
import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from lakehouse_glue.jobargs import JOB_ARGUMENTS, JobArgs, parse_flag
from lakehouse_glue.tenants import OffboardResult, check_tenant_id, offboard_by_id
from pyspark.context import SparkContext

from lakehouse.storage.lock import lake_lock

TENANT_ID = "tenant_id"
EXPIRE_SNAPSHOTS = "expire_snapshots"
#: The lake root whose writer lock the job holds (``<lake_root>/_lakehouse/writer.lock``).
LAKE_ROOT = "lake_root"


def main(argv: list[str]) -> OffboardResult:
    """Resolve the arguments, take the writer lock, offboard the tenant, log the result."""
    resolved = getResolvedOptions(argv, [*JOB_ARGUMENTS, TENANT_ID, EXPIRE_SNAPSHOTS, LAKE_ROOT])
    args = JobArgs.from_resolved(resolved)
    tenant_id = check_tenant_id(str(resolved[TENANT_ID]).strip().lower())
    expire = parse_flag(str(resolved[EXPIRE_SNAPSHOTS]), EXPIRE_SNAPSHOTS)
    with lake_lock(str(resolved[LAKE_ROOT]), f"glue job {args.job_name}"):
        glue_context = GlueContext(SparkContext.getOrCreate())
        job = Job(glue_context)
        job.init(args.job_name, resolved)
        result = offboard_by_id(
            glue_context.spark_session,
            catalog=args.iceberg_catalog,
            bronze_path=args.bronze_path,
            silver_path=args.silver_path,
            gold_path=args.gold_path,
            reports_path=args.reports_path,
            tenant_id=tenant_id,
            expire_snapshots=expire,
        )
        print(json.dumps(result.as_json(), sort_keys=True))  # to the job's output log
        job.commit()
    return result


if __name__ == "__main__":
    main(sys.argv)
