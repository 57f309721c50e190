"""``lakehouse pipeline watch``: replicate, then process, in micro-batches, until stopped."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.pipeline.run import PipelineResult, run_pipeline


@dataclass
class Batch:
    """One micro-batch: how long replication and processing took, and the pipeline result."""

    number: int
    replicate_seconds: float
    result: PipelineResult


def watch(
    settings: Settings,
    *,
    interval: float,
    spark: SparkSession,
    max_batches: int | None = None,
    on_batch: Callable[[Batch], None] | None = None,
) -> list[Batch]:
    """Replicate once (catch up with the WAL), run the incremental pipeline, wait, repeat.

    Stops after ``max_batches`` (forever when ``None``; Ctrl-C stops it between batches too).
    """
    from lakehouse.replicate import run_once  # the replicator's API; imports psycopg lazily

    batches: list[Batch] = []
    n = 0
    while max_batches is None or n < max_batches:
        n += 1
        started = time.perf_counter()
        run_once(settings)
        replicated = time.perf_counter()
        result = run_pipeline(settings, spark=spark)
        batch = Batch(n, round(replicated - started, 3), result)
        batches = [*batches[-99:], batch]  # bounded: watch may run for days
        if on_batch:
            on_batch(batch)
        if max_batches is not None and n >= max_batches:
            break
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    return batches
