"""Benchmark of a new ``lakehouse pipeline run`` process with the driver's class archive off and on.

Setup (not timed): a private PostgreSQL 15, seeded at ``BENCH_SCALE`` (default 0.25), replicated
once, and a first ``lakehouse pipeline run`` (so silver exists); the archive folder is a
temporary one, so the figures do not depend on the user's cache.

Timed, each a new process as a user runs it, ``BENCH_REPEATS`` times (default 2), archive off
then on, the 1-minute load average beside each figure:

* ``archive_write_s`` / ``archive_write_cpu_s`` - the first full refresh with the archive on and
  no archive yet: the JVM writes it when the process ends, and the process waits for that;
* ``full_refresh_<off|on>_s`` / ``..._cpu_s`` - ``lakehouse pipeline run --full-refresh``;
* ``incremental_<off|on>_s`` / ``..._cpu_s`` - after 5,000 source row changes (the workload of
  :mod:`bench.bench_pipeline`) replicated, ``lakehouse pipeline run``.

Seconds are from the command to the CLI's exit (the median of the repeats, each repeat in
``details``). CPU seconds are the whole process tree's: the CLI, its driver JVM and the JVM's
Python workers. The gateway JVM outlives the CLI by a moment (it exits when its standard input
closes), so the runs are started by a small process that is their child subreaper and reaps
them all before it reads its children's CPU time.

Usage: ``python -m bench.bench_cold_start``.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.bench_pipeline import workload
from bench.common import SEED, bench_root, report, source_database
from lakehouse.replicate import run_once

CHANGES = 5000
#: prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to this process.
_PR_SET_CHILD_SUBREAPER = 36


def _tree(argv: list[str]) -> None:
    """Run ``argv``, reap every descendant, print the wall and CPU seconds as JSON."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    exited = time.perf_counter() - t0
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": round(exited, 2),
                "tree_seconds": round(time.perf_counter() - t0, 2),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                "exit_code": proc.returncode,
                "tail": (proc.stdout + proc.stderr)[-2000:],
            }
        )
    )


def _run(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    load = round(os.getloadavg()[0], 2)
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_cold_start", "--tree", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out: dict[str, Any] = json.loads(done.stdout)
    out["load_1m"] = load
    if out["exit_code"]:
        print(out["tail"], file=sys.stderr)
    return out


def main() -> None:
    scale = float(os.environ.get("BENCH_SCALE", "0.25"))
    repeats = int(os.environ.get("BENCH_REPEATS", "2"))
    params: dict[str, Any] = {"scale": scale, "seed": SEED, "changes": CHANGES}
    params["repeats"] = repeats
    runs: dict[str, list[dict[str, Any]]] = {}
    with bench_root("bench-cold-start-") as root, source_database(root, scale) as source:
        dsn = source.dsn
        params["source_rows"] = sum(source.rows.values())
        settings = source.lake(root)
        env = {
            **os.environ,
            "LAKEHOUSE_LAKE": settings.lake,
            "DATABASE_URL": dsn,
            "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
            "LAKEHOUSE_SPARK_CLASS_ARCHIVE_DIR": str(root / "cds"),
        }
        cli = [sys.executable, "-m", "lakehouse", "pipeline", "run"]
        modes = {
            "off": {**env, "LAKEHOUSE_SPARK_CLASS_ARCHIVE": "false"},
            "on": {**env, "LAKEHOUSE_SPARK_CLASS_ARCHIVE": "true"},
        }
        _run(cli, modes["off"])  # silver exists from here on: incremental runs are short
        runs["archive_write"] = [_run([*cli, "--full-refresh"], modes["on"])]
        for _ in range(repeats):
            for mode, mode_env in modes.items():
                runs.setdefault(f"full_refresh_{mode}", []).append(
                    _run([*cli, "--full-refresh"], mode_env)
                )
            for mode, mode_env in modes.items():
                workload(dsn, CHANGES)
                run_once(settings)
                runs.setdefault(f"incremental_{mode}", []).append(_run(cli, mode_env))
        params["archive_mib"] = round(
            sum(p.stat().st_size for p in (root / "cds").glob("*.jsa")) / 2**20, 1
        )

    metrics: dict[str, Any] = {}
    for name, results in runs.items():
        metrics[f"{name}_s"] = statistics.median(r["seconds"] for r in results)
        metrics[f"{name}_cpu_s"] = statistics.median(r["cpu_s"] for r in results)
        metrics[f"{name}_load_1m"] = statistics.median(r["load_1m"] for r in results)
        metrics[f"{name}_failed"] = sum(1 for r in results if r["exit_code"] not in (0, 3))
    details = {
        name: [{k: v for k, v in r.items() if k != "tail"} for r in rs] for name, rs in runs.items()
    }
    report("cold_start", params, metrics, details=details)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--tree"]:
        _tree(sys.argv[2:])
    else:
        main()
