"""Spark's memory and split settings for this machine and this lake, instead of fixed values.

In local mode one JVM is the driver and the executors: its heap holds every task's working
memory. A task's working memory does not grow with the table: a task reads one split or one
shuffle partition, and its sorts, joins and aggregations spill to disk when execution memory is
short; silver jobs read a large backlog in slices, and nothing is cached that one more pass
could avoid. So the heap grows with the bronze folder only up to a bound per core (the tasks
that run at once), and never past what the machine has free; a lake ten times larger gets the
same heap and more, smaller tasks. Shuffle partitions and the size of a read split follow from
the data and the cores; adaptive execution then coalesces partitions that turn out small.
Each value can be set instead (``LAKEHOUSE_SPARK_DRIVER_MEMORY``,
``LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS``, ``LAKEHOUSE_SPARK_MAX_PARTITION_BYTES``).

The rules (pure, in :func:`size_spark`; the inputs are measured by :func:`measure`):

* heap: 2 GiB (the fixed heap that runs the scale-1 demo: Spark's reserved 300 MiB, plans,
  generated code, the Python bridge, two jobs at once) plus 4 times the bronze bytes
  (compressed CSV inflates about 5 times, and a job's widest stage holds a table's share being
  shuffled), at most 1.5 GiB per core (:data:`HEAP_PER_CORE`: the tasks that run at once, each
  with its share of execution memory, beside the fixed part) and at most half of the memory
  available now (the rest stays for the Python workers, PostgreSQL and the page cache), at
  least 1 GiB. On 2 cores the bound is 3 GiB, reached from 256 MiB of bronze (about scale 4):
  scale 10 and scale 30 get the same heap;
* shuffle partitions: one per 64 MiB of inflated bronze, at least twice the cores (so every
  core has work while a straggler runs), at most 2,000 (AQE coalesces the small ones);
* read split (``spark.sql.files.maxPartitionBytes``): a quarter of each core's share of the
  heap's execution memory, between 16 and 128 MiB (Spark's default, the upper bound), so that
  the splits the cores read at once fit in memory with room for what a task builds from them;
* silver slice (the job argument ``--slice_bytes``): the largest slice of bronze a silver job
  reads and merges at once, a sixteenth of the heap in compressed bytes, at least 16 MiB
  (:func:`lakehouse_glue.slices.default_slice_bytes`, the rule the job also applies on Glue to
  its own driver when the argument is absent). ``LAKEHOUSE_SILVER_SLICE_BYTES`` sets it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import psutil
from lakehouse_glue.slices import default_slice_bytes

from lakehouse.storage import Storage

MIB = 1024 * 1024
GIB = 1024 * MIB

#: Compressed CSV to rows in memory: DMS CSV gzips about 5:1.
INFLATION = 5
#: The heap before any data: what ran the scale-1 demo as a fixed value.
BASE_HEAP = 2 * GIB
MIN_HEAP = 1 * GIB
#: The most heap per core: what bounds the heap of a large lake (see the module docstring).
HEAP_PER_CORE = 3 * GIB // 2
#: Spark's default read split, the largest we choose.
MAX_SPLIT = 128 * MIB
MIN_SPLIT = 16 * MIB


@dataclass(frozen=True)
class Machine:
    """What sizing depends on: memory available now, cores, and the bytes a full run reads."""

    available_bytes: int
    cores: int
    data_bytes: int


@dataclass(frozen=True)
class SparkSizing:
    """The chosen values, and why (shown by ``lakehouse pipeline run`` when it starts)."""

    driver_memory_mib: int
    shuffle_partitions: int
    max_partition_bytes: int
    basis: str
    #: The largest slice of bronze (compressed bytes) a silver job reads and merges at once.
    slice_bytes: int = 0

    @property
    def driver_memory(self) -> str:
        """As ``spark.driver.memory`` takes it."""
        return f"{self.driver_memory_mib}m"


def size_spark(
    machine: Machine,
    *,
    driver_memory_mib: int | None = None,
    shuffle_partitions: int | None = None,
    max_partition_bytes: int | None = None,
    slice_bytes: int | None = None,
) -> SparkSizing:
    """The Spark settings for ``machine``; each argument given replaces the derived value."""
    if driver_memory_mib is None:
        wanted = BASE_HEAP + 4 * machine.data_bytes
        ceiling = max(
            MIN_HEAP, min(HEAP_PER_CORE * max(machine.cores, 1), machine.available_bytes // 2)
        )
        driver_memory_mib = max(MIN_HEAP, min(wanted, ceiling)) // MIB
    if shuffle_partitions is None:
        by_data = math.ceil(INFLATION * machine.data_bytes / (64 * MIB))
        shuffle_partitions = min(2000, max(2 * machine.cores, by_data))
    if max_partition_bytes is None:
        # Spark's unified memory: (heap - 300 MiB) * 0.6, shared by the cores' tasks.
        execution = (driver_memory_mib * MIB - 300 * MIB) * 0.6
        share = int(execution / max(machine.cores, 1) / 4)
        max_partition_bytes = min(MAX_SPLIT, max(MIN_SPLIT, share))
    if slice_bytes is None:
        slice_bytes = default_slice_bytes(driver_memory_mib * MIB)
    basis = (
        f"{machine.available_bytes / GIB:.1f} GiB available, {machine.cores} core(s), "
        f"{machine.data_bytes / MIB:.0f} MiB of bronze"
    )
    return SparkSizing(
        driver_memory_mib, shuffle_partitions, max_partition_bytes, basis, slice_bytes
    )


def local_cores(master: str) -> int:
    """Cores of a ``local[N]`` / ``local[*]`` master (all of the machine's for others)."""
    inside = master.removeprefix("local").strip("[]")
    if inside.isdigit():
        return int(inside)
    return os.cpu_count() or 1


def measure(bronze: Storage, master: str) -> Machine:
    """This machine now, and the bronze folder of the lake."""
    return Machine(
        available_bytes=int(psutil.virtual_memory().available),
        cores=local_cores(master),
        data_bytes=bronze.total_bytes(""),
    )
