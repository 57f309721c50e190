"""Benchmark of the table layout at 8 and at 10,000 tenants (the same volume).

For each tenant count, setup (not timed): a private PostgreSQL 15 in a temporary folder,
migrated, seeded at ``BENCH_TENANTS_SCALE`` (default 1: ~600,000 rows) with ``--tenants N``
(Zipf-distributed sizes), replicated once into a temporary lake.

Measured, per tenant count:

* ``full_refresh_s`` - every silver job, every gold job and the quality report, full refresh;
* ``files_<table>`` - data files of every silver, history and gold table after it, and their
  maximum ``files_max``;
* ``all_tenant_gold_query_s`` - ``athena-queries/business/tenant_performance_dashboard.sql``
  over every tenant on the local engine as ``lakehouse athena`` runs it: the result kept as
  Athena's result CSV (best of ``QUERY_RUNS`` calls in one engine, after a first run), and
  ``..._cpu_s`` the median CPU seconds of the process over the same calls (DuckDB's threads
  included). It returns one row per tenant, so at 10,000 tenants it prints 1,250 times more
  rows. The same query as its other callers use it: ``..._text_s`` with every value as text
  (the operations page's table) and ``..._rows_s`` with every value a Python object
  (``QueryResult.rows``). ``all_tenant_gold_aggregate_s`` is the
  same query reduced to one row (its tenant count and net revenue), which separates reading the
  lake from handing over the result;
* ``ops_tenant_page_first_s`` / ``..._middle_s`` - the operations page's tenant table as it
  runs (:func:`lakehouse.analytics.operations.tenant_page`): the count of tenants, then one
  page of 50 rows chosen in SQL (``ORDER BY`` rank, slug ``OFFSET`` m ``LIMIT`` 50), its values
  as text, for the first page and the middle one (page 101 of 200 at 10,000 tenants, the only
  page at 8); best of ``QUERY_RUNS`` in one engine, ``..._cpu_s`` the median CPU seconds.
  ``ops_tenant_page_view_s`` is the first page as a page view gets it
  (:func:`lakehouse.analytics.operations.tenants`, through the process's kept engine);
* ``single_tenant_file_share_max`` - for the largest and a median tenant, the share of a table's
  data files its scoped query plans (bucket, then min/max), the highest over all tables;
  ``single_tenant_query_s`` the largest tenant's scoped dashboard query;
* every query figure above is the best of ``QUERY_RUNS`` (15) calls at both tenant counts: a
  call takes 10-60 ms, and a best of 3 moved by a third between quiet runs (8 tenants:
  0.025 and 0.016 s);
* ``all_tenant_gold_query_cli_s`` / ``..._cli_cpu_s`` - the same dashboard as an analyst runs it:
  a new ``lakehouse athena -f`` process (median of 3, after one unmeasured run), wall and CPU
  seconds of the process; it reads the tables' files (nothing is in memory yet), so it is the
  figure where a per-tenant file layout would show;
* ``incremental_10_tenants_s`` - after updates to products and customers of 10 tenants and one
  more replication, the incremental pipeline run (same Spark session), and silver.products'
  snapshot summary: ``..._data_files_added`` / ``_deleted`` / ``_total``.

Per job (in the JSON's ``details`` and a second table): the seconds of every job of the full
refresh and of the incremental run at both tenant counts, with their ratio, and for each gold
mart how the incremental run built it: ``tenants (n)`` (the mart's commit replaced n tenants),
``full``, or ``up to date`` (no new commit). The jobs of a stage run concurrently, so a job's
seconds include waiting for the others; read them as shares, not as a sum.

One Spark session serves both runs. Before them, an unmeasured warm-up run (8 tenants at
``WARMUP_SCALE``, the same steps) loads and JIT-compiles the JVM code paths, so neither measured
tenant count pays the cold start that the first one would otherwise pay alone. The machine is
shared: the 1-minute load average is recorded before and after each run; read every time beside
it.

Usage: ``python -m bench.bench_tenants`` (``BENCH_TENANTS_SCALE=0.1`` for a smaller volume).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.incremental import MODE, TENANTS_REPLACED
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

from bench.common import (
    SEED,
    bench_root,
    median_process_seconds,
    process_seconds,
    report,
    source_database,
    timed,
)
from lakehouse.analytics import operations as ops
from lakehouse.athena.engine import AthenaEngine, QueryResult
from lakehouse.catalog import iceberg
from lakehouse.config import Settings
from lakehouse.glue.runner import spark_session
from lakehouse.paths import ATHENA_QUERIES_DIR
from lakehouse.pipeline.run import PipelineResult, run_pipeline
from lakehouse.replicate import run_once

TENANT_COUNTS = (10_000, 8)
# Calls per query figure (best wall time, median CPU time), at both tenant counts.
QUERY_RUNS = 15
CHANGED_TENANTS = 10
WARMUP_SCALE = 0.02
DASHBOARD = ATHENA_QUERIES_DIR / "business" / "tenant_performance_dashboard.sql"


def _table_dirs(settings: Settings) -> dict[str, Path]:
    silver, gold = Path(settings.silver_uri), Path(settings.gold_uri)
    out: dict[str, Path] = {}
    for e in load_declaration().entities:
        out[f"silver.{e.name}"] = silver / e.name
        out[f"silver.{e.name}{ice.HISTORY_SUFFIX}"] = silver / f"{e.name}{ice.HISTORY_SUFFIX}"
    for m in load_marts():
        out[f"gold.{m.name}"] = gold / m.name
    return {k: v for k, v in out.items() if iceberg.is_iceberg_table(v)}


def _file_counts(settings: Settings) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, folder in _table_dirs(settings).items():
        table = iceberg.load_table(folder)
        counts[name] = sum(1 for _ in iceberg.live_files(table, table.current_snapshot()))
    return counts


def _file_share(settings: Settings, tenant_ids: list[str]) -> float:
    """The highest share of a table's files that one tenant's scoped query plans."""
    worst = 0.0
    for folder in _table_dirs(settings).values():
        table = iceberg.load_table(folder)
        snapshot = table.current_snapshot()
        total = sum(1 for _ in iceberg.live_files(table, snapshot))
        if not total:
            continue
        for tenant_id in tenant_ids:
            planned = sum(1 for _ in iceberg.tenant_files(table, snapshot, "tenant_id", tenant_id))
            worst = max(worst, planned / total)
    return round(worst, 4)


def _job_seconds(result: PipelineResult) -> dict[str, float]:
    """Seconds of every job the run ran (jobs found up to date are absent)."""
    return {run.job_name: run.seconds for run in result.runs}


def _gold_snapshots(settings: Settings) -> dict[str, int | None]:
    """Each gold mart's current snapshot id (None: no table yet)."""
    out: dict[str, int | None] = {}
    for m in load_marts():
        folder = Path(settings.gold_uri) / m.name
        snapshot = (
            iceberg.load_table(folder).current_snapshot()
            if iceberg.is_iceberg_table(folder)
            else None
        )
        out[m.job_name] = snapshot.snapshot_id if snapshot else None
    return out


def _gold_modes(settings: Settings, before: dict[str, int | None]) -> dict[str, str]:
    """How the last run built each mart, read from its commit (``lakehouse.gold.mode``)."""
    modes: dict[str, str] = {}
    for m in load_marts():
        folder = Path(settings.gold_uri) / m.name
        snapshot = iceberg.load_table(folder).current_snapshot()
        if snapshot is None or snapshot.snapshot_id == before.get(m.job_name):
            modes[m.job_name] = "up to date"
            continue
        summary = dict(snapshot.summary.additional_properties) if snapshot.summary else {}
        mode = summary.get(MODE, "no record")
        if TENANTS_REPLACED in summary:
            mode += f" ({summary[TENANTS_REPLACED]})"
        modes[m.job_name] = mode
    return modes


def _timed(n: int, call: Callable[[], object]) -> tuple[float, float]:
    """(best wall seconds, median CPU seconds of this process) of ``n`` calls of ``call``."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return round(min(walls), 3), round(statistics.median(cpus), 4)


def _calls(
    n: int,
    settings: Settings,
    sql: str,
    tenant: str | None = None,
    use: Callable[[QueryResult], object] | None = None,
) -> tuple[float, float]:
    """:func:`_timed` of ``n`` runs of ``sql`` in one engine: with its result kept as Athena's
    CSV (the CLI's way), or not kept and handed to ``use``."""

    def run(engine: AthenaEngine) -> None:
        for result in engine.execute(sql):
            if use is not None:
                use(result)

    with AthenaEngine(settings, tenant=tenant, save_results=use is None) as engine:
        engine.execute(sql)  # the first run reads the catalog and opens the files
        return _timed(n, lambda: run(engine))


def _tenant_table(settings: Settings, tenants: int) -> dict[str, float]:
    """The operations page's tenant table: its first and middle page in a warm engine (after a
    first, unmeasured call), and its first page as a page view gets it."""
    out: dict[str, float] = {}
    pages = -(-tenants // ops.TENANT_PAGE_SIZE)
    for name, number in (("first", 1), ("middle", pages // 2 + 1)):
        request = ops.TenantPageRequest(number=number)
        with AthenaEngine(settings, save_results=False) as engine:
            ops.tenant_page(engine, request)
            out[f"ops_tenant_page_{name}_s"], out[f"ops_tenant_page_{name}_cpu_s"] = _timed(
                QUERY_RUNS, lambda e=engine, r=request: ops.tenant_page(e, r).result.text_rows()
            )

    def view() -> None:
        shown = ops.tenants(settings)
        if "error" in shown:
            raise RuntimeError(f"the operations page's tenant table failed: {shown['error']}")

    view()  # not measured: the operating system's file cache
    out["ops_tenant_page_view_s"], out["ops_tenant_page_view_cpu_s"] = _timed(QUERY_RUNS, view)
    return out


def _best_of(
    n: int,
    settings: Settings,
    sql: str,
    tenant: str | None = None,
    use: Callable[[QueryResult], object] | None = None,
) -> float:
    """Best wall seconds of :func:`_calls`."""
    return _calls(n, settings, sql, tenant, use)[0]


def _cli(settings: Settings, dsn: str, sql_file: Path, runs: int = 3) -> tuple[float, float]:
    """Median wall and CPU seconds of a new ``lakehouse athena -f`` process over the lake."""
    env = {
        **os.environ,
        "LAKEHOUSE_LAKE": settings.lake,
        "LAKEHOUSE_STATE_DIR": str(settings.state_dir),
        "DATABASE_URL": dsn,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user runs it: compiled modules are kept
    argv = [sys.executable, "-m", "lakehouse.cli.main", "athena", "--format", "csv"]
    argv += ["-f", str(sql_file)]
    # After one run, compiled modules, the OS's file cache and the snapshots' plans exist.
    process_seconds(argv, env)
    return median_process_seconds(argv, env, runs)


def _sample_tenants(dsn: str) -> tuple[list[str], list[str]]:
    """(the largest and a median tenant by customers, 10 tenants to change)."""
    with psycopg.connect(dsn) as conn:
        sizes = conn.execute(
            "select t.id::text, count(c.id) as n from tenants t left join customers c "
            "on c.tenant_id = t.id group by t.id order by n desc, t.id"
        ).fetchall()
    ids = [r[0] for r in sizes]
    changed = ids[:: max(1, len(ids) // CHANGED_TENANTS)][:CHANGED_TENANTS]
    return [ids[0], ids[len(ids) // 2]], changed


def _change(dsn: str, tenant_ids: list[str]) -> int:
    with psycopg.connect(dsn) as conn:
        n = conn.execute(
            "update products set price = price + 1, updated_at = now() where tenant_id = any(%s)",
            [tenant_ids],
        ).rowcount
        n += conn.execute(
            "update customers set notes = coalesce(notes, '') || '.', updated_at = now() "
            "where tenant_id = any(%s)",
            [tenant_ids],
        ).rowcount
    return n


def _run(
    spark: SparkSession, root: Path, scale: float, tenants: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the figures of one tenant count, its per-job details)."""
    out: dict[str, Any] = {}
    details: dict[str, Any] = {}
    with source_database(root, scale, tenants=tenants) as source:
        dsn = source.dsn
        out["source_rows"] = sum(source.rows.values())
        settings = source.lake(root)
        out["load_avg_1m_before"] = round(os.getloadavg()[0], 2)
        with timed(out, "full_refresh_s"):
            full = run_pipeline(settings, full_refresh=True, spark=spark)
        out["failed_jobs"] = len(full.failed)
        details["full_refresh_s"] = _job_seconds(full)
        files = _file_counts(settings)
        out.update({f"files_{k}": v for k, v in files.items()})
        out["files_max"] = max(files.values())
        out["files_total"] = sum(files.values())
        sql = DASHBOARD.read_text("utf-8")
        out["all_tenant_gold_query_s"], out["all_tenant_gold_query_cpu_s"] = _calls(
            QUERY_RUNS, settings, sql
        )
        out["all_tenant_gold_query_text_s"] = _best_of(
            QUERY_RUNS, settings, sql, use=QueryResult.text_rows
        )
        out["all_tenant_gold_query_rows_s"] = _best_of(
            QUERY_RUNS, settings, sql, use=lambda r: r.rows
        )
        out["all_tenant_gold_query_cli_s"], out["all_tenant_gold_query_cli_cpu_s"] = _cli(
            settings, dsn, DASHBOARD
        )
        dashboard = sql.strip().rstrip(";")
        out["all_tenant_gold_aggregate_s"] = _best_of(
            QUERY_RUNS,
            settings,
            "select count(*) as tenants, sum(net_revenue) as net_revenue "
            f"from (\n{dashboard}\n) as dashboard",
        )
        out.update(_tenant_table(settings, tenants))
        probes, changed = _sample_tenants(dsn)
        out["single_tenant_file_share_max"] = _file_share(settings, probes)
        out["single_tenant_query_s"] = _best_of(QUERY_RUNS, settings, sql, tenant=probes[0])
        out["rows_changed"] = _change(dsn, changed)
        run_once(settings)
        gold_before = _gold_snapshots(settings)
        with timed(out, "incremental_10_tenants_s"):
            inc = run_pipeline(settings, spark=spark)
        out["incremental_failed_jobs"] = len(inc.failed)
        details["incremental_s"] = _job_seconds(inc)
        details["incremental_gold_mode"] = _gold_modes(settings, gold_before)
        products = iceberg.load_table(Path(settings.silver_uri) / "products")
        snapshot = products.current_snapshot()
        summary = (
            dict(snapshot.summary.additional_properties) if snapshot and snapshot.summary else {}
        )
        for key in ("added-data-files", "deleted-data-files", "total-data-files"):
            out[f"incremental_products_{key.replace('-', '_')}"] = int(summary.get(key, 0))
        out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    return out, details


def _ratio(many: float | None, few: float | None) -> float | None:
    return round(many / few, 2) if many is not None and few else None


def _print_jobs(details: dict[str, Any], many: int, few: int) -> None:
    """One row per job: seconds at both tenant counts and their ratio, for both runs."""
    a, b = details[f"t{many}"], details[f"t{few}"]
    jobs = list(dict.fromkeys([*a["full_refresh_s"], *b["full_refresh_s"]]))
    head = (
        f"  {'job'.ljust(40)} {'full ' + str(many):>11} {'full ' + str(few):>8} {'ratio':>6}"
        f" {'inc ' + str(many):>10} {'inc ' + str(few):>7} {'ratio':>6}  gold mode {many} / {few}"
    )
    print(f"\nper job (seconds; concurrent within a stage)\n{head}")
    for job in jobs:
        cells = []
        for run in ("full_refresh_s", "incremental_s"):
            x, y = a[run].get(job), b[run].get(job)
            cells += [x, y, _ratio(x, y)]
        mode_a = a["incremental_gold_mode"].get(job)
        mode = "" if mode_a is None else f"{mode_a} / {b['incremental_gold_mode'].get(job)}"
        text = [("-" if c is None else str(c)) for c in cells]
        print(
            f"  {job.ljust(40)} {text[0]:>11} {text[1]:>8} {text[2]:>6}"
            f" {text[3]:>10} {text[4]:>7} {text[5]:>6}  {mode}"
        )


def main() -> None:
    scale = float(os.environ.get("BENCH_TENANTS_SCALE", "1"))
    params: dict[str, Any] = {
        "scale": scale,
        "seed": SEED,
        "tenant_buckets": ice.LAYOUT.tenant_buckets,
        "changed_tenants": CHANGED_TENANTS,
    }
    metrics: dict[str, Any] = {}
    settings = Settings()
    spark = spark_session(settings, "bench-tenants")
    with bench_root("bench-tenants-warmup-") as warmup:
        _run(spark, warmup, WARMUP_SCALE, TENANT_COUNTS[-1])  # not measured
    params["warmup_scale"] = WARMUP_SCALE
    details: dict[str, Any] = {}
    for tenants in TENANT_COUNTS:
        with bench_root(f"bench-tenants-{tenants}-") as root:
            figures, details[f"t{tenants}"] = _run(spark, root, scale, tenants)
        for key, value in figures.items():
            metrics[f"t{tenants}_{key}"] = value
    many, few = TENANT_COUNTS
    for key in (
        "full_refresh_s",
        "all_tenant_gold_query_s",
        "all_tenant_gold_query_cpu_s",
        "all_tenant_gold_query_text_s",
        "all_tenant_gold_query_rows_s",
        "all_tenant_gold_aggregate_s",
        "all_tenant_gold_query_cli_s",
        "all_tenant_gold_query_cli_cpu_s",
        "ops_tenant_page_first_s",
        "ops_tenant_page_first_cpu_s",
        "ops_tenant_page_middle_s",
        "ops_tenant_page_middle_cpu_s",
        "ops_tenant_page_view_s",
        "ops_tenant_page_view_cpu_s",
        "incremental_10_tenants_s",
    ):
        metrics[f"ratio_{key}"] = round(metrics[f"t{many}_{key}"] / metrics[f"t{few}_{key}"], 2)
    report(
        "tenants",
        params,
        metrics,
        targets={
            "ratio_full_refresh_s": "<= 1.5",
            "ratio_all_tenant_gold_query_s": "<= 2",
            "ratio_incremental_10_tenants_s": "<= 1.5",
            f"t{many}_files_max": "a few hundred at most",
            f"t{many}_single_tenant_file_share_max": "<= 0.02",
        },
        details=details,
    )
    _print_jobs(details, many, few)


if __name__ == "__main__":
    main()
