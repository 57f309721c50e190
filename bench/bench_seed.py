"""Seed and simulator benchmark.

Runs against a private PostgreSQL cluster on a free port (never the developer's):

- seed: wall time and rows/s of ``seed`` at scale 1 (target <= 30 s), and at scale 10 when
  ``BENCH_SCALE10=1`` (target <= 5 min); the same seed twice must give the same digest;
- simulate: row changes per second of ``simulate`` at full speed for ``--sim-seconds`` on the
  scale-1 data (target >= 1,000 changes/s).

Usage: ``python -m bench.bench_seed [--scale 1] [--sim-seconds 20]``.
"""

from __future__ import annotations

import argparse
import os
import time

from bench.common import bench_root, peak_rss_mib, report, source_database
from lakehouse.source.seed import seed
from lakehouse.source.simulate import simulate


def _load_average() -> float:
    return round(os.getloadavg()[0], 2)


def _cluster_cpu_seconds(postmaster: int) -> float:
    """CPU seconds used so far by the PostgreSQL server: the postmaster, its live children and
    (through cutime/cstime) the children it has reaped, e.g. closed connections.

    On a shared, busy machine wall time says little; CPU time of the client and of the server
    tells what the work costs, and max(client, server) what it takes on two idle cores.
    """
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int) -> list[str]:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()

    own = fields(postmaster)
    total = sum(int(v) for v in own[11:15])  # utime stime cutime cstime
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            f = fields(int(entry))
        except OSError:
            continue
        if int(f[1]) == postmaster:
            total += int(f[11]) + int(f[12])
    return total / tick


def _time_seed(dsn: str, postmaster: int, scale: float, reset: bool) -> dict[str, object]:
    """One seed at ``scale``: rows, wall seconds, rows per second, client and server CPU."""
    start, cpu = time.perf_counter(), time.process_time()
    server = _cluster_cpu_seconds(postmaster)
    counts = seed(dsn, scale=scale, seed=42, reset=reset)
    seconds = time.perf_counter() - start
    rows = sum(counts.values())
    name = f"seed_scale{scale:g}"
    return {
        f"{name}_rows": rows,
        f"{name}_seconds": round(seconds, 2),
        f"{name}_rows_per_s": round(rows / seconds),
        f"{name}_client_cpu_s": round(time.process_time() - cpu, 2),
        f"{name}_server_cpu_s": round(_cluster_cpu_seconds(postmaster) - server, 2),
    }


def _time_simulate(dsn: str, postmaster: int, seconds: float) -> dict[str, object]:
    """The simulator for ``seconds``: changes per second, client and server CPU."""
    cpu, server = time.process_time(), _cluster_cpu_seconds(postmaster)
    stats = simulate(dsn, changes=None, seconds=seconds, rate=None, seed=7)
    return {
        "simulate_client_cpu_s": round(time.process_time() - cpu, 2),
        "simulate_server_cpu_s": round(_cluster_cpu_seconds(postmaster) - server, 2),
        "simulate_changes": stats.changes,
        "simulate_transactions": stats.transactions,
        "simulate_changes_per_s": round(stats.changes_per_second),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--sim-seconds", type=float, default=20.0)
    args = parser.parse_args()

    metrics: dict[str, object] = {}
    targets: dict[str, str] = {
        f"seed_scale{args.scale:g}_seconds": "<= 30 (scale 1)",
        "simulate_changes_per_s": ">= 1000",
    }
    # Not seeded by the helper: seeding is what this bench times.
    with bench_root("bench-seed-") as root, source_database(root) as source:
        dsn = source.dsn
        postmaster = source.cluster.status().pid
        assert postmaster is not None
        metrics["load_average_before"] = _load_average()
        metrics.update(_time_seed(dsn, postmaster, args.scale, reset=False))
        metrics.update(_time_simulate(dsn, postmaster, args.sim_seconds))
        if os.environ.get("BENCH_SCALE10") == "1":
            metrics.update(_time_seed(dsn, postmaster, 10, reset=True))
            targets["seed_scale10_seconds"] = "<= 300"
        metrics["load_average_after"] = _load_average()
        metrics["peak_rss_mib"] = peak_rss_mib()
    report(
        "seed",
        {"scale": args.scale, "sim_seconds": args.sim_seconds, "seed": 42},
        metrics,
        targets,
    )


if __name__ == "__main__":
    main()
