"""``lakehouse pipeline watch``: replicate, then process, in micro-batches, until stopped.

A stop request (``stop``, set by Ctrl-C or SIGTERM in the CLI) is honoured between steps, never
inside one: during replication the replicator stops at its next flush, having confirmed to the
slot only files that are durable, and the pipeline is not started for that batch; during the
pipeline the batch runs to its end (every job commits or fails as a whole, bookmarks move only
after a commit), then the loop ends.

The compaction step (:mod:`lakehouse.pipeline.compact`) is kept off a batch's critical path:
a batch compacts only buckets :data:`~lakehouse.pipeline.compact.BATCH_SLACK` times over the
rule (a backstop for a source that never pauses). The rule itself is applied after a batch,
before the wait for the next one, when no committed change waits in the replication slot
(:func:`lakehouse.replicate.replicator.changes_waiting`), to the tables the batches wrote
since the last complete compaction, under the lake's writer lock; the question is asked again
before each table it rewrites, so a change arriving meanwhile waits for one table at most.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from lakehouse.config import Settings
from lakehouse.pipeline.compact import BATCH_SLACK, Compacted
from lakehouse.pipeline.run import PipelineResult, compact_between_runs, run_pipeline


@dataclass
class Batch:
    """One micro-batch: how long replication and processing took, and the pipeline result."""

    number: int
    replicate_seconds: float
    result: PipelineResult
    #: What was compacted after the batch, before the next one (not part of ``result``).
    compacted: list[Compacted] = field(default_factory=list)
    compact_seconds: float = 0.0


def watch(
    settings: Settings,
    *,
    interval: float,
    spark: SparkSession,
    max_batches: int | None = None,
    on_batch: Callable[[Batch], None] | None = None,
    on_compacted: Callable[[Batch], None] | None = None,
    stop: threading.Event | None = None,
) -> list[Batch]:
    """Replicate once (catch up with the WAL), run the incremental pipeline, wait, repeat.

    Stops after ``max_batches`` (forever when ``None``) or, between steps, when ``stop`` is set.
    ``on_batch`` is called when a batch has run, ``on_compacted`` when a compaction after it
    rewrote something. Returns the last (up to 100) batches that ran to their end.
    """
    from lakehouse.replicate import run_once  # the replicator's API; imports psycopg lazily

    stop = stop or threading.Event()
    batches: list[Batch] = []
    #: Entities written since the last complete compaction between batches.
    pending: set[str] = set()
    n = 0
    while (max_batches is None or n < max_batches) and not stop.is_set():
        n += 1
        started = time.perf_counter()
        run_once(settings, should_stop=stop.is_set)
        if stop.is_set():
            break  # what was replicated is durable and confirmed; the next run processes it
        replicated = time.perf_counter()
        result = run_pipeline(settings, spark=spark, compact_slack=BATCH_SLACK)
        batch = Batch(n, round(replicated - started, 3), result)
        batches = [*batches[-99:], batch]  # bounded: watch may run for days
        pending.update(result.written)
        if on_batch:
            on_batch(batch)
        if pending and result.fatal is None:
            compact_when_idle(settings, spark, batch, pending, stop)
            if batch.compacted and on_compacted:
                on_compacted(batch)
        if max_batches is not None and n >= max_batches:
            break
        stop.wait(max(0.0, interval - (time.perf_counter() - started)))
    return batches


def compact_when_idle(
    settings: Settings,
    spark: SparkSession,
    batch: Batch,
    pending: set[str],
    stop: threading.Event | None = None,
) -> None:
    """Compact the tables of ``pending`` when no change waits (recorded on ``batch``); an
    entity leaves ``pending`` once its tables have all been looked at."""
    from lakehouse.replicate.replicator import changes_waiting

    def busy() -> bool:
        return (stop is not None and stop.is_set()) or changes_waiting(settings)

    if busy():
        return
    t0 = time.perf_counter()
    done, finished = compact_between_runs(settings, spark, sorted(pending), busy)
    batch.compacted += done
    batch.compact_seconds = round(batch.compact_seconds + time.perf_counter() - t0, 3)
    if finished:
        pending.clear()
