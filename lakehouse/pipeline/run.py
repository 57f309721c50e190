"""``lakehouse pipeline run``: every Glue job of the DAG, in order, in one Spark session.

The DAG is the one Terraform builds as a Glue workflow: all silver jobs (in declaration order,
a referenced entity first), then every gold job of ``gold.json`` whose silver inputs succeeded,
then ``publish_quality_report`` and, in the same final stage, the local crawler
(``lakehouse.catalog``), which registers the tables and ``tenant_id`` partitions the jobs wrote
just as the Glue workflow's lake crawler does on AWS. A gold job whose script does not exist yet
is skipped with a warning, so the silver half works on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration
from pyspark.sql import SparkSession

from lakehouse.catalog.crawler import CrawlResult, crawl
from lakehouse.config import Settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.runner import JobRun, job_scripts, spark_session, start_job_run

QUALITY_JOB = "publish_quality_report"
#: The crawler step of the final stage (the Glue workflow's ``<name>-lake-partitions`` crawler).
CRAWLER_STEP = "crawl"
#: Stages of the DAG in order; each stage starts when every step of the previous one succeeded.
STAGES = (("silver",), ("gold",), ("quality", "crawler"))

#: Exit codes of ``pipeline run``.
EXIT_OK, EXIT_FAILED, EXIT_QUARANTINED = 0, 1, 3


@dataclass(frozen=True)
class Step:
    """One step of the DAG: its name, kind (silver/gold/quality/crawler), the entities it reads."""

    job_name: str
    kind: str
    depends_on: tuple[str, ...] = ()
    entity: str | None = None


@dataclass
class PipelineResult:
    """What a pipeline run did."""

    runs: list[JobRun] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (job, why)
    seconds: float = 0.0
    crawl: CrawlResult | None = None
    crawl_error: str | None = None

    @property
    def failed(self) -> list[JobRun]:
        return [r for r in self.runs if r.state != "SUCCEEDED"]

    @property
    def quarantined(self) -> int:
        return sum(r.quarantined for r in self.runs)

    @property
    def exit_code(self) -> int:
        if self.failed or self.crawl_error:
            return EXIT_FAILED
        if self.quarantined:
            return EXIT_QUARANTINED
        return EXIT_OK


def plan() -> list[Step]:
    """The DAG in run order."""
    steps = [Step(e.silver_job_name, "silver", entity=e.name) for e in load_declaration().entities]
    steps += [Step(m.job_name, "gold", m.depends_on) for m in load_marts()]
    steps.append(Step(QUALITY_JOB, "quality"))
    steps.append(Step(CRAWLER_STEP, "crawler"))
    return steps


def run_pipeline(
    settings: Settings,
    *,
    full_refresh: bool = False,
    spark: SparkSession | None = None,
    on_start: Callable[[Step], None] | None = None,
    on_finish: Callable[[Step, JobRun | None, str | None], None] | None = None,
    kinds: tuple[str, ...] = ("silver", "gold", "quality", "crawler"),
) -> PipelineResult:
    """Run the DAG once.

    Args:
        settings: lake locations and Spark master.
        full_refresh: rebuild silver from all bronze instead of only new files.
        spark: the session to use (one is created from settings when omitted).
        on_start: called before each job.
        on_finish: called after each job with its run, or ``None`` and why it was skipped
            (the crawler step: ``None`` and ``None`` when it succeeded).
        kinds: which parts of the DAG to run (the bench times silver alone, for example).
    """
    spark = spark or spark_session(settings)
    scripts = job_scripts()
    result = PipelineResult()
    failed_entities: set[str] = set()
    arguments = {"--full_refresh": "true" if full_refresh else "false"}
    t0 = time.perf_counter()
    for step in plan():
        if step.kind not in kinds:
            continue
        if step.kind == "crawler":
            if on_start:
                on_start(step)
            try:
                result.crawl = crawl(settings)
            except LakehouseError as exc:
                # Reported like a failed job: the lake is written, only its catalog is stale.
                result.crawl_error = str(exc)
            if on_finish:
                on_finish(step, None, result.crawl_error)
            continue
        why: str | None = None
        if step.job_name not in scripts:
            why = f"glue-scripts/{step.job_name}.py does not exist yet"
        elif failed := sorted(failed_entities & set(step.depends_on)):
            why = f"its silver input(s) {', '.join(failed)} failed"
        if why:
            result.skipped.append((step.job_name, why))
            if on_finish:
                on_finish(step, None, why)
            continue
        if on_start:
            on_start(step)
        run = start_job_run(settings, step.job_name, arguments, spark=spark)
        result.runs.append(run)
        if run.state != "SUCCEEDED" and step.entity:
            failed_entities.add(step.entity)
        if on_finish:
            on_finish(step, run, None)
    result.seconds = round(time.perf_counter() - t0, 3)
    return result
