"""What the pipeline costs on Glue in each Terraform mode (``glue.mode``), from measured durations.

Setup (not timed): a private PostgreSQL 15, seeded at ``BENCH_GLUE_SCALE`` (default 1) and
replicated into two lakes, each with its own replication slot.

Timed, in one warm Spark session (its start-up is timed first, ``spark_startup_s``):

* ``per_job``: lake A is built the way the ``per_job`` mode runs it, every job of the DAG alone,
  one after the other (``pipeline run`` with one worker, so no job shares the cores with
  another): each job's seconds, for the first build and for an incremental run after
  ``BENCH_GLUE_CHANGES`` source changes (default 5,000), replicated;
* ``single_job``: lake B is built by the one Glue job ``run_pipeline`` (every step in one
  session, two at a time within a stage): its seconds for the same two runs.

The cost of a month of runs follows from Glue's pricing model for Spark jobs (Glue 2.0 and later:
billed per second, with a one-minute minimum per job run, at $0.44 per DPU-hour in us-east-1,
https://aws.amazon.com/glue/pricing/) and the Terraform defaults (``G.1X`` workers, 1 DPU each,
2 workers). A job run is billed for its start-up too; the local Spark start-up stands in for
Glue's, once per job run. The result and the arithmetic: ``bench/results/glue_modes.json``.

Usage: ``python -m bench.bench_glue_modes``.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from lakehouse_glue.dag import SINGLE_JOB

from bench.bench_pipeline import workload
from bench.common import SEED, bench_root, report, source_database
from lakehouse.glue.runner import spark_session, start_job_run
from lakehouse.pipeline.run import run_pipeline
from lakehouse.replicate import run_once

#: us-east-1 list price of a DPU-hour of a Glue Spark job (https://aws.amazon.com/glue/pricing/).
DPU_HOUR_USD = 0.44
#: Glue 2.0 and later bill a job run per second, for at least one minute.
MINIMUM_S = 60.0
#: terraform-infra defaults: G.1X workers (1 DPU each), 2 of them.
DPUS = 2
#: Runs per 30-day month at each freshness.
FRESHNESS = {"daily": 30, "hourly": 30 * 24, "every 15 min": 30 * 96}


def billed_seconds(seconds: float) -> float:
    return max(MINIMUM_S, seconds)


def usd_per_run(job_seconds: list[float], startup_s: float) -> float:
    """One pipeline run: each job run billed for its start-up and work, at least a minute."""
    return sum(billed_seconds(startup_s + s) for s in job_seconds) / 3600 * DPUS * DPU_HOUR_USD


def _slot(name: str) -> str:
    return f"bench_{name}_{uuid.uuid4().hex[:8]}"


def main() -> None:
    scale = float(os.environ.get("BENCH_GLUE_SCALE", "1"))
    changes = int(os.environ.get("BENCH_GLUE_CHANGES", "5000"))
    params: dict[str, Any] = {"scale": scale, "seed": SEED, "changes": changes, "dpus": DPUS}
    params["load_avg_1m_before"] = round(os.getloadavg()[0], 2)
    metrics: dict[str, Any] = {}
    with bench_root("bench-glue-modes-") as root, source_database(root, scale) as source:
        dsn = source.dsn
        params["source_rows"] = sum(source.rows.values())
        per_job = source.lake(root, "per_job", slot_name=_slot("per_job"))
        single = source.lake(root, "single_job", slot_name=_slot("single_job"))

        t0 = time.perf_counter()
        spark = spark_session(per_job, "bench-glue-modes")
        metrics["spark_startup_s"] = round(time.perf_counter() - t0, 3)
        runs: dict[str, dict[str, Any]] = {}
        for phase in ("first", "incremental"):
            if phase == "incremental":
                params["changes_made"] = workload(dsn, changes)
                run_once(per_job)
                run_once(single)
            result = run_pipeline(
                per_job, spark=spark, workers=1, kinds=("silver", "gold", "quality")
            )
            assert not result.failed, [(r.job_name, r.error) for r in result.failed]
            jobs = {r.job_name: r.seconds for r in result.runs}
            job = start_job_run(single, SINGLE_JOB, spark=spark)
            assert job.state == "SUCCEEDED", job.error
            runs[phase] = {"per_job": jobs, "single_job": job.seconds}
            metrics[f"{phase}_per_job_jobs"] = len(jobs)
            metrics[f"{phase}_per_job_sum_s"] = round(sum(jobs.values()), 3)
            metrics[f"{phase}_per_job_longest_s"] = max(jobs.values())
            metrics[f"{phase}_single_job_s"] = job.seconds
        params["load_avg_1m_after"] = round(os.getloadavg()[0], 2)

        startup = metrics["spark_startup_s"]
        incremental = runs["incremental"]
        per_run = {
            "per_job": usd_per_run(list(incremental["per_job"].values()), startup),
            "single_job": usd_per_run([incremental["single_job"]], startup),
        }
        for mode, usd in per_run.items():
            metrics[f"{mode}_usd_per_run"] = round(usd, 4)
            for freshness, runs_per_month in FRESHNESS.items():
                metrics[f"{mode}_usd_per_month_{freshness.replace(' ', '_')}"] = round(
                    usd * runs_per_month, 2
                )
        metrics["job_seconds"] = runs
    report("glue_modes", params, metrics)


if __name__ == "__main__":
    main()
