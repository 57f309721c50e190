"""``lakehouse pipeline run``: every Glue job of the DAG, in order, in one Spark session.

The DAG is the one Terraform builds as a Glue workflow: all silver jobs (in declaration order,
a referenced entity first); then every gold job of ``gold.json`` whose silver inputs succeeded,
beside ``publish_quality_report`` (both read silver only, so neither waits for the other); then
the local crawler (``lakehouse.catalog``), which registers the tables and ``tenant_id``
partitions the jobs wrote just as the Glue workflow's lake crawler does on AWS. The workflow's
triggers wait for whole stages; here each job starts as soon as the silver jobs it reads have
ended (:func:`lakehouse_glue.dag.inputs_of`): a mart whose inputs are done builds while other
silver jobs still run, which is the same work in the same dependency order, only less waiting.

Gold jobs are pure functions of their silver inputs and their code, so an incremental run skips
a mart that is up to date: its table exists and neither its inputs nor the code changed since
its last successful build. "Changed" is decided from facts, not from this run's reports: the
Iceberg snapshot id of each input table (every commit makes a new one) and a fingerprint of the
job script, the shared library and the declarations, recorded after each successful build in
``<lake>/_glue/pipeline/gold_inputs.json``. A silver job run by hand in between, a failed gold
job or a changed transform all make the mart run again; ``--full-refresh`` runs every mart.
A gold job that does run decides for itself how much to rebuild, from the record its mart's
last commit carries (:mod:`lakehouse_glue.gold.incremental`): usually only the tenants whose
silver rows changed.

A silver job is skipped the same way when its run would be handed no bronze file (the Glue
stand-in's bookmark rule, asked without Spark: :func:`lakehouse.pipeline.state.
entities_with_new_bronze`), its tables have data (tables with none are built from every
file: :func:`lakehouse.pipeline.state.entities_to_rebuild`) and the shared library is the one
its last successful run had (a changed declaration can give a silver job work without a new
file: typing a carried column).
Such a job would only find nothing and write an empty report; in a ``pipeline watch`` batch
most silver jobs are in that case.

A run with nothing new anywhere (every bronze file in its bookmark, every mart and the quality
report built from the current snapshots, the last run complete) is decided from those files
alone and ends before Spark starts (:mod:`lakehouse.pipeline.state`). A lake whose silver or
gold is still the plain Parquet layout of an earlier version is refused before anything runs,
with the command that rebuilds it (``--full-refresh``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from lakehouse_glue import fs
from lakehouse_glue import iceberg as ice
from lakehouse_glue.dag import QUALITY_JOB as QUALITY_JOB  # re-exported: the DAG's names
from lakehouse_glue.dag import Schedule, job_steps
from lakehouse_glue.dag import Step as Step  # re-exported: the DAG's names
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.publish import follow_compaction
from lakehouse_glue.report import dumps, summary_path
from pyspark.sql import SparkSession

from lakehouse.catalog.crawler import CrawlResult, crawl
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.iceberg import register_lake_catalog
from lakehouse.glue.runner import JobRun, job_scripts, spark_session, start_job_run
from lakehouse.paths import GLUE_SCRIPTS_DIR
from lakehouse.pipeline import state
from lakehouse.pipeline.compact import Compacted, compact_written
from lakehouse.storage import open_storage
from lakehouse.storage.lock import writer_lock

#: The shared library every job ships with (``--extra-py-files``), declarations included.
LIBRARY_DIR = GLUE_SCRIPTS_DIR / "lakehouse_glue"

#: The crawler step of the final stage (the Glue workflow's ``<name>-lake-partitions`` crawler).
CRAWLER_STEP = "crawl"
#: Stages of the DAG in order, as the Glue workflow's triggers run them (a gold job whose silver
#: input failed is skipped); locally a job starts as soon as its own inputs have ended.
STAGES = (("silver",), ("gold", "quality"), ("crawler",))
KINDS = ("silver", "gold", "quality", "crawler")
QUALITY = "quality"
#: A ``pipeline watch`` batch: the DAG without the quality report, which the watch publishes
#: in the pause after the batch (:mod:`lakehouse.pipeline.watch`).
BATCH_KINDS = tuple(k for k in KINDS if k != QUALITY)


def _whole_dag(kinds: tuple[str, ...]) -> bool:
    """Whether a run of ``kinds`` is the whole DAG, the quality report aside: such a run is
    decided "nothing new" before Spark and records whether it ended whole."""
    return set(BATCH_KINDS) <= set(kinds)


#: Exit codes of ``pipeline run``.
EXIT_OK, EXIT_FAILED, EXIT_QUARANTINED = 0, 1, 3


@dataclass
class PipelineResult:
    """What a pipeline run did."""

    runs: list[JobRun] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (job, why)
    #: Silver jobs with no new bronze file and gold jobs with no new input: not run.
    up_to_date: list[str] = field(default_factory=list)
    seconds: float = 0.0
    crawl: CrawlResult | None = None
    crawl_error: str | None = None
    #: One line when the run had to stop: the Spark JVM ran out of memory or died.
    fatal: str | None = None
    nothing_new: bool = False  # decided before Spark: every job would have found nothing
    #: Where the run's wall time went, in seconds: ``start`` (Spark and the catalog), per stage
    #: ``<stage>_freshness`` (deciding what is up to date), ``<stage>_jobs`` and
    #: ``<stage>_record`` (its state file), ``compact`` (:mod:`lakehouse.pipeline.compact`),
    #: ``crawl`` and ``last_run`` (the bench reports them).
    timings: dict[str, float] = field(default_factory=dict)
    #: Tables whose fragmented buckets the run compacted (:mod:`lakehouse.pipeline.compact`).
    compacted: list[Compacted] = field(default_factory=list)
    #: Entities whose silver job ran and succeeded: their silver and history tables have a new
    #: commit (what ``pipeline watch`` compacts between batches).
    written: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[JobRun]:
        return [r for r in self.runs if r.state != "SUCCEEDED"]

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.runs)

    @property
    def schema_notes(self) -> list[str]:
        """One line per entity whose bronze has columns the declaration does not name."""
        notes: list[str] = []
        for run in self.runs:
            report = run.report or {}
            drift = report.get("schema_drift") or {}
            entity = report.get("entity", run.job_name)
            carried = sorted(drift.get("carried") or {})
            if carried:
                notes.append(
                    f"silver.{entity} carries undeclared column(s) {', '.join(carried)} as "
                    "text: declare them in entities.json to give them a type"
                )
            for name, why in sorted((drift.get("not_carried") or {}).items()):
                notes.append(f"bronze {entity} has column {name!r}, not carried: {why}")
        return notes

    @property
    def exit_code(self) -> int:
        if self.failed or self.crawl_error or self.fatal:
            return EXIT_FAILED
        if self.quarantined:
            return EXIT_QUARANTINED
        return EXIT_OK


def plan() -> list[Step]:
    """The DAG in run order: the jobs of :mod:`lakehouse_glue.dag`, then the crawler."""
    return [*job_steps(), Step(CRAWLER_STEP, "crawler")]


def is_short_run(settings: Settings, *, full_refresh: bool) -> bool:
    """Whether a pipeline run will be short: incremental, over a lake that already has silver.

    The first run over an empty lake processes every full-load file even without
    ``--full-refresh``, so it is as long as a full refresh. Decides the driver's JVM tuning
    (``quick_start`` of :func:`lakehouse.glue.runner.spark_session`); when the lake cannot be
    looked at, the run counts as long, which is never wrong, only less quick.
    """
    if full_refresh:
        return False
    try:
        return bool(open_storage(settings.lake_uri).list_folders("silver"))
    except LakehouseError:
        return False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_fingerprint() -> str:
    """The shared library every job runs with (``lakehouse_glue``, declarations included)."""
    files = sorted(p for p in LIBRARY_DIR.rglob("*") if p.suffix in (".py", ".json"))
    listing = "\n".join(f"{p.relative_to(LIBRARY_DIR)} {_sha256(p.read_bytes())}" for p in files)
    return _sha256(listing.encode())


def _gold_state_uri(settings: Settings) -> str:
    return f"{settings.glue_state_uri}/{state.GOLD_STATE}"


def _silver_state_uri(settings: Settings) -> str:
    return f"{settings.glue_state_uri}/{state.SILVER_STATE}"


def gold_code(library: str | None = None) -> dict[str, str]:
    """Job -> the code its mart is built with: the shared library and the job's script."""
    _check_scripts()
    scripts = job_scripts()
    library = library or library_fingerprint()
    return {
        m.job_name: _sha256(f"{library} {_sha256(scripts[m.job_name].read_bytes())}".encode())
        for m in load_marts()
    }


def gold_fingerprints(
    snapshots: dict[str, int | None], library: str | None = None
) -> dict[str, dict[str, Any]]:
    """Job -> what its mart is built from now: the code and each input's snapshot id."""
    code = gold_code(library)
    return {
        m.job_name: {
            "code": code[m.job_name],
            "inputs": {e: snapshots.get(e) for e in m.depends_on},
        }
        for m in load_marts()
    }


def nothing_new(settings: Settings, *, quality: bool = True) -> bool:
    """Whether an incremental run would find nothing to do (decided without Spark); with
    ``quality`` false, a run without the quality report (a ``pipeline watch`` batch)."""
    return state.nothing_to_do(
        settings, gold_fingerprints(state.silver_snapshots(settings)), quality=quality
    )


def check_layout(settings: Settings) -> None:
    """Refuse a lake whose silver or gold is an earlier version's plain Parquet.

    Raises:
        LakehouseError: naming the tables and the command that rebuilds them.
    """
    old = state.plain_parquet_tables(settings)
    if old:
        raise LakehouseError(
            f"{len(old)} table(s) of this lake are plain Parquet folders written by an earlier "
            f"version ({', '.join(old[:4])}{', ...' if len(old) > 4 else ''}); silver and gold "
            "are Apache Iceberg tables now. Rebuild them from bronze with "
            "`lakehouse pipeline run --full-refresh`."
        )


def run_pipeline(
    settings: Settings,
    *,
    full_refresh: bool = False,
    spark: SparkSession | None = None,
    on_start: Callable[[Step], None] | None = None,
    on_finish: Callable[[Step, JobRun | None, str | None], None] | None = None,
    kinds: tuple[str, ...] = KINDS,
    workers: int | None = None,
    compact_slack: int = 1,
) -> PipelineResult:
    """Run the DAG once.

    Jobs run at once, up to ``workers`` at a time, in the one Spark session, each as soon as
    the silver jobs it reads have ended (on AWS each job runs on its own Glue workers). Small
    jobs spend most of their time in driver work (planning, code generation, Python) that
    leaves the cores idle, so running them side by side keeps both busy. The results keep the
    plan's order whatever order the jobs finish in.

    Args:
        settings: lake locations, Spark master and ``pipeline_workers``.
        full_refresh: rebuild silver from all bronze instead of only new files.
        spark: the session to use (one is created from settings when omitted).
        on_start: called before each job.
        on_finish: called after each job with its run, or ``None`` and why it was skipped
            (the crawler step: ``None`` and ``None`` when it succeeded).
        kinds: which parts of the DAG to run (the bench times silver alone, for example).
        workers: jobs at once within a stage; ``settings.pipeline_workers`` when omitted.
        compact_slack: the run's compaction step at its end compacts only buckets this many
            times over the rule (:func:`lakehouse.pipeline.compact.compact_written`);
            ``pipeline watch`` passes :data:`lakehouse.pipeline.compact.BATCH_SLACK` and
            compacts between batches (:func:`compact_between_runs`).

    Raises:
        LakeLockedError: another process is writing the lake (:mod:`lakehouse.storage.lock`).
    """
    # Nested in the CLI's own lock (a level more); taken here for every other caller.
    with writer_lock(settings, "pipeline run"):
        return _run_dag(
            settings, full_refresh, spark, on_start, on_finish, kinds, workers, compact_slack
        )


def _check_scripts() -> None:
    """Every job of the plan ships with a script (tests/lakehouse/pipeline/test_plan.py)."""
    scripts = job_scripts()
    missing = [s.job_name for s in plan() if s.kind != "crawler" and s.job_name not in scripts]
    if missing:
        raise LakehouseError(
            f"no Glue script for job(s) {', '.join(missing)}: restore glue-scripts/<job>.py "
            "(git checkout) or remove the declaration"
        )


class _Freshness(Protocol):
    """Which jobs of a stage are up to date, and what the stage's runs leave for the next run."""

    def up_to_date(self, step: Step) -> bool: ...

    def record(self, result: PipelineResult, steps: list[Step]) -> None: ...


@dataclass
class _SilverFreshness:
    """A silver job is up to date when it would be handed no bronze file, its tables have data
    and it last succeeded with the library of now (see the module docstring)."""

    settings: Settings
    spark: SparkSession
    #: Job -> the library its last successful run had.
    built: dict[str, str]
    library: str
    #: Entities with new bronze files and entities to rebuild (None: a full refresh).
    fresh: set[str] | None
    rebuild: set[str] | None

    @classmethod
    def read(cls, settings: Settings, spark: SparkSession, full_refresh: bool) -> _SilverFreshness:
        text = fs.read_text(spark, _silver_state_uri(settings))
        return cls(
            settings=settings,
            spark=spark,
            built=json.loads(text) if text else {},
            library=library_fingerprint(),
            fresh=None if full_refresh else state.entities_with_new_bronze(settings),
            rebuild=None if full_refresh else state.entities_to_rebuild(settings),
        )

    def up_to_date(self, step: Step) -> bool:
        return (
            step.kind == "silver"
            and self.fresh is not None
            and self.rebuild is not None
            and step.entity not in self.fresh | self.rebuild
            and self.built.get(step.job_name) == self.library
        )

    def record(self, result: PipelineResult, steps: list[Step]) -> None:
        ok = {r.job_name for r in result.runs if r.state == "SUCCEEDED"} | set(result.up_to_date)
        recorded = {s.job_name: self.library for s in steps if s.job_name in ok}
        fs.write_text(self.spark, _silver_state_uri(self.settings), json.dumps(recorded, indent=1))


@dataclass
class _GoldFreshness:
    """A gold job is up to date when its mart exists and was built from the snapshots of its
    inputs and the code of now (see the module docstring). Asked of each job when its silver
    inputs have ended, so the snapshots read are the ones the job will build from."""

    settings: Settings
    spark: SparkSession
    catalog: str
    full_refresh: bool
    #: Job -> what its mart was built from (recorded after each successful build).
    built: dict[str, Any]
    #: Job -> the code its mart would be built with now.
    code: dict[str, str]
    #: Entity -> its silver table's snapshot, read once: a gold job is asked about only when
    #: its inputs' silver jobs have ended, after which nothing in the run commits to them.
    snapshots: dict[str, int | None] = field(default_factory=dict)

    @classmethod
    def read(
        cls, settings: Settings, spark: SparkSession, catalog: str, full_refresh: bool
    ) -> _GoldFreshness:
        text = fs.read_text(spark, _gold_state_uri(settings))
        return cls(
            settings=settings,
            spark=spark,
            catalog=catalog,
            full_refresh=full_refresh,
            built=json.loads(text) if text else {},
            code=gold_code(),
        )

    def up_to_date(self, step: Step) -> bool:
        if step.kind != "gold":
            return False
        fingerprint = {
            "code": self.code[step.job_name],
            "inputs": {e: self.snapshot(e) for e in step.depends_on},
        }
        current = (
            not self.full_refresh
            and self.built.get(step.job_name) == fingerprint
            and step.output is not None
            and ice.exists(
                self.spark, ice.gold_table(self.catalog, self.settings.gold_uri, step.output)
            )
        )
        # Recorded for the state file if the job runs and succeeds (or stays current).
        self.built[step.job_name] = fingerprint
        return current

    def snapshot(self, entity: str) -> int | None:
        if entity not in self.snapshots:
            table = ice.silver_table(self.catalog, self.settings.silver_uri, entity)
            self.snapshots[entity] = ice.current_snapshot_id(self.spark, table)
        return self.snapshots[entity]

    def renamed_snapshot(self, entity: str, before: int | None, after: int | None) -> None:
        """``entity``'s table went from ``before`` to ``after`` without a row changing."""
        _rename_input(self.built, entity, before, after)

    def record(self, result: PipelineResult, steps: list[Step]) -> None:
        # Only what was built (or still is) counts as built from these inputs.
        good = {r.job_name for r in result.runs if r.state == "SUCCEEDED"} | set(result.up_to_date)
        fs.write_text(
            self.spark,
            _gold_state_uri(self.settings),
            json.dumps({k: v for k, v in self.built.items() if k in good}, indent=1),
        )


def _rename_input(
    built: dict[str, Any], entity: str, before: int | None, after: int | None
) -> None:
    """In gold records (job -> fingerprint): a mart built from ``entity`` at ``before`` is
    built from it at ``after`` (a compaction: same rows, fewer files)."""
    for fingerprint in built.values():
        inputs = fingerprint.get("inputs", {})
        if entity in inputs and inputs[entity] == before:
            inputs[entity] = after


def follow_compactions_in_quality_report(
    settings: Settings, spark: SparkSession, compacted: list[Compacted]
) -> None:
    """The quality report names, for each silver table it read at a snapshot a compaction
    replaced, the compacted snapshot (same rows: :func:`lakehouse_glue.publish.
    follow_compaction`), so the next report reuses its results and a run with nothing new
    still ends before Spark (:func:`lakehouse.pipeline.state.nothing_to_do`)."""
    renamed = [c for c in compacted if not c.history]
    if not renamed:
        return
    path = summary_path(settings.reports_uri)
    text = fs.read_text(spark, path)
    if not text:
        return
    report = json.loads(text)
    changed = [
        follow_compaction(report, c.entity, c.snapshot_before, c.snapshot_after) for c in renamed
    ]
    if any(changed):
        fs.write_text(spark, path, dumps(report))


def compact_between_runs(
    settings: Settings,
    spark: SparkSession,
    entities: list[str],
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[Compacted], bool]:
    """The compaction step outside a run, as ``pipeline watch`` runs it between batches.

    Compacts the fragmented buckets of the silver and history tables of ``entities`` by the
    rule (:func:`lakehouse.pipeline.compact.compact_written`), under the lake's writer lock,
    asking ``should_stop`` before each table it would rewrite. The gold state file and the
    quality report then name the compacted snapshots where they named the ones before: a mart
    or a report made from the rows before is made from the same rows after, and the next run
    need not make it again. Returns what was compacted and whether every table was looked at.

    Raises:
        LakeLockedError: another process is writing the lake.
    """
    with writer_lock(settings, "pipeline compact"):
        catalog = register_lake_catalog(spark, settings)
        done, finished = compact_written(
            settings, spark, catalog, entities, should_stop=should_stop
        )
        renamed = [c for c in done if not c.history]
        if renamed:
            text = fs.read_text(spark, _gold_state_uri(settings))
            if text:
                built = json.loads(text)
                for c in renamed:
                    _rename_input(built, c.entity, c.snapshot_before, c.snapshot_after)
                fs.write_text(spark, _gold_state_uri(settings), json.dumps(built, indent=1))
        follow_compactions_in_quality_report(settings, spark, done)
    return done, finished


@dataclass
class _DagRun:
    """One run of the DAG in one Spark session: its jobs, through the DAG's
    :class:`lakehouse_glue.dag.Schedule`, and its result.

    What this runner adds through the schedule's hooks: which silver jobs are up to date is
    decided from files before any runs; whether a gold job is, when its inputs have ended (from
    their snapshots, which no later job of the run changes). The silver state file is written
    once every silver job has ended, the gold one when all jobs have; nothing is started or
    recorded after a fatal failure (the Spark session is gone).
    """

    settings: Settings
    spark: SparkSession
    catalog: str
    full_refresh: bool
    kinds: tuple[str, ...]
    on_start: Callable[[Step], None] | None
    on_finish: Callable[[Step, JobRun | None, str | None], None] | None
    compact_slack: int = 1
    result: PipelineResult = field(default_factory=PipelineResult)
    #: Progress callbacks see one job at a time.
    callbacks: threading.Lock = field(default_factory=threading.Lock)
    silver_freshness: _SilverFreshness | None = None
    gold_freshness: _GoldFreshness | None = None
    silver: list[Step] = field(default_factory=list)
    silver_started: float = 0.0
    gold_started: float = 0.0

    def started(self, step: Step) -> None:
        if self.on_start:
            with self.callbacks:
                self.on_start(step)

    def finished(self, step: Step, run: JobRun | None, why: str | None) -> None:
        if self.on_finish:
            with self.callbacks:
                self.on_finish(step, run, why)

    def run_job(self, step: Step) -> JobRun:
        self.started(step)
        arguments = {"--full_refresh": "true" if self.full_refresh else "false"}
        run = start_job_run(self.settings, step.job_name, arguments, spark=self.spark)
        self.finished(step, run, None)
        return run

    def should_run(self, step: Step) -> bool:
        """Whether a ready ``step`` is to run: False when it is up to date."""
        silver = step.kind == "silver"
        freshness: _Freshness | None = self.silver_freshness if silver else self.gold_freshness
        with self.timed("silver_freshness" if silver else "gold_freshness"):
            if freshness is not None and freshness.up_to_date(step):
                self.result.up_to_date.append(step.job_name)
                self.finished(step, None, None)
                return False
        if not silver and not self.gold_started:
            self.gold_started = time.perf_counter()
        return True

    def skip(self, step: Step, why: str) -> None:
        self.result.skipped.append((step.job_name, why))
        self.finished(step, None, why)

    def ended(self, step: Step, run: JobRun) -> None:
        self.result.runs.append(run)
        if run.fatal and self.result.fatal is None:
            self.result.fatal = run.fatal

    def silver_ended(self) -> None:
        self.add_timing("silver_jobs", time.perf_counter() - self.silver_started)
        if self.silver_freshness is not None:
            with self.timed("silver_record"):
                self.silver_freshness.record(self.result, self.silver)

    def run_jobs(self, dag: list[Step], workers: int) -> bool:
        """Run the jobs of ``dag``, each as soon as the silver jobs it reads have ended; False
        when the Spark session died and the run must stop."""
        steps = [s for s in dag if s.kind in self.kinds and s.kind != "crawler"]
        self.silver = [s for s in steps if s.kind == "silver"]
        later = [s for s in steps if s.kind != "silver"]
        with self.timed("silver_freshness"):
            if self.silver:
                self.silver_freshness = _SilverFreshness.read(
                    self.settings, self.spark, self.full_refresh
                )
        with self.timed("gold_freshness"):
            if any(s.kind == "gold" for s in later):
                self.gold_freshness = _GoldFreshness.read(
                    self.settings, self.spark, self.catalog, self.full_refresh
                )
        self.silver_started = time.perf_counter()
        schedule = Schedule(
            [*self.silver, *later],
            self.run_job,
            lambda run: run.state != "SUCCEEDED",
            workers=workers,
            should_run=self.should_run,
            on_skip=self.skip,
            on_end=self.ended,
            on_silver_ended=self.silver_ended,
            fatal=lambda run: run.fatal is not None,
        ).run()
        # The results in plan order, whatever order the jobs ended in.
        self.result.runs = [schedule.runs[s.job_name] for s in steps if s.job_name in schedule.runs]
        if self.gold_started:
            self.add_timing("gold_jobs", time.perf_counter() - self.gold_started)
        if fatal := [r.fatal for r in self.result.runs if r.fatal]:
            # The session is gone: nothing more can run, and no state is written (the
            # bookmarks of the jobs that failed did not move; the next run redoes them).
            oom = [f for f in fatal if "out of memory" in f]
            self.result.fatal = (oom or fatal)[0]
            return False
        with self.timed("compact"):
            self.compact()
        if self.gold_freshness is not None:
            with self.timed("gold_record"):
                self.gold_freshness.record(self.result, later)
        return True

    def add_timing(self, name: str, seconds: float) -> None:
        timings = self.result.timings
        timings[name] = round(timings.get(name, 0.0) + seconds, 3)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Add the wall time of the block to ``result.timings[name]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add_timing(name, time.perf_counter() - t0)

    def crawl(self, step: Step) -> None:
        self.started(step)
        try:
            self.result.crawl = crawl(self.settings)
        except LakehouseError as exc:
            # Reported like a failed job: the lake is written, only its catalog is stale.
            self.result.crawl_error = str(exc)
        self.finished(step, None, self.result.crawl_error)

    def compact(self) -> None:
        """Compact the fragmented buckets of the silver and history tables this run wrote
        (:mod:`lakehouse.pipeline.compact`; a few manifest reads when none is)."""
        wrote = {r.job_name for r in self.result.runs if r.state == "SUCCEEDED"}
        entities = [s.entity for s in self.silver if s.job_name in wrote and s.entity]
        self.result.written = entities
        if entities:
            self.result.compacted, _ = compact_written(
                self.settings, self.spark, self.catalog, entities, slack=self.compact_slack
            )
        if self.gold_freshness is not None:
            # Same rows in fewer files: a mart built from the snapshot before the compaction
            # is built from the one after, and the next run need not rebuild it.
            for done in self.result.compacted:
                if not done.history:
                    self.gold_freshness.renamed_snapshot(
                        done.entity, done.snapshot_before, done.snapshot_after
                    )
        # So is this run's quality report (it read silver once every silver job had ended).
        follow_compactions_in_quality_report(self.settings, self.spark, self.result.compacted)

    def record_last_run(self) -> None:
        """What the next run's "nothing new" decision starts from: whether this run ended whole.

        Not after a fatal error: the JVM is gone and nothing can be written; the bookmarks did
        not move, so the next run sees the same files as new and does the work again.
        """
        result = self.result
        complete = not result.failed and not result.skipped and result.crawl_error is None
        fs.write_text(
            self.spark,
            f"{self.settings.glue_state_uri}/{state.LAST_RUN}",
            json.dumps({"complete": complete, "exit_code": result.exit_code}),
        )


def _run_dag(
    settings: Settings,
    full_refresh: bool,
    spark: SparkSession | None,
    on_start: Callable[[Step], None] | None,
    on_finish: Callable[[Step, JobRun | None, str | None], None] | None,
    kinds: tuple[str, ...],
    workers: int | None,
    compact_slack: int = 1,
) -> PipelineResult:
    t0 = time.perf_counter()
    if not full_refresh:
        check_layout(settings)
        if _whole_dag(kinds) and nothing_new(settings, quality=QUALITY in kinds):
            return PipelineResult(nothing_new=True, seconds=round(time.perf_counter() - t0, 3))
    _check_scripts()
    spark = spark or spark_session(settings)
    run = _DagRun(
        settings=settings,
        spark=spark,
        catalog=register_lake_catalog(spark, settings),
        full_refresh=full_refresh,
        kinds=kinds,
        on_start=on_start,
        on_finish=on_finish,
        compact_slack=compact_slack,
    )
    run.result.timings["start"] = round(time.perf_counter() - t0, 3)
    dag = plan()
    alive = run.run_jobs(dag, workers or settings.pipeline_workers)
    if alive and "crawler" in kinds:
        with run.timed("crawl"):
            run.crawl(next(s for s in dag if s.kind == "crawler"))
    if _whole_dag(kinds) and run.result.fatal is None:
        with run.timed("last_run"):
            run.record_last_run()
    run.result.seconds = round(time.perf_counter() - t0, 3)
    return run.result
