"""Benchmark of the gold jobs: every ``create_gold_<mart>`` script over a seeded silver.

Setup (not timed): a private PostgreSQL 15 in a temporary folder, migrated and loaded with the
real seed at ``BENCH_GOLD_SCALE`` (default 1: ~600,000 rows), then exported to silver-shaped
Parquet (declared columns and types, ``tenant_id=`` partitions) with pyarrow. The export is a
bench-input adapter so that gold is measured on its own, whatever the state of the silver jobs.

Timed: Spark start-up (the local runner's session) and each gold job run through the local Glue
runner exactly as ``lakehouse glue start-job-run`` runs it, cold and then warm. Peak memory is the
JVM's high-water mark (VmHWM) plus this Python process.

Usage: ``python -m bench.bench_gold`` (``BENCH_GOLD_SCALE=10`` for scale 10).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import Entity, load_declaration

from bench.common import bench_root, peak_rss_mib, report, source_database, timed
from lakehouse.config import Settings
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import spark_session, start_job_run
from lakehouse.source.seed import seed
from tests.support.lake_rows import arrow_type

SEED = 42


def _select(entity: Entity) -> str:
    parts: list[str] = []
    for c in entity.columns:
        if c.type == "timestamp":
            parts.append(f"(extract(epoch from {c.name}) * 1000000)::bigint as {c.name}")
        elif c.type in ("uuid", "json"):
            parts.append(f"{c.name}::text as {c.name}")
        else:
            parts.append(c.name)
    if "tenant_id" not in entity.column_names:
        parts.append(f"{entity.tenant_column}::text as tenant_id")
    return f"copy (select {', '.join(parts)} from {entity.schema}.{entity.name}) to stdout csv"


def export_silver(dsn: str, silver: Path) -> dict[str, int]:
    """Write every source table as silver-shaped Parquet partitioned by tenant_id."""
    counts: dict[str, int] = {}
    for entity in load_declaration().entities:
        columns = list(entity.columns)
        names = [c.name for c in columns]
        # Timestamps are exported as epoch microseconds, cast below.
        types = {c.name: arrow_type(c, timestamp=pa.int64()) for c in columns}
        if "tenant_id" not in names:
            names.append("tenant_id")
            types["tenant_id"] = pa.string()
        csv_path = silver.parent / f"{entity.name}.csv"
        with (
            psycopg.connect(dsn) as conn,
            conn.cursor() as cur,
            open(csv_path, "wb") as out,
            cur.copy(_select(entity)) as copy,
        ):
            for chunk in copy:
                out.write(chunk)
        table = pacsv.read_csv(
            csv_path,
            read_options=pacsv.ReadOptions(column_names=names),
            # Text columns hold line breaks inside quoted values (the seed's hard cases).
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        for c in columns:
            if c.type == "timestamp":
                i = table.schema.get_field_index(c.name)
                table = table.set_column(
                    i, c.name, table.column(i).cast(pa.timestamp("us", tz="UTC"))
                )
        csv_path.unlink()
        pads.write_dataset(
            table,
            silver / entity.name,
            format="parquet",
            partitioning=["tenant_id"],
            partitioning_flavor="hive",
            existing_data_behavior="overwrite_or_ignore",
        )
        counts[entity.name] = table.num_rows
    return counts


def jvm_peak_mib(spark: Any) -> float:
    """High-water resident memory of the Spark driver JVM, MiB."""
    pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main() -> None:
    scale = float(os.environ.get("BENCH_GOLD_SCALE", "1"))
    metrics: dict[str, Any] = {}
    # Seeded here, not by the helper: its time is reported (not part of the figures).
    with bench_root("bench-gold-") as root, source_database(root) as source:
        dsn = source.dsn
        with timed(metrics, "setup_seed_s"):
            rows = seed(dsn, scale=scale, seed=SEED, reset=False)
        settings = Settings(lake=str(root / "lake"), _env_file=None)  # type: ignore[call-arg]
        # Exported as Parquet, then made the lake's silver Iceberg tables (not timed).
        staged = root / "silver-parquet"
        staged.mkdir(parents=True)
        with timed(metrics, "setup_export_silver_s"):
            export_silver(dsn, staged)
        source.cluster.stop()  # not needed any more: its memory back to Spark
        start = time.perf_counter()
        with timed(metrics, "spark_start_s"):
            spark = spark_session(settings, app_name="bench-gold")
        catalog = register_lake_catalog(spark, settings)
        with timed(metrics, "setup_silver_iceberg_s"):
            for entity in load_declaration().entities:
                table = ice.silver_table(catalog, settings.silver_uri, entity.name)
                ice.replace(spark, table, spark.read.parquet(str(staged / entity.name)))
        start += metrics["setup_silver_iceberg_s"]
        for rnd in ("cold", "warm"):
            total = 0.0
            for m in load_marts():
                run = start_job_run(settings, m.job_name, spark=spark)
                if run.state != "SUCCEEDED":
                    raise SystemExit(f"{m.job_name} failed:\n{run.error}")
                metrics[f"{rnd}_{m.name}_s"] = run.seconds
                total += run.seconds
            metrics[f"{rnd}_all_gold_s"] = round(total, 3)
        metrics["spark_start_plus_cold_gold_s"] = round(
            metrics["spark_start_s"] + metrics["cold_all_gold_s"], 3
        )
        metrics["wall_s"] = round(time.perf_counter() - start, 3)
        for m in load_marts():
            df = spark.table(ice.gold_table(catalog, settings.gold_uri, m.name).ident)
            metrics[f"rows_{m.name}"] = df.count()
        metrics["peak_jvm_rss_mib"] = jvm_peak_mib(spark)
        metrics["peak_python_rss_mib"] = peak_rss_mib()
        spark.stop()
        report(
            "gold" if scale == 1 else f"gold_scale_{scale:g}",
            {"scale": scale, "seed": SEED, "source_rows": sum(rows.values()), **rows},
            metrics,
            {
                "spark_start_plus_cold_gold_s": "part of <= 90 s for silver + gold at scale 1",
            },
        )


if __name__ == "__main__":
    sys.exit(main())
