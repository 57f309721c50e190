"""Benchmark of the CLI's start: ``lakehouse --help`` and a one-row gold query.

Each figure is the median of 5 runs of a fresh process, wall-clock and CPU (user + system)
seconds, beside the floor: ``python -c`` importing DuckDB and running the same query on the same
Parquet files. The query runs on a small synthetic lake (``bench_athena.build_lake`` at scale
0.01, crawled), so the figures are the start-up, not the data. The load average is recorded
beside them: on a busy machine the CPU figures are the steadier ones.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_athena import _GOLD, build_lake
from bench.common import report
from lakehouse.catalog.crawler import crawl

RUNS = 5
SCALE = 0.01


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _median(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    runs = [_run(argv, env) for _ in range(RUNS)]
    return (
        round(statistics.median(w for w, _ in runs), 3),
        round(statistics.median(c for _, c in runs), 3),
    )


def main() -> None:
    mart = next(iter(_GOLD))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        settings = build_lake(Path(tmp) / "lake", SCALE)
        crawl(settings)
        env = {**os.environ, "LAKEHOUSE_LAKE": settings.lake}
        lakehouse = [sys.executable, "-m", "lakehouse.cli.main"]
        query = f"select * from gold.{mart} limit 1"
        files = f"{settings.gold_uri}/{mart}/**/*.parquet"
        floor = (
            "import duckdb; duckdb.sql(\"select * from read_parquet('"
            + files
            + "', hive_partitioning=true) limit 1\").fetchall()"
        )
        load_before = os.getloadavg()[0]
        metrics: dict[str, float] = {}
        metrics["help_s"], metrics["help_cpu_s"] = _median([*lakehouse, "--help"], env)
        metrics["query_s"], metrics["query_cpu_s"] = _median([*lakehouse, "athena", query], env)
        metrics["floor_s"], metrics["floor_cpu_s"] = _median([sys.executable, "-c", floor], env)
        metrics["query_over_floor"] = round(metrics["query_s"] / metrics["floor_s"], 2)
        metrics["query_cpu_over_floor"] = round(metrics["query_cpu_s"] / metrics["floor_cpu_s"], 2)
        metrics["load_average_1m"] = round((load_before + os.getloadavg()[0]) / 2, 1)
    report(
        "cli",
        {"runs": RUNS, "scale": SCALE, "query": query, "cpus": os.cpu_count()},
        metrics,
        {"help_s": "<= 0.25 on an idle machine", "query_over_floor": "<= 1.5"},
    )


if __name__ == "__main__":
    main()
