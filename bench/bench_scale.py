"""Scale benchmark: every step of ``make demo`` at scales 1, 10, 30, with time and peak memory.

For each scale in ``BENCH_SCALES`` (comma-separated, default ``1``; ``make bench
BENCH_SCALES=1,10,30``) on a private PostgreSQL cluster and a fresh lake, each step runs as the
user runs it, a ``lakehouse`` command in its own process:

- ``seed`` (``--scale N``), ``replicate --once`` (the full load), ``pipeline run`` (the first run
  from an empty lake), ``reconcile`` and the business queries of ``athena-queries/business/``;
- for each: wall seconds, exit code, and the peak memory of all processes at work (the sum of the
  proportional set size of the command, its children such as the Spark JVM and its Python
  workers, and every PostgreSQL server process), sampled every 0.2 s. Proportional, not
  resident: every PostgreSQL backend that touched the shared buffers has them in its resident
  size, so a sum of resident sizes counts the same 256 MiB once per backend;
- the bronze bytes after the full load (``bronze_mib``), the Spark sizing ``pipeline run``
  chose (``pipeline_spark``: heap, shuffle partitions, splits, slices) and the seconds of each
  job of that run (``pipeline_jobs_<job>``, from its ``--json`` outcome; jobs run two at a
  time, so they add up to more than the run), to see where a scale spends its time.

Targets (issue 18): scale 10 first pipeline run <= 180 s with peak <= 6 GiB; scale 30 completes
with a peak at most 1.5 x that of scale 10. The machine is shared: the 1-minute load average is
recorded before and after each scale.

Usage: ``python -m bench.bench_scale`` (``BENCH_SCALES=1,10`` in the environment).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from bench.common import bench_root, report, source_database
from lakehouse.paths import ATHENA_QUERIES_DIR, REPO_ROOT

MIB = 1024 * 1024


def _tree_memory(roots: list[int]) -> int:
    """Memory of the processes ``roots`` and all their descendants, shared pages counted once.

    The proportional set size (Linux ``smaps_rollup``): a page shared by n processes counts
    1/n in each, so the sum over the processes is what they hold together.
    """
    seen: set[int] = set()
    total = 0
    for root in roots:
        try:
            procs = [psutil.Process(root)]
            procs += procs[0].children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                total += proc.memory_full_info().pss
            except psutil.NoSuchProcess:
                continue
    return total


def _run_step(command: list[str], env: dict[str, str], postmaster: int) -> dict[str, Any]:
    """Run one command; its wall time, exit code, peak memory of all processes and output."""
    peak = 0
    done = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            peak = max(peak, _tree_memory([proc.pid, postmaster]))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, errors = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    stdout, stderr = output.decode(errors="replace"), errors.decode(errors="replace")
    if proc.returncode != 0:
        tail = (stdout + stderr)[-2000:]
        print(f"  {' '.join(command[2:])} exited {proc.returncode}:\n{tail}", file=sys.stderr)
    return {
        "seconds": round(seconds, 1),
        "peak_mib": round(peak / MIB),
        "exit_code": proc.returncode,
        "stdout": stdout,
        "stderr": stderr,
    }


#: The line ``pipeline run`` starts with (standard error under ``--json``).
_SIZING = re.compile(r"^Spark: (.*)$", re.MULTILINE)


def _pipeline_details(run: dict[str, Any]) -> dict[str, Any]:
    """The sizing and the seconds of each job of a ``pipeline run --json``."""
    out: dict[str, Any] = {}
    sizing = _SIZING.search(run["stderr"])
    if sizing:
        out["pipeline_spark"] = sizing.group(1)
    try:
        outcome = json.loads(run["stdout"])
    except json.JSONDecodeError:
        return out
    out["pipeline_jobs"] = {
        j["job"]: j["seconds"] for j in outcome.get("jobs", []) if "seconds" in j
    }
    return out


def _bronze_mib(lake: Path) -> float:
    bronze = lake / "bronze"
    return round(sum(p.stat().st_size for p in bronze.rglob("*") if p.is_file()) / MIB, 1)


def _scale(scale: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # Not seeded here: seeding is the first step this bench times.
    with bench_root(f"bench-scale{scale:g}-") as root, source_database(root) as source:
        dsn = source.dsn
        postmaster = source.cluster.status().pid
        assert postmaster is not None
        env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "LAKEHOUSE_LAKE": str(root / "lake"),
            "LAKEHOUSE_SLOT": f"bench_{uuid.uuid4().hex[:8]}",
            "LAKEHOUSE_STATE_DIR": str(root / "state"),
            "COLUMNS": "400",  # the sizing line stays one line
        }
        cli = [sys.executable, "-m", "lakehouse.cli.main"]
        out["load_average_before"] = round(os.getloadavg()[0], 2)
        steps: list[tuple[str, list[list[str]]]] = [
            ("seed", [["seed", "--scale", f"{scale:g}", "--seed", "42"]]),
            ("full_load", [["replicate", "--once", "--quiet"]]),
            ("pipeline", [["pipeline", "run", "--json"]]),
            ("reconcile", [["reconcile"]]),
            (
                "business_queries",
                [
                    ["athena", "--format", "csv", "-f", str(q)]
                    for q in sorted((ATHENA_QUERIES_DIR / "business").glob("*.sql"))
                ],
            ),
        ]
        for name, commands in steps:
            runs = [_run_step([*cli, *c], env, postmaster) for c in commands]
            out[name] = {
                "seconds": round(sum(r["seconds"] for r in runs), 1),
                "peak_mib": max(r["peak_mib"] for r in runs),
                "exit_code": max(r["exit_code"] for r in runs),
            }
            if name == "full_load":
                out["bronze_mib"] = _bronze_mib(root / "lake")
            if name == "pipeline":
                out.update(_pipeline_details(runs[0]))
            print(f"  scale {scale:g} {name}: {out[name]}", flush=True)
            if out[name]["exit_code"] not in (0, 3):  # 3: rows quarantined, still a result
                break
        out["load_average_after"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    scales = [float(s) for s in os.environ.get("BENCH_SCALES", "1").split(",") if s.strip()]
    metrics: dict[str, Any] = {}
    for scale in scales:
        result = _scale(scale)
        for step, value in result.items():
            if isinstance(value, dict):
                for key, figure in value.items():
                    metrics[f"scale{scale:g}_{step}_{key}"] = figure
            else:
                metrics[f"scale{scale:g}_{step}"] = value
    targets = {
        "scale10_pipeline_seconds": "<= 180",
        "scale10_pipeline_peak_mib": "<= 6144",
        "scale30_pipeline_peak_mib": "<= 1.5 x scale 10",
    }
    report(
        "scale",
        {"scales": ",".join(f"{s:g}" for s in scales), "seed": 42},
        metrics,
        {k: v for k, v in targets.items() if k in metrics},
    )


if __name__ == "__main__":
    main()
