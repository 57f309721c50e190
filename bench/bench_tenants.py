"""Benchmark of the table layout at 8 and at 10,000 tenants (the same volume).

For each tenant count, setup (not timed): a private PostgreSQL 15 in a temporary folder,
migrated, seeded at ``BENCH_TENANTS_SCALE`` (default 1: ~600,000 rows) with ``--tenants N``
(Zipf-distributed sizes), replicated once into a temporary lake. Both sources and lakes live
until the end, so every figure is measured at both tenant counts in alternating order (below).

Measured, per tenant count:

* ``full_refresh_s`` - every silver job, every gold job and the quality report, full refresh:
  the mean of ``FULL_REFRESHES`` (2) runs, 10,000 tenants then 8, then 8 then 10,000
  (``..._runs_s`` each run);
* ``files_<table>`` - data files of every silver, history and gold table after them, and their
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
* ``all_tenant_gold_query_duckdb_floor_s`` (and ``..._floor_aggregate_s``) - the DuckDB floor
  of those two: the same SQL on DuckDB alone, the tables it names copied into memory from
  their data files (what a warm engine keeps), the result fetched as Arrow; what no engine
  built on DuckDB can go under (no file planning, no tenant scoping, no result CSV);
* ``ops_tenant_page_first_s`` / ``..._middle_s`` - the operations page's tenant table as it
  runs (:func:`lakehouse.analytics.operations.tenant_page`): the count of tenants, then one
  page of 50 rows chosen in SQL (``ORDER BY`` rank, slug ``OFFSET`` m ``LIMIT`` 50), its values
  as text, for the first page and the middle one (page 101 of 200 at 10,000 tenants, the only
  page at 8); best of ``QUERY_RUNS`` in one engine, ``..._cpu_s`` the median CPU seconds.
  ``ops_tenant_page_view_s`` is the first page as a page view gets it
  (:func:`lakehouse.analytics.operations.tenants`, through the process's kept engine);
* ``single_tenant_file_share_max`` - for the largest and a median tenant, the share of a table's
  data files its scoped query plans (bucket, then min/max), the highest over all tables, after
  the full refreshes; ``..._incremental_max`` the same after the incremental runs (both tenants
  are among the 10 changed: each run's merge-on-read ``MERGE`` adds files to their buckets, and
  the run's local compaction step, with the pipeline's default rule unless
  ``LAKEHOUSE_COMPACT_BUCKET_FILES`` is set, folds back those it picks: ``compact_bucket_files``
  in the parameters, ``incremental_compact_s`` the step's mean seconds per run and
  ``incremental_buckets_compacted`` the buckets it rewrote over all runs and tables) and
  ``..._maintained_max`` after ``lakehouse maintain`` compacted every table (``maintain_s``,
  ``files_max_maintained``); the queries below run on the maintained lakes;
  ``single_tenant_query_s`` the largest tenant's scoped dashboard query;
* every query figure above is the best of ``QUERY_RUNS`` (15) calls at both tenant counts: a
  call takes 5-60 ms, and a best of 3 moved by a third between quiet runs (8 tenants:
  0.025 and 0.016 s). One warm engine per lake, their calls alternating (the order reversed
  every round), after Spark has stopped: measured one tenant count after the other, right
  after its pipeline runs, whichever came first was slower, a JVM still warming up and
  compiling beside it the likely cause (at main 35601f9, quiet: the warm dashboard at 8 tenants
  0.009 s when measured first, 0.006 s second; the full refresh 37.3 s first, 27.0 s second);
* ``all_tenant_gold_query_cli_s`` / ``..._cli_cpu_s`` - the same dashboard as an analyst runs it:
  a new ``lakehouse athena -f`` process (median of 3, the lakes alternating, after one
  unmeasured run each), wall and CPU
  seconds of the process; it reads the tables' files (nothing is in memory yet), so it is the
  figure where a per-tenant file layout would show;
* ``incremental_10_tenants_s`` - after updates to products and customers of 10 tenants and one
  more replication, the incremental pipeline run (same Spark session, its compaction step
  included): the mean of ``INCREMENTALS`` (2) rounds in alternating order as for the full
  refresh; and the summary of the last run's ``MERGE`` commit to silver.products (the snapshot
  before the compaction, if one followed): ``..._data_files_added`` / ``_deleted`` / ``_total``.

Per job (in the JSON's ``details`` and a second table): the mean seconds of every job of the
full refreshes and of the incremental runs at both tenant counts, with their ratio, and for each
gold mart how the last incremental run built it: ``tenants (n)`` (the mart's commit replaced n
tenants), ``full``, or ``up to date`` (no new commit). The jobs of a stage run concurrently, so
a job's seconds include waiting for the others; read them as shares, not as a sum.

One Spark session serves every run. Before them, an unmeasured warm-up (8 tenants at
``WARMUP_SCALE``, the same pipeline runs) loads and JIT-compiles the JVM code paths, and the
alternating order spreads what warm-up remains over both tenant counts. The machine is shared:
the 1-minute load average is recorded before the runs, before the queries and at the end; read
every time beside it.

Usage: ``python -m bench.bench_tenants`` (``BENCH_TENANTS_SCALE=0.1`` for a smaller volume).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import sqlglot
from lakehouse_glue import iceberg as ice
from lakehouse_glue.gold.incremental import MODE, TENANTS_REPLACED
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

from bench.common import (
    SEED,
    bench_root,
    process_seconds,
    report,
    source_database,
)
from lakehouse.analytics import operations as ops
from lakehouse.athena.engine import AthenaEngine, QueryResult
from lakehouse.catalog import iceberg
from lakehouse.config import Settings
from lakehouse.glue.runner import spark_session
from lakehouse.maintain import maintain_lake
from lakehouse.paths import ATHENA_QUERIES_DIR
from lakehouse.pipeline.run import PipelineResult, run_pipeline
from lakehouse.replicate import run_once

TENANT_COUNTS = (10_000, 8)
# Calls per query figure (best wall time, median CPU time), at both tenant counts.
QUERY_RUNS = 15
CHANGED_TENANTS = 10
WARMUP_SCALE = 0.02
# Full refreshes and incremental runs per tenant count, the counts alternating (ABBA).
FULL_REFRESHES = 2
INCREMENTALS = 2
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


def _alternating(n: int, calls: dict[int, Callable[[], object]]) -> dict[int, tuple[float, float]]:
    """(best wall seconds, median CPU seconds of this process) of ``n`` calls of each of
    ``calls`` (by tenant count), one call of each per round, the order reversed every round, so
    that neither tenant count always runs first or after the other."""
    walls: dict[int, list[float]] = {k: [] for k in calls}
    cpus: dict[int, list[float]] = {k: [] for k in calls}
    order = list(calls)
    for i in range(n):
        for key in order if i % 2 == 0 else order[::-1]:
            t0, c0 = time.perf_counter(), time.process_time()
            calls[key]()
            walls[key].append(time.perf_counter() - t0)
            cpus[key].append(time.process_time() - c0)
    return {k: (round(min(walls[k]), 3), round(statistics.median(cpus[k]), 4)) for k in calls}


@dataclass
class _Lake:
    """One tenant count's source database and lake, and what was measured on them."""

    tenants: int
    settings: Settings
    dsn: str
    figures: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def _prepare(stack: ExitStack, scale: float, tenants: int) -> _Lake:
    """A private source seeded with ``tenants`` tenants and its lake, replicated once; both
    last until ``stack`` closes."""
    root = stack.enter_context(bench_root(f"bench-tenants-{tenants}-"))
    source = stack.enter_context(source_database(root, scale, tenants=tenants))
    lake = _Lake(tenants, source.lake(root), source.dsn)
    lake.figures["source_rows"] = sum(source.rows.values())
    return lake


def _passes(lakes: list[_Lake], passes: int) -> list[list[_Lake]]:
    """The lakes in the order of each pass: as given, then reversed, and so on (ABBA), so a
    JVM still warming up, or a later and slower moment, weighs on both tenant counts."""
    return [lakes if i % 2 == 0 else lakes[::-1] for i in range(passes)]


def _mean_jobs(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each job's mean seconds over the runs that ran it."""
    jobs = list(dict.fromkeys(job for run in runs for job in run))
    return {job: round(statistics.mean(run[job] for run in runs if job in run), 3) for job in jobs}


def _full_refreshes(spark: SparkSession, lakes: list[_Lake]) -> None:
    """``FULL_REFRESHES`` full refreshes of every lake in alternating order; their mean."""
    seconds: dict[int, list[float]] = {lake.tenants: [] for lake in lakes}
    jobs: dict[int, list[dict[str, float]]] = {lake.tenants: [] for lake in lakes}
    for order in _passes(lakes, FULL_REFRESHES):
        for lake in order:
            lake.figures.setdefault("load_avg_1m_before", round(os.getloadavg()[0], 2))
            t0 = time.perf_counter()
            full = run_pipeline(lake.settings, full_refresh=True, spark=spark)
            seconds[lake.tenants].append(round(time.perf_counter() - t0, 3))
            lake.figures["failed_jobs"] = lake.figures.get("failed_jobs", 0) + len(full.failed)
            jobs[lake.tenants].append(_job_seconds(full))
    for lake in lakes:
        lake.figures["full_refresh_runs_s"] = seconds[lake.tenants]
        lake.figures["full_refresh_s"] = round(statistics.mean(seconds[lake.tenants]), 3)
        lake.details["full_refresh_s"] = _mean_jobs(jobs[lake.tenants])
        files = _file_counts(lake.settings)
        lake.figures.update({f"files_{k}": v for k, v in files.items()})
        lake.figures["files_max"] = max(files.values())
        lake.figures["files_total"] = sum(files.values())


def _incrementals(spark: SparkSession, lakes: list[_Lake]) -> None:
    """``INCREMENTALS`` rounds of changes to the same 10 tenants, each replicated and run
    incrementally, the lakes in alternating order; the mean run, and the last run's gold modes
    and silver.products commit."""
    seconds: dict[int, list[float]] = {lake.tenants: [] for lake in lakes}
    jobs: dict[int, list[dict[str, float]]] = {lake.tenants: [] for lake in lakes}
    for order in _passes(lakes, INCREMENTALS):
        for lake in order:
            _, changed = _sample_tenants(lake.dsn)
            lake.figures["rows_changed"] = _change(lake.dsn, changed)
            run_once(lake.settings)
            gold_before = _gold_snapshots(lake.settings)
            t0 = time.perf_counter()
            inc = run_pipeline(lake.settings, spark=spark)
            seconds[lake.tenants].append(round(time.perf_counter() - t0, 3))
            failed = lake.figures.get("incremental_failed_jobs", 0) + len(inc.failed)
            lake.figures["incremental_failed_jobs"] = failed
            jobs[lake.tenants].append(_job_seconds(inc))
            lake.details["incremental_gold_mode"] = _gold_modes(lake.settings, gold_before)
            compact_s = lake.figures.get("incremental_compact_s", 0.0) + inc.timings.get(
                "compact", 0.0
            )
            lake.figures["incremental_compact_s"] = round(compact_s, 3)
            lake.figures["incremental_buckets_compacted"] = lake.figures.get(
                "incremental_buckets_compacted", 0
            ) + sum(len(c.buckets) for c in inc.compacted)
            products = iceberg.load_table(Path(lake.settings.silver_uri) / "products")
            # The MERGE's commit, not the compaction's after it (same rows, fewer files).
            merged = [c.snapshot_before for c in inc.compacted if c.table == "silver.products"]
            snapshot = (
                products.snapshot_by_id(merged[0])
                if merged and merged[0] is not None
                else products.current_snapshot()
            )
            summary = (
                dict(snapshot.summary.additional_properties)
                if snapshot and snapshot.summary
                else {}
            )
            for key in ("added-data-files", "deleted-data-files", "total-data-files"):
                name = f"incremental_products_{key.replace('-', '_')}"
                lake.figures[name] = int(summary.get(key, 0))
    for lake in lakes:
        lake.figures["incremental_10_tenants_runs_s"] = seconds[lake.tenants]
        lake.figures["incremental_10_tenants_s"] = round(statistics.mean(seconds[lake.tenants]), 3)
        compact_s = lake.figures.get("incremental_compact_s", 0.0) / INCREMENTALS
        lake.figures["incremental_compact_s"] = round(compact_s, 3)
        lake.details["incremental_s"] = _mean_jobs(jobs[lake.tenants])


def _file_shares(lakes: list[_Lake], key: str) -> None:
    """``key``: the highest share of a table's files that the largest or the median tenant's
    scoped query plans, in each lake as it is now."""
    for lake in lakes:
        probes, _ = _sample_tenants(lake.dsn)
        lake.details["probes"] = probes
        lake.figures[key] = _file_share(lake.settings, probes)


def _maintain(spark: SparkSession, lakes: list[_Lake]) -> None:
    """``lakehouse maintain`` of every lake (compaction; nothing is old enough to expire)."""
    for lake in lakes:
        t0 = time.perf_counter()
        done = maintain_lake(lake.settings, spark)
        lake.figures["maintain_s"] = round(time.perf_counter() - t0, 3)
        lake.figures["maintain_files_rewritten"] = sum(m.files_rewritten for m in done)


def _engine_figure(
    stack: ExitStack,
    lakes: list[_Lake],
    name: str,
    sql: str,
    tenant: Callable[[_Lake], str | None] = lambda lake: None,
    use: Callable[[QueryResult], object] | None = None,
) -> None:
    """``name_s`` (best wall) and ``name_cpu_s`` (median CPU) of ``sql`` in one warm engine per
    lake, calls alternating: with the result kept as Athena's CSV (the CLI's way), or not kept
    and handed to ``use``."""
    calls: dict[int, Callable[[], object]] = {}
    for lake in lakes:
        engine = stack.enter_context(
            AthenaEngine(lake.settings, tenant=tenant(lake), save_results=use is None)
        )

        def run(engine: AthenaEngine = engine) -> None:
            for result in engine.execute(sql):
                if use is not None:
                    use(result)

        run()  # the first run reads the catalog and opens the files
        calls[lake.tenants] = run
    for tenants, (wall, cpu) in _alternating(QUERY_RUNS, calls).items():
        figures = next(lake.figures for lake in lakes if lake.tenants == tenants)
        figures[f"{name}_s"], figures[f"{name}_cpu_s"] = wall, cpu


def _queries(lakes: list[_Lake]) -> None:
    """Every query figure, both lakes' calls alternating (see the module's notes)."""
    sql = DASHBOARD.read_text("utf-8")
    dashboard = sql.strip().rstrip(";")
    aggregate = (
        "select count(*) as tenants, sum(net_revenue) as net_revenue "
        f"from (\n{dashboard}\n) as dashboard"
    )
    for lake in lakes:
        lake.figures["load_avg_1m_queries"] = round(os.getloadavg()[0], 2)
    with ExitStack() as stack:
        _engine_figure(stack, lakes, "all_tenant_gold_query", sql)
        _engine_figure(stack, lakes, "all_tenant_gold_query_text", sql, use=QueryResult.text_rows)
        _engine_figure(stack, lakes, "all_tenant_gold_query_rows", sql, use=lambda r: r.rows)
        _engine_figure(stack, lakes, "all_tenant_gold_aggregate", aggregate)
        _engine_figure(
            stack, lakes, "single_tenant_query", sql, tenant=lambda lake: lake.details["probes"][0]
        )
        _floor_figures(stack, lakes, sql, {"": sql, "_aggregate": aggregate})
        for page in ("first", "middle"):
            pages: dict[int, Callable[[], object]] = {}
            for lake in lakes:
                count = -(-lake.tenants // ops.TENANT_PAGE_SIZE)
                request = ops.TenantPageRequest(number=1 if page == "first" else count // 2 + 1)
                engine = stack.enter_context(AthenaEngine(lake.settings, save_results=False))
                ops.tenant_page(engine, request)

                def page_view(
                    e: AthenaEngine = engine, r: ops.TenantPageRequest = request
                ) -> object:
                    return ops.tenant_page(e, r).result.text_rows()

                pages[lake.tenants] = page_view
            for tenants, (wall, cpu) in _alternating(QUERY_RUNS, pages).items():
                figures = next(lake.figures for lake in lakes if lake.tenants == tenants)
                figures[f"ops_tenant_page_{page}_s"] = wall
                figures[f"ops_tenant_page_{page}_cpu_s"] = cpu
    views: dict[int, Callable[[], object]] = {}
    for lake in lakes:

        def view(settings: Settings = lake.settings) -> None:
            shown = ops.tenants(settings)
            if "error" in shown:
                raise RuntimeError(f"the operations page's tenant table failed: {shown['error']}")

        view()  # not measured: the operating system's file cache
        views[lake.tenants] = view
    for tenants, (wall, cpu) in _alternating(QUERY_RUNS, views).items():
        figures = next(lake.figures for lake in lakes if lake.tenants == tenants)
        figures["ops_tenant_page_view_s"], figures["ops_tenant_page_view_cpu_s"] = wall, cpu
    ops.forget_staff_engines()
    _clis(lakes)


def _floor_figures(stack: ExitStack, lakes: list[_Lake], sql: str, queries: dict[str, str]) -> None:
    """The DuckDB floor: ``all_tenant_gold_query_duckdb_floor<suffix>_s``, each query on
    DuckDB alone, the tables it names copied into memory from their current data files (what a
    warm engine holds), the result fetched as Arrow: no planning of files, no tenant scoping,
    no result CSV. Best wall of ``QUERY_RUNS`` calls, lakes alternating, as the engine's."""
    names = sorted(
        {(t.db, t.name) for t in sqlglot.parse_one(sql, read="trino").find_all(sqlglot.exp.Table)}
        - {("", name) for name in _ctes(sql)}
    )
    for suffix, query in queries.items():
        calls: dict[int, Callable[[], object]] = {}
        for lake in lakes:
            con = stack.enter_context(duckdb.connect())
            for schema, name in names:
                uri = lake.settings.gold_uri if schema == "gold" else lake.settings.silver_uri
                table = iceberg.load_table(Path(uri) / name)
                planned = list(iceberg.scan_files(table, table.current_snapshot()))
                if any(task.deletes for task in planned):
                    raise RuntimeError(f"{schema}.{name} has delete files: the floor needs none")
                files = [str(task.data.file.file_path).removeprefix("file://") for task in planned]
                con.execute(f"create schema if not exists {schema}")
                con.execute(
                    f"create table {schema}.{name} as select * from read_parquet(?)", [files]
                )

            def run(con: duckdb.DuckDBPyConnection = con, query: str = query) -> None:
                con.sql(query).to_arrow_table()

            run()
            calls[lake.tenants] = run
        for tenants, (wall, cpu) in _alternating(QUERY_RUNS, calls).items():
            figures = next(lake.figures for lake in lakes if lake.tenants == tenants)
            figures[f"all_tenant_gold_query_duckdb_floor{suffix}_s"] = wall
            figures[f"all_tenant_gold_query_duckdb_floor{suffix}_cpu_s"] = cpu


def _ctes(sql: str) -> set[str]:
    """The names of the statement's common table expressions (not tables of the lake)."""
    return {cte.alias for cte in sqlglot.parse_one(sql, read="trino").find_all(sqlglot.exp.CTE)}


def _clis(lakes: list[_Lake], runs: int = 3) -> None:
    """Median wall and CPU seconds of a new ``lakehouse athena -f`` process over each lake,
    the lakes' processes alternating."""
    argv = [sys.executable, "-m", "lakehouse.cli.main", "athena", "--format", "csv"]
    argv += ["-f", str(DASHBOARD)]
    envs: dict[int, dict[str, str]] = {}
    for lake in lakes:
        env = {
            **os.environ,
            "LAKEHOUSE_LAKE": lake.settings.lake,
            "LAKEHOUSE_STATE_DIR": str(lake.settings.state_dir),
            "DATABASE_URL": lake.dsn,
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user runs it: compiled modules are kept
        # After one run, compiled modules, the OS's file cache and the snapshots' plans exist.
        process_seconds(argv, env)
        envs[lake.tenants] = env
    times: dict[int, list[tuple[float, float]]] = {k: [] for k in envs}
    order = list(envs)
    for i in range(runs):
        for tenants in order if i % 2 == 0 else order[::-1]:
            times[tenants].append(process_seconds(argv, envs[tenants]))
    for lake in lakes:
        walls = [w for w, _ in times[lake.tenants]]
        cpus = [c for _, c in times[lake.tenants]]
        lake.figures["all_tenant_gold_query_cli_s"] = round(statistics.median(walls), 3)
        lake.figures["all_tenant_gold_query_cli_cpu_s"] = round(statistics.median(cpus), 3)


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


def _warm_up(spark: SparkSession) -> None:
    """An unmeasured run of every step on a small lake (8 tenants at ``WARMUP_SCALE``)."""
    with ExitStack() as stack:
        lake = _prepare(stack, WARMUP_SCALE, TENANT_COUNTS[-1])
        _full_refreshes(spark, [lake])
        _incrementals(spark, [lake])


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
    _warm_up(spark)  # not measured
    params["warmup_scale"] = WARMUP_SCALE
    params["full_refreshes"] = FULL_REFRESHES
    params["incrementals"] = INCREMENTALS
    # The local compaction step's cap (0: off), as every lake's pipeline runs it.
    params["compact_bucket_files"] = settings.compact_bucket_files
    with ExitStack() as stack:
        lakes = [_prepare(stack, scale, tenants) for tenants in TENANT_COUNTS]
        _full_refreshes(spark, lakes)
        _file_shares(lakes, "single_tenant_file_share_max")
        _incrementals(spark, lakes)
        # Each incremental run's MERGE adds data and delete files to the buckets it touches
        # (merge-on-read) until compaction folds them back: measured before and after it.
        _file_shares(lakes, "single_tenant_file_share_incremental_max")
        _maintain(spark, lakes)
        _file_shares(lakes, "single_tenant_file_share_maintained_max")
        for lake in lakes:
            files = _file_counts(lake.settings)
            lake.figures["files_max_maintained"] = max(files.values())
            lake.figures["files_total_maintained"] = sum(files.values())
        # The queries run as a dashboard or the CLI runs them, with no Spark beside them: a
        # JVM still compiling in the background would take a core from whichever ran first.
        spark.stop()
        _queries(lakes)
        for lake in lakes:
            lake.figures["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    details: dict[str, Any] = {}
    for lake in lakes:
        details[f"t{lake.tenants}"] = lake.details
        for key, value in lake.figures.items():
            metrics[f"t{lake.tenants}_{key}"] = value
    many, few = TENANT_COUNTS
    for key in (
        "full_refresh_s",
        "all_tenant_gold_query_s",
        "all_tenant_gold_query_cpu_s",
        "all_tenant_gold_query_text_s",
        "all_tenant_gold_query_rows_s",
        "all_tenant_gold_aggregate_s",
        "all_tenant_gold_query_duckdb_floor_s",
        "all_tenant_gold_query_duckdb_floor_aggregate_s",
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
            # The all-tenant question (README "Many tenants"): a result that does not grow with
            # the tenants. The dashboard of a row per tenant hands over 1,250 times the rows.
            "ratio_all_tenant_gold_aggregate_s": "<= 2 (all tenants, one row)",
            "ratio_all_tenant_gold_query_duckdb_floor_aggregate_s": "DuckDB alone: the floor",
            "ratio_all_tenant_gold_query_cli_s": "<= 2 (a new process: reads the files)",
            "ratio_ops_tenant_page_first_s": "<= 2 (a page of 50 tenants)",
            "ratio_all_tenant_gold_query_s": "no target: a row per tenant (1,250x the rows)",
            "ratio_all_tenant_gold_query_duckdb_floor_s": "DuckDB alone: the floor",
            "ratio_incremental_10_tenants_s": "<= 1.5",
            f"t{many}_files_max": "a few hundred at most",
            f"t{many}_single_tenant_file_share_max": "<= 0.02",
            f"t{many}_single_tenant_file_share_incremental_max": "<= 0.02",
            f"t{many}_single_tenant_file_share_maintained_max": "<= 0.02",
        },
        details=details,
    )
    _print_jobs(details, many, few)


if __name__ == "__main__":
    main()
