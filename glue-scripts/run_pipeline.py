"""Glue job ``run_pipeline``: the whole DAG in one Glue job and one Spark session.

Terraform's ``single_job`` mode deploys this job (and a schedule) instead of one job per step
and the workflow that chains them: for frequent runs, where every job's start-up and Glue's
one-minute minimum per job run dominate the bill (terraform-infra/README.md, "Cost"). It runs
the steps of :mod:`lakehouse_glue.dag` through its one scheduler (``Schedule``, as ``lakehouse
pipeline run`` does): the silver jobs first, each gold job as soon as the silver jobs it reads
have ended, the quality report once all of them have, side by side in the one session, each
through its script's own ``run_step`` (the step scripts ship beside this one in
``--extra-py-files``, which Glue puts on the Python path).

**One writer.** The run holds the lake's writer lock (:mod:`lakehouse.storage.lock`: on an S3
lake a lease object written with conditional requests, shipped as ``lakehouse_lock.zip``) at
``--lake_root``. A ``lakehouse pipeline run`` or ``maintain`` against the same lake is refused
(or waits) while this job writes, and this job fails at once, naming the holder, while one of
them does. ``max_concurrent_runs = 1`` keeps two runs of the job itself apart.

**Bookmarks.** A Glue job keeps one bookmark state, in which each source keeps its own entry,
keyed by its ``transformation_ctx``
(https://docs.aws.amazon.com/glue/latest/dg/programming-etl-connect-bookmarks.html): every
silver step reads through its own context, so the steps share the job's bookmark without
mixing. ``Job.commit`` runs once, at the end, and only when every step succeeded. A run with a
failed step fails without committing: the next run reads the same bronze files again, and
silver's ``MERGE`` takes a change it has already applied as a no-op. The per-job jobs keep their
own bookmarks, so the first run after switching modes reads all of bronze once more.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import replace
from typing import Any

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from lakehouse_glue.dag import Step, StepOutcome, job_steps, run_stages
from lakehouse_glue.jobargs import JOB_ARGUMENTS, JobArgs
from pyspark.context import SparkContext

from lakehouse.storage.lock import lake_lock

#: The lake root whose writer lock the run holds (``<lake_root>/_lakehouse/writer.lock``).
LAKE_ROOT = "lake_root"
#: Steps at once (``lakehouse pipeline run``'s default ``pipeline_workers``).
WORKERS = 2


class PipelineFailedError(RuntimeError):
    """A step of the DAG failed or was skipped: the job fails and commits no bookmark."""


def run_step(glue_context: GlueContext, args: JobArgs, step: Step) -> Any:
    """One step: its script's ``run_step`` with the job arguments, under the step's job name."""
    script = importlib.import_module(step.job_name)
    return script.run_step(glue_context, replace(args, job_name=step.job_name))


def failure_message(outcomes: list[StepOutcome]) -> str | None:
    """One message naming every failed or skipped step; ``None`` when all succeeded."""
    bad = [o for o in outcomes if not o.succeeded]
    if not bad:
        return None
    lines = [
        f"{o.step.job_name}: " + (f"skipped, {o.skipped}" if o.skipped else str(o.error))
        for o in bad
    ]
    return (
        f"{len(bad)} of {len(outcomes)} steps did not succeed; no bookmark was committed, the "
        "next run reads the same bronze files again:\n" + "\n".join(lines)
    )


def main(argv: list[str]) -> list[StepOutcome]:
    """Take the lake's writer lock, run every step, commit the bookmark if all succeeded."""
    resolved = getResolvedOptions(argv, [*JOB_ARGUMENTS, LAKE_ROOT])
    args = JobArgs.from_resolved(resolved)
    with lake_lock(str(resolved[LAKE_ROOT]), f"glue job {args.job_name}"):
        glue_context = GlueContext(SparkContext.getOrCreate())
        job = Job(glue_context)
        job.init(args.job_name, resolved)
        outcomes = run_stages(
            job_steps(), lambda step: run_step(glue_context, args, step), workers=WORKERS
        )
        message = failure_message(outcomes)
        if message:
            raise PipelineFailedError(message)
        job.commit()
    return outcomes


if __name__ == "__main__":
    main(sys.argv)
