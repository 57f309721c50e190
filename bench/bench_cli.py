"""Benchmark of the CLI's start: ``lakehouse --help`` and a one-row gold query.

Each figure is the median of 5 runs of a fresh process, wall-clock and CPU (user + system)
seconds, beside the floor: ``python -c`` importing DuckDB and running the same query on the same
Parquet files (the data files of the gold table's current snapshot). The query runs on a small
synthetic lake (``bench_athena.build_lake`` at scale 0.01) whose gold tables are Iceberg tables
in the Hadoop layout the jobs write, crawled, so the figures are the start-up, not the data.

``query_*``: a query of a table whose current snapshot was planned before (the plan is kept by
its metadata, :mod:`lakehouse.athena.iceberg_plan`); ``query_first_*``: the first query after a
commit, which plans the snapshot with pyiceberg. The load average is recorded beside them: on a
busy machine the CPU figures are the steadier ones.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads

from bench.bench_athena import _GOLD, build_lake
from bench.common import median_process_seconds, process_seconds, report
from lakehouse.athena import iceberg_plan
from lakehouse.catalog.crawler import crawl
from lakehouse.config import Settings

RUNS = 5
SCALE = 0.01


def iceberg_gold(settings: Settings) -> None:
    """Rewrite the synthetic lake's gold Parquet folders as Iceberg tables (same rows)."""
    from tests.support.iceberg_catalog import HadoopCatalog

    catalog = HadoopCatalog(Path(settings.lake_uri))
    for name in _GOLD:
        folder = Path(settings.gold_uri) / name
        data = pads.dataset(folder, format="parquet", partitioning="hive").to_table()
        index = data.schema.get_field_index("tenant_id")
        data = data.set_column(index, "tenant_id", data.column(index).cast(pa.string()))
        shutil.rmtree(folder)
        table = catalog.create_table(f"gold.{name}", data.schema)
        with table.update_spec() as spec:
            spec.add_identity("tenant_id")
        catalog.load_table(f"gold.{name}").append(data)


def _data_files(folder: Path) -> list[str]:
    """The current snapshot's data files, as pyiceberg plans them (for the floor)."""
    from lakehouse.catalog import iceberg

    table = iceberg.load_table(folder)
    return sorted(str(f.path) for f in iceberg.live_files(table, table.current_snapshot()))


def main() -> None:
    mart = next(iter(_GOLD))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        settings = build_lake(Path(tmp) / "lake", SCALE)
        iceberg_gold(settings)
        crawl(settings)
        # As a user runs it: Python keeps the compiled modules (a sandbox may forbid that with
        # PYTHONDONTWRITEBYTECODE, and then every start compiles the project's own modules).
        env = {**os.environ, "LAKEHOUSE_LAKE": settings.lake}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        lakehouse = [sys.executable, "-m", "lakehouse.cli.main"]
        query = f"select * from gold.{mart} limit 1"
        files = _data_files(Path(settings.gold_uri) / mart)
        floor = (
            'import duckdb; duckdb.sql("select * from read_parquet('
            + repr(files)
            + ') limit 1").fetchall()'
        )
        plans = Path(settings.lake_uri).joinpath(*iceberg_plan.CACHE_DIR)

        def forget_plans() -> None:
            shutil.rmtree(plans, ignore_errors=True)

        # One unmeasured run of each, so that compiled modules exist and the OS has the files.
        for warm in ([*lakehouse, "--help"], [*lakehouse, "athena", query]):
            process_seconds(warm, env)
        load_before = os.getloadavg()[0]
        metrics: dict[str, float] = {}
        metrics["help_s"], metrics["help_cpu_s"] = median_process_seconds(
            [*lakehouse, "--help"], env, RUNS
        )
        metrics["floor_s"], metrics["floor_cpu_s"] = median_process_seconds(
            [sys.executable, "-c", floor], env, RUNS
        )
        argv = [*lakehouse, "athena", query]
        metrics["query_first_s"], metrics["query_first_cpu_s"] = median_process_seconds(
            argv, env, RUNS, forget_plans
        )
        metrics["query_s"], metrics["query_cpu_s"] = median_process_seconds(argv, env, RUNS)
        for key in ("query", "query_first"):
            metrics[f"{key}_over_floor"] = round(metrics[f"{key}_s"] / metrics["floor_s"], 2)
            metrics[f"{key}_cpu_over_floor"] = round(
                metrics[f"{key}_cpu_s"] / metrics["floor_cpu_s"], 2
            )
        metrics["load_average_1m"] = round((load_before + os.getloadavg()[0]) / 2, 1)
    report(
        "cli",
        {"runs": RUNS, "scale": SCALE, "query": query, "cpus": os.cpu_count()},
        metrics,
        {"help_s": "<= 0.25 on an idle machine", "query_over_floor": "<= 1.5"},
    )


if __name__ == "__main__":
    main()
