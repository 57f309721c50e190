"""Shared helpers of the benchmarks: machine facts, the source database and its lake, a JSON
result and a short table.

Each ``bench/bench_*.py`` measures one area and calls :func:`report`, which writes
``bench/results/<name>.json`` and prints a table. Benchmarks measure; they never assert times.
Their setup, never timed, is :func:`bench_root` (a temporary folder) and :func:`source_database`
(a private PostgreSQL 15 in it, migrated and seeded), whose :meth:`Source.lake` replicates it
once into a lake (the full load).
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakehouse.config import Settings
    from lakehouse.db.cluster import LocalCluster

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The seed of every bench's generated source (the same data for the same scale).
SEED = 42


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mem_kb = 0
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def speed_probe(rounds: int = 3) -> float:
    """CPU seconds (best of ``rounds``) of a fixed single-threaded workload: interpreter work
    and zlib compression, as the seed and the replication do.

    The machine behind these benchmarks changes speed from day to day (the same seed has taken
    91 s and 298 s at scale 10), so absolute seconds from two days cannot be compared. Dividing a
    figure by this probe's value, measured in the same run, makes them comparable. CPU time, not
    wall time: another process on the machine does not change it much.
    """
    data = random.Random(SEED).randbytes(1 << 20) * 4  # compressible: repeats after 1 MiB
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i % 7
        zlib.compress(data, 6)
        best = min(best, time.process_time() - start)
    return round(best, 4)


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or its finished children), MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def process_seconds(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one process, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_process_seconds(
    argv: list[str],
    env: dict[str, str],
    runs: int,
    before_each: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``runs`` runs of a process."""
    times = []
    for _ in range(runs):
        if before_each is not None:
            before_each()
        times.append(process_seconds(argv, env))
    return (
        round(statistics.median(w for w, _ in times), 3),
        round(statistics.median(c for _, c in times), 3),
    )


@contextmanager
def timed(into: dict[str, float], key: str) -> Iterator[None]:
    """Measure the wall time of a block into ``into[key]`` (seconds)."""
    start = time.perf_counter()
    yield
    into[key] = round(time.perf_counter() - start, 3)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (pct in 0..100)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def report(
    name: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    targets: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> Path:
    """Write ``results/<name>.json`` and print one table row per metric.

    ``details`` (nested figures, e.g. per job) go into the JSON only; a benchmark prints its own
    table of them.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "speed_probe_cpu_s": (probe := speed_probe())},
        "params": params,
        "metrics": metrics,
        "targets": targets or {},
    }
    if details:
        result["details"] = details
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    width = max([len(k) for k in metrics] + [6])
    print(f"\n{name}  ({', '.join(f'{k}={v}' for k, v in params.items())})")
    print(f"  machine speed probe: {probe} CPU s (lower is faster)")
    print(f"  {'metric'.ljust(width)}  {'value':>14}  target")
    for key, value in metrics.items():
        target = (targets or {}).get(key, "")
        print(f"  {key.ljust(width)}  {value!s:>14}  {target}")
    print(f"  -> {path}")
    return path


@contextmanager
def bench_root(prefix: str) -> Iterator[Path]:
    """A temporary folder for one bench's database and lakes, deleted at the end."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)  # the unprivileged server user must reach it when we are root
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Source:
    """A bench's private source database: its server, its DSN and the rows seeded per table."""

    cluster: LocalCluster
    dsn: str
    rows: dict[str, int]

    def lake(self, root: Path, name: str = "lake", **options: Any) -> Settings:
        """A lake ``root/name`` (state beside it), replicated once from this source."""
        from lakehouse.config import Settings
        from lakehouse.replicate import run_once

        state = root / ("state" if name == "lake" else f"state-{name}")
        settings = Settings(
            lake=str(root / name), database_url=self.dsn, state_dir=state, **options
        )
        run_once(settings)
        return settings


@contextmanager
def source_database(
    root: Path, scale: float | None = None, *, tenants: int | None = None, seed: int = SEED
) -> Iterator[Source]:
    """A private PostgreSQL 15 in ``root/pg``, migrated and seeded at ``scale`` (not seeded when
    ``None``: the bench times seeding itself), destroyed at the end."""
    from lakehouse.db.cluster import LocalCluster, free_port
    from lakehouse.db.migrate import migrate
    from lakehouse.source import seed as source

    cluster = LocalCluster(root / "pg", free_port(), db_name="bench")
    try:
        cluster.init()
        cluster.start()
        cluster.ensure_database("bench")
        dsn = cluster.dsn("bench")
        migrate(dsn)
        rows: dict[str, int] = {}
        if scale is not None:
            rows = source.seed(
                dsn,
                scale=scale,
                seed=seed,
                reset=False,
                tenants=source.TENANTS if tenants is None else tenants,
            )
        yield Source(cluster, dsn, rows)
    finally:
        cluster.destroy()
