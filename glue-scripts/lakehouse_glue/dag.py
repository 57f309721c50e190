"""The pipeline's DAG, declared once: which Glue jobs run, in which stage, and what is skipped.

Stage 1 is every silver job (in declaration order, a referenced entity first); stage 2 is every
gold job of ``gold.json`` beside ``publish_quality_report`` (both read silver only). A gold job
whose silver input failed does not run. Three runners follow this one plan: ``lakehouse
pipeline run`` (locally, one Spark session, :mod:`lakehouse.pipeline.run`), the Glue workflow of
one job per step (Terraform ``per_job`` mode, its triggers built from the same declarations) and
the single Glue job ``run_pipeline`` (Terraform ``single_job`` mode), which runs
:func:`run_stages` in its one Spark session. The workflow's triggers wait for whole stages; the
two one-session runners start each job as soon as the silver jobs it reads have ended
(:func:`inputs_of`), the same order with less waiting.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration

#: The job that publishes the quality report after silver.
QUALITY_JOB = "publish_quality_report"
#: The job that runs the whole DAG in one Glue job (``single_job`` mode); not a step itself.
SINGLE_JOB = "run_pipeline"
#: Jobs a data engineer starts by hand, never part of the DAG: offboarding a tenant.
ON_DEMAND_JOBS = ("offboard_tenant",)
#: The job stages in order; each starts when the previous one has ended.
JOB_STAGES: tuple[tuple[str, ...], ...] = (("silver",), ("gold", "quality"))


@dataclass(frozen=True)
class Step:
    """One step of the DAG: its job, kind (silver/gold/quality/crawler), the entities it reads."""

    job_name: str
    kind: str
    depends_on: tuple[str, ...] = ()
    entity: str | None = None
    output: str | None = None  # a gold job's mart


def job_steps() -> list[Step]:
    """Every Glue job of the DAG, in run order (silver, gold, the quality report)."""
    steps = [Step(e.silver_job_name, "silver", entity=e.name) for e in load_declaration().entities]
    steps += [Step(m.job_name, "gold", m.depends_on, output=m.name) for m in load_marts()]
    steps.append(Step(QUALITY_JOB, "quality"))
    return steps


def inputs_of(step: Step, steps: list[Step]) -> set[str]:
    """The silver jobs among ``steps`` that ``step`` reads, so must wait for.

    A gold job reads the silver tables of its ``depends_on``; the quality report reads every
    silver table; a silver job waits for nothing. A runner may start a step as soon as these
    have ended (the local pipeline does; the Glue workflow's triggers wait for whole stages).
    """
    silver = {s.entity: s.job_name for s in steps if s.kind == "silver" and s.entity}
    if step.kind == "gold":
        return {silver[e] for e in step.depends_on if e in silver}
    if step.kind == "quality":
        return set(silver.values())
    return set()


def skip_reason(step: Step, failed_entities: set[str]) -> str | None:
    """Why ``step`` must not run after the silver jobs of ``failed_entities`` failed, or None."""
    failed = sorted(failed_entities & set(step.depends_on))
    return f"its silver input(s) {', '.join(failed)} failed" if failed else None


@dataclass(frozen=True)
class StepOutcome:
    """What one step of :func:`run_stages` did: its report, or its error, or why it was skipped."""

    step: Step
    seconds: float
    report: Any = None
    error: str | None = None
    skipped: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.skipped is None


def run_stages(
    steps: list[Step], run_step: Callable[[Step], Any], *, workers: int = 1
) -> list[StepOutcome]:
    """Run the job steps, each as soon as the silver steps it reads have ended; the outcomes in
    plan order.

    Up to ``workers`` steps run at once, handed out in plan order (silver first), a gold step
    when its own inputs have ended (:func:`inputs_of`), the quality report when every silver
    step has. A step that raises fails alone, as a Glue job would: the others go on, and a
    gold step whose silver input failed is skipped.
    """
    kinds = {k for stage in JOB_STAGES for k in stage}
    steps = [s for s in steps if s.kind in kinds]
    outcomes: dict[str, StepOutcome] = {}
    failed_entities: set[str] = set()
    waiting = {s.job_name: inputs_of(s, steps) for s in steps}
    running: dict[Future[StepOutcome], Step] = {}

    def attempt(step: Step) -> StepOutcome:
        t0 = time.perf_counter()
        try:
            report = run_step(step)
        except Exception as exc:  # a failed job is an outcome to report, as on Glue
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            return StepOutcome(step, round(time.perf_counter() - t0, 3), error=error)
        return StepOutcome(step, round(time.perf_counter() - t0, 3), report=report)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dag-step") as pool:
        while True:
            for step in steps:
                if step.job_name not in waiting or waiting[step.job_name]:
                    continue
                del waiting[step.job_name]
                why = skip_reason(step, failed_entities)
                if why:
                    outcomes[step.job_name] = StepOutcome(step, 0.0, skipped=why)
                else:
                    running[pool.submit(attempt, step)] = step
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                step = running.pop(future)
                outcomes[step.job_name] = outcome
                if outcome.error and step.entity:
                    failed_entities.add(step.entity)
                for inputs in waiting.values():
                    inputs.discard(step.job_name)
    return [outcomes[s.job_name] for s in steps if s.job_name in outcomes]
