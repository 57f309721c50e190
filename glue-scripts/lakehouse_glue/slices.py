"""A silver job's backlog in bounded slices, and the record of the slices already merged.

A first run, a full load or a long outage can hand a silver job more bronze than its memory
holds at once. The job therefore cuts its new files into slices of at most ``slice_bytes``
compressed bytes and reads, checks, merges and records one slice after the other, so its peak
memory follows the slice, not the table.

Order: full-load files first, then change files by name. CDC file names start with the time
they were written (docs/bronze-contract.md), so the slices arrive in change order; the MERGE
into silver and history keeps only changes newer than what the tables hold (by change
sequence), so the last change of every key still wins across slices exactly as it does across
runs. Order matters for deletes: a delete merged before an older update of its key would let
the update insert the row again, so a later slice never goes before an earlier one.

Progress. The Glue job bookmark moves only at ``job.commit()``, once per run, on AWS as
locally ("Tracking processed data using job bookmarks",
https://docs.aws.amazon.com/glue/latest/dg/monitor-continuations.html: the state a run's sources
read is saved by its commit; a run that fails before it leaves the bookmark where it was), and a
commit saves every source of the job at once. So each slice, once merged
into silver and history, is recorded in a small JSON file beside the entity's quarantine
(:data:`MERGED_LIST`: URI -> size of each file merged). A run that dies after slice k leaves the
bookmark unmoved: the next run is handed the same files again, skips the recorded ones (same
URI, same size) and goes on at slice k+1. The record keeps only what the bookmark still hands
out, so it never grows beyond one run's files. A run killed between a slice's merges and its
record replays that one slice, which changes nothing: both MERGEs keep only strictly newer
changes, and the tables already hold the slice's. The record is plain Hadoop file-system
writes (S3 on Glue), so the same resume works on AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from lakehouse_glue import fs

MIB = 1024 * 1024

MERGED_LIST = "_merged_bronze_files.json"
"""Beside an entity's quarantine: files merged by a run whose bookmark has not committed yet."""

#: A slice is at most this share of the driver's heap in compressed bronze bytes. DMS CSV
#: inflates about 5 times when decompressed and about twice again as Spark rows, and a slice's
#: rows are held (memory and disk) while the MERGEs read them: a sixteenth of the heap keeps that
#: within Spark's execution memory with room for the merge's join.
HEAP_SHARE = 16
#: The smallest default slice: below it the fixed cost of each MERGE dominates.
MIN_SLICE_BYTES = 16 * MIB


def default_slice_bytes(heap_bytes: int) -> int:
    """The slice size for a driver (local: the whole Spark JVM) of ``heap_bytes``."""
    return max(MIN_SLICE_BYTES, heap_bytes // HEAP_SHARE)


def jvm_heap_bytes(spark: SparkSession) -> int:
    """The maximum heap of this Spark driver's JVM (what ``spark.driver.memory`` gave it)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return int(jvm.java.lang.Runtime.getRuntime().maxMemory())


@dataclass(frozen=True)
class BronzeFile:
    """One bronze file to process: its URI and size in (compressed) bytes."""

    uri: str
    size: int

    def is_full_load(self, prefix: str) -> bool:
        return self.uri.rsplit("/", 1)[-1].startswith(prefix)


def plan(
    files: Iterable[BronzeFile],
    slice_bytes: int,
    full_load_prefix: str,
    *,
    full_load_whole: bool = False,
) -> list[list[str]]:
    """Cut ``files`` into slices of at most ``slice_bytes``, in change order.

    Full-load files come first (by name: ``LOAD00000001`` before ``LOAD00000002``), then change
    files by name. A slice takes files while their total stays within ``slice_bytes``; a file
    larger than that makes a slice of its own (files are never split: a gzip file is read
    whole).

    With ``full_load_whole`` every full-load file goes into the first slice whatever their
    size: into tables with no data the first slice is rebuilt, not merged, and a rebuild holds
    nothing in memory (it streams its rows through shuffles that spill, like a full refresh),
    while every further full-load slice would be a merge against the whole table.

    Raises:
        ValueError: ``slice_bytes`` is not positive.
    """
    if slice_bytes < 1:
        raise ValueError(f"the slice size must be at least 1 byte, got {slice_bytes}")
    ordered = sorted(files, key=lambda f: (not f.is_full_load(full_load_prefix), f.uri))
    slices: list[list[str]] = []
    if full_load_whole:
        loads = [f.uri for f in ordered if f.is_full_load(full_load_prefix)]
        if loads:
            slices.append(loads)
            ordered = ordered[len(loads) :]
    current: list[str] = []
    total = 0
    for f in ordered:
        if current and total + f.size > slice_bytes:
            slices.append(current)
            current, total = [], 0
        current.append(f.uri)
        total += f.size
    if current:
        slices.append(current)
    return slices


class MergedFiles:
    """The record of files merged by a run whose bookmark has not committed (see the module)."""

    def __init__(self, spark: SparkSession, path: str) -> None:
        self._spark = spark
        self._path = path
        self._files: dict[str, int] = {}

    def load(self, handed_out: Iterable[BronzeFile]) -> set[str]:
        """Read the record, keep what the bookmark hands out again; return those URIs.

        A file the bookmark no longer hands out was committed with its run: it is dropped. A
        file handed out again with another size was rewritten: it is processed again.
        """
        text = fs.read_text(self._spark, self._path)
        recorded: dict[str, int] = json.loads(text) if text else {}
        self._files = {f.uri: f.size for f in handed_out if recorded.get(f.uri) == f.size}
        if self._files != recorded:
            self._write()
        return set(self._files)

    def add(self, files: Iterable[BronzeFile]) -> None:
        """Record a slice's files as merged (after its MERGEs committed)."""
        self._files.update({f.uri: f.size for f in files})
        self._write()

    def clear(self) -> None:
        """Forget every file (a full refresh rebuilds from all files and moves the bookmark)."""
        self._files = {}
        if fs.exists(self._spark, self._path):
            fs.delete(self._spark, self._path)

    def _write(self) -> None:
        fs.write_text(self._spark, self._path, json.dumps(self._files, indent=1, sort_keys=True))
