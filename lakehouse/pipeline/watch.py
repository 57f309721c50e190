"""``lakehouse pipeline watch``: replicate, then process, in micro-batches, until stopped.

A stop request (``stop``, set by Ctrl-C or SIGTERM in the CLI) is honoured between steps, never
inside one: during replication the replicator stops at its next flush, having confirmed to the
slot only files that are durable, and the pipeline is not started for that batch; during the
pipeline the batch runs to its end (every job commits or fails as a whole, bookmarks move only
after a commit), then the loop ends.
"""

from __future__ import annotations

import threading
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
    stop: threading.Event | None = None,
) -> list[Batch]:
    """Replicate once (catch up with the WAL), run the incremental pipeline, wait, repeat.

    Stops after ``max_batches`` (forever when ``None``) or, between steps, when ``stop`` is set.
    Returns the last (up to 100) batches that ran to their end.
    """
    from lakehouse.replicate import run_once  # the replicator's API; imports psycopg lazily

    stop = stop or threading.Event()
    batches: list[Batch] = []
    n = 0
    while (max_batches is None or n < max_batches) and not stop.is_set():
        n += 1
        started = time.perf_counter()
        run_once(settings, should_stop=stop.is_set)
        if stop.is_set():
            break  # what was replicated is durable and confirmed; the next run processes it
        replicated = time.perf_counter()
        result = run_pipeline(settings, spark=spark)
        batch = Batch(n, round(replicated - started, 3), result)
        batches = [*batches[-99:], batch]  # bounded: watch may run for days
        if on_batch:
            on_batch(batch)
        if max_batches is not None and n >= max_batches:
            break
        stop.wait(max(0.0, interval - (time.perf_counter() - started)))
    return batches
