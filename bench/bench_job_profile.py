"""Where a pipeline run's work goes: Spark jobs and CPU seconds per Glue job.

Wall time on a shared 2-core machine moves with everyone else's load; the number of Spark jobs
a step launches and the CPU seconds it burns (the JVM's and this Python process's) move far
less, so they show what a change to a job saves.

Setup (not measured): a private PostgreSQL 15, seeded at ``BENCH_SCALE`` (default 1) and
replicated into a temporary lake; one SparkSession; a full refresh. Then ``BENCH_CHANGES``
source changes (default 5,000 times the scale: the pipeline benchmark's workload of updates,
deletes and inserts), replicated, and every job of the DAG run once in order, alone, each under
its own Spark job group:

* ``<job>_spark_jobs`` - Spark jobs the step launched;
* ``<job>_cpu_s`` - CPU seconds of the JVM and the driver's Python process during the step;
* ``<job>_s`` - its wall time (for orientation only).

Also the CPU seconds and wall time of the whole full refresh (``full_refresh_*``; its Spark
jobs run in the pipeline's worker threads, outside the job group). Usage:
``python -m bench.bench_job_profile``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from lakehouse_glue.dag import job_steps

from bench.bench_pipeline import workload
from bench.common import bench_root, report, source_database
from lakehouse.glue.runner import spark_session, start_job_run
from lakehouse.pipeline.run import run_pipeline
from lakehouse.replicate import run_once

_TICKS = os.sysconf("SC_CLK_TCK")


class Meter:
    """Spark jobs, CPU seconds and wall time of the steps run in one session."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.jvm_pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())

    def _cpu(self) -> float:
        with open(f"/proc/{self.jvm_pid}/stat", encoding="utf-8") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        jvm = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
        return jvm + time.process_time()

    def measure(
        self, name: str, step: Any, into: dict[str, Any], *, count_jobs: bool = True
    ) -> Any:
        """Run ``step``; ``count_jobs`` only when it launches its Spark jobs from this thread
        (a job group is a thread's property: the pipeline's worker threads do not inherit it)."""
        sc = self.spark.sparkContext
        sc.setJobGroup(name, name)
        cpu, wall = self._cpu(), time.perf_counter()
        try:
            result = step()
        finally:
            into[f"{name}_s"] = round(time.perf_counter() - wall, 2)
            into[f"{name}_cpu_s"] = round(self._cpu() - cpu, 2)
            if count_jobs:
                into[f"{name}_spark_jobs"] = len(sc.statusTracker().getJobIdsForGroup(name))
            sc.setLocalProperty("spark.jobGroup.id", None)
        return result


def main() -> None:
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    changes = int(os.environ.get("BENCH_CHANGES", str(int(5000 * scale))))
    params: dict[str, Any] = {"scale": scale, "changes": changes}
    params["load_avg_1m_before"] = round(os.getloadavg()[0], 2)
    metrics: dict[str, Any] = {}
    with bench_root("bench-profile-") as root, source_database(root, scale) as source:
        dsn = source.dsn
        settings = source.lake(root)
        params["source_rows"] = sum(source.rows.values())
        spark = spark_session(settings, "bench-profile")
        meter = Meter(spark)
        full = meter.measure(
            "full_refresh",
            lambda: run_pipeline(settings, full_refresh=True, spark=spark, workers=1),
            metrics,
            count_jobs=False,
        )
        params["full_refresh_failed_jobs"] = len(full.failed)
        params["changes_made"] = workload(dsn, changes)
        run_once(settings)
        failed = []
        steps: dict[str, Any] = {}
        for step in job_steps():
            run = meter.measure(
                step.job_name,
                lambda job=step.job_name: start_job_run(settings, job, spark=spark),
                steps,
            )
            if run.state != "SUCCEEDED":
                failed.append(step.job_name)
        params["incremental_failed_jobs"] = failed
        metrics.update({f"incremental_{k}": v for k, v in steps.items()})
        for kind in ("spark_jobs", "cpu_s"):
            total = sum(v for k, v in steps.items() if k.endswith(f"_{kind}"))
            metrics[f"incremental_total_{kind}"] = round(total, 2)
        params["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
        spark.stop()
    report("job_profile", params, metrics)


if __name__ == "__main__":
    main()
