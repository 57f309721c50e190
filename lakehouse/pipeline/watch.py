"""``lakehouse pipeline watch``: replicate, then process, in micro-batches, until stopped.

A stop request (``stop``, set by Ctrl-C or SIGTERM in the CLI) is honoured between steps, never
inside one: during replication the replicator stops at its next flush, having confirmed to the
slot only files that are durable, and the pipeline is not started for that batch; during the
pipeline the batch runs to its end (every job commits or fails as a whole, bookmarks move only
after a commit), then the loop ends.

A batch brings silver and gold to the source; what only reports on them waits for the pause
after it. The quality report (``publish_quality_report``: soft rules over whole silver tables,
a fifth of a steady batch's CPU at scale 1) is published after a batch that changed silver,
before the wait for the next one, when no committed change waits in the replication slot; so
gold is not held up by a report about it. A source that never pauses still gets its report: a
batch runs it itself when :data:`REPORT_EVERY` batches in a row changed silver without one.
The report names the silver snapshots it read, as always, so a reader can tell which state it
describes; a ``pipeline run`` finds it stale and publishes it again if a watch stopped before
its pause.

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
from lakehouse.glue.runner import JobRun
from lakehouse.pipeline import state
from lakehouse.pipeline.compact import BATCH_SLACK, Compacted
from lakehouse.pipeline.run import (
    BATCH_KINDS,
    KINDS,
    QUALITY,
    QUALITY_JOB,
    PipelineResult,
    compact_between_runs,
    run_pipeline,
)

#: A batch runs the quality report itself when this many batches in a row changed silver
#: without one (a source that never pauses long enough for the report between batches).
REPORT_EVERY = 5


@dataclass
class Batch:
    """One micro-batch: how long replication and processing took, and the pipeline result."""

    number: int
    replicate_seconds: float
    result: PipelineResult
    #: What was compacted after the batch, before the next one (not part of ``result``).
    compacted: list[Compacted] = field(default_factory=list)
    compact_seconds: float = 0.0
    #: The quality report published after the batch, before the next one (``None``: none).
    report: JobRun | None = None
    report_seconds: float = 0.0


@dataclass
class Between:
    """What ``pipeline watch`` owes between batches: the quality report since silver changed,
    and the compaction of the tables written since the last complete pass."""

    #: Batches that changed silver since the quality report was last published (0: current).
    unreported: int = 0
    #: Entities written since the last complete compaction between batches.
    pending: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, settings: Settings) -> Between:
        """At the start of a watch: the report is owed unless it is known to be current."""
        return cls(unreported=0 if state.quality_report_current(settings) else 1)

    def kinds(self) -> tuple[str, ...]:
        """What the next batch runs: the DAG, without the report unless it is overdue."""
        return KINDS if self.unreported >= REPORT_EVERY else BATCH_KINDS

    def ran(self, result: PipelineResult) -> None:
        """Account for a batch's ``result``."""
        report = [r for r in result.runs if r.job_name == QUALITY_JOB]
        if report and report[0].state == "SUCCEEDED":
            self.unreported = 0
        elif result.written:
            self.unreported += 1
        self.pending.update(result.written)

    def work(
        self,
        settings: Settings,
        spark: SparkSession,
        batch: Batch,
        stop: threading.Event | None = None,
    ) -> None:
        """After ``batch`` (which did not lose its Spark session), when no change waits: the
        compaction, then the quality report if owed (recorded on ``batch``). In that order the
        report reads the compacted files and names the snapshots the tables are left at."""
        if self.pending:
            compact_when_idle(settings, spark, batch, self.pending, stop)
        if self.unreported:
            report_when_idle(settings, spark, batch, stop)
            if batch.report is not None and batch.report.state == "SUCCEEDED":
                self.unreported = 0


def watch(
    settings: Settings,
    *,
    interval: float,
    spark: SparkSession,
    max_batches: int | None = None,
    on_batch: Callable[[Batch], None] | None = None,
    on_between: Callable[[Batch], None] | None = None,
    stop: threading.Event | None = None,
) -> list[Batch]:
    """Replicate once (catch up with the WAL), run the incremental pipeline, wait, repeat.

    Stops after ``max_batches`` (forever when ``None``) or, between steps, when ``stop`` is set.
    ``on_batch`` is called when a batch has run, ``on_between`` when the pause after it
    published the quality report or compacted something. Returns the last (up to 100)
    batches that ran to their end.
    """
    from lakehouse.replicate import run_once  # the replicator's API; imports psycopg lazily

    stop = stop or threading.Event()
    batches: list[Batch] = []
    between = Between.start(settings)
    n = 0
    while (max_batches is None or n < max_batches) and not stop.is_set():
        n += 1
        started = time.perf_counter()
        run_once(settings, should_stop=stop.is_set)
        if stop.is_set():
            break  # what was replicated is durable and confirmed; the next run processes it
        replicated = time.perf_counter()
        result = run_pipeline(
            settings, spark=spark, compact_slack=BATCH_SLACK, kinds=between.kinds()
        )
        batch = Batch(n, round(replicated - started, 3), result)
        batches = [*batches[-99:], batch]  # bounded: watch may run for days
        between.ran(result)
        if on_batch:
            on_batch(batch)
        if result.fatal is None:
            between.work(settings, spark, batch, stop)
            if (batch.compacted or batch.report) and on_between:
                on_between(batch)
        if max_batches is not None and n >= max_batches:
            break
        stop.wait(max(0.0, interval - (time.perf_counter() - started)))
    return batches


def _busy(settings: Settings, stop: threading.Event | None) -> bool:
    """Whether the pause should end: a stop was asked, or a committed change waits."""
    from lakehouse.replicate.replicator import changes_waiting

    return (stop is not None and stop.is_set()) or changes_waiting(settings)


def report_when_idle(
    settings: Settings,
    spark: SparkSession,
    batch: Batch,
    stop: threading.Event | None = None,
) -> None:
    """Publish the quality report when no change waits (recorded on ``batch``)."""
    if _busy(settings, stop):
        return
    t0 = time.perf_counter()
    result = run_pipeline(settings, spark=spark, kinds=(QUALITY,))
    batch.report = next((r for r in result.runs if r.job_name == QUALITY_JOB), None)
    batch.report_seconds = round(time.perf_counter() - t0, 3)


def compact_when_idle(
    settings: Settings,
    spark: SparkSession,
    batch: Batch,
    pending: set[str],
    stop: threading.Event | None = None,
) -> None:
    """Compact the tables of ``pending`` when no change waits (recorded on ``batch``); an
    entity leaves ``pending`` once its tables have all been looked at."""

    def busy() -> bool:
        return _busy(settings, stop)

    if busy():
        return
    t0 = time.perf_counter()
    done, finished = compact_between_runs(settings, spark, sorted(pending), busy)
    batch.compacted += done
    batch.compact_seconds = round(batch.compact_seconds + time.perf_counter() - t0, 3)
    if finished:
        pending.clear()
