"""What typing and checking one bronze column costs, per logical type (issue 18).

``quality.type_and_check`` turns every raw string of a full load into its declared type and
a verdict; at scale 10 that is millions of values per column. This benchmark generates
``BENCH_ROWS`` (default 320,000) contract-form values per type in memory, caches them, and
times each typing expression of ``lakehouse_glue.casting`` alone, written to Spark's ``noop``
sink on a local session of 2 cores. It reports the JVM's CPU seconds (the best of
``BENCH_REPEATS``, default 3) minus those of passing the raw column through: on a shared
machine CPU seconds move far less with the load than wall time, which is recorded beside them
with the load average.

Usage: ``python -m bench.bench_type_checks``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from lakehouse_glue.casting import json_valid, timestamp_utc
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention

from bench.common import report

_TICKS = os.sysconf("SC_CLK_TCK")


def _values(spark: SparkSession, rows: int) -> DataFrame:
    """A contract-form timestamp and a JSON object per row (like ``events.properties``)."""
    return (
        spark.range(rows)
        .select(
            F.date_format(
                F.timestamp_micros(F.lit(1_704_067_200_000_000) + (F.rand(1) * 3e13).cast("long")),
                "yyyy-MM-dd HH:mm:ss.SSSSSS",
            ).alias("ts"),
            F.to_json(
                F.struct(
                    F.concat(F.lit("/p/"), F.col("id")).alias("path"),
                    F.expr("repeat('x', cast(rand(2) * 55 + 5 as int))").alias("ref"),
                    F.col("id").alias("n"),
                    F.struct((F.col("id") * 1.5).alias("k")).alias("nested"),
                )
            ).alias("js"),
        )
        .repartition(2)
        .cache()
    )


def _jvm_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def main() -> None:
    rows = int(os.environ.get("BENCH_ROWS", "320000"))
    repeats = int(os.environ.get("BENCH_REPEATS", "3"))
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench-type-checks")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    pid = int(jvm.java.lang.ProcessHandle.current().pid())
    df = _values(spark, rows)
    df.count()
    ts, js = F.col("ts"), F.col("js")
    expressions: dict[str, Column] = {
        "raw": ts,
        "timestamp_utc": timestamp_utc(ts),
        "json_valid": json_valid(js),
    }
    load_before = os.getloadavg()[0]
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    for name, expression in expressions.items():
        best: tuple[float, float] | None = None
        for _ in range(repeats):
            c0, t0 = _jvm_cpu(pid), time.perf_counter()
            df.select(expression.alias("v")).write.format("noop").mode("overwrite").save()
            sample = (_jvm_cpu(pid) - c0, time.perf_counter() - t0)
            best = sample if best is None or sample[0] < best[0] else best
        assert best is not None
        cpu[name], wall[name] = best
    metrics: dict[str, Any] = {}
    for name in expressions:
        if name != "raw":
            metrics[f"{name}_cpu_s"] = round(cpu[name] - cpu["raw"], 2)
            metrics[f"{name}_s"] = round(wall[name], 2)
    metrics["raw_cpu_s"] = round(cpu["raw"], 2)
    params = {
        "rows": rows,
        "repeats": repeats,
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }
    spark.stop()
    report("type_checks", params, metrics)


if __name__ == "__main__":
    main()
