"""The pipeline's DAG, declared once: which Glue jobs run, in which stage, and what is skipped.

Stage 1 is every silver job (in declaration order, a referenced entity first); stage 2 is every
gold job of ``gold.json`` beside ``publish_quality_report`` (both read silver only). A gold job
whose silver input failed does not run. Three runners follow this one plan: ``lakehouse
pipeline run`` (locally, one Spark session, :mod:`lakehouse.pipeline.run`), the Glue workflow of
one job per step (Terraform ``per_job`` mode, its triggers built from the same declarations) and
the single Glue job ``run_pipeline`` (Terraform ``single_job`` mode), which runs
:func:`run_stages` in its one Spark session. The workflow's triggers wait for whole stages; the
two one-session runners share one scheduler, :class:`Schedule`, which starts each job as soon as
the silver jobs it reads have ended (:func:`inputs_of`), the same order with less waiting. What
differs between them is in its hooks: the local run leaves out steps that are up to date,
reports progress, records state and stops when its Spark session dies.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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


R = TypeVar("R")


def _run_all(step: Step) -> bool:
    return True


def _never(result: Any) -> bool:
    return False


def _ignore(*args: Any) -> None:
    return None


@dataclass
class Schedule(Generic[R]):
    """Runs ``steps`` (silver first, in plan order), each as soon as the silver steps it reads
    have ended, up to ``workers`` at once, in the order they became ready.

    A step becomes ready when its inputs (:func:`inputs_of`) have ended. Then, on the thread
    that calls :meth:`run`: a step whose silver input failed is skipped (``on_skip``); one that
    ``should_run`` declines is up to date, ends without running, and its readers go on as
    after a run; the others queue for a worker, which calls ``run_step``. ``on_end`` sees each
    run's result on the calling thread as it ends; a result that ``failed`` skips the readers
    of its step's entity. ``on_silver_ended`` is called once, when every silver step has ended
    (at once when there are none), before any step made ready by that. After a result that is
    ``fatal`` nothing more starts (the queued steps neither) and nothing more is reported but
    the ends of the steps still running.
    """

    steps: list[Step]
    run_step: Callable[[Step], R]
    #: Whether a run's result is a failure (its entity's readers are skipped).
    failed: Callable[[R], bool]
    workers: int = 1
    #: Asked of a ready step no failed input skips; False: it is up to date, not run.
    should_run: Callable[[Step], bool] = _run_all
    on_skip: Callable[[Step, str], None] = _ignore
    on_end: Callable[[Step, R], None] = _ignore
    on_silver_ended: Callable[[], None] = _ignore
    #: Whether a run's result ends the whole run (its Spark session is gone).
    fatal: Callable[[R], bool] = _never
    #: Job -> its run's result, in the order they ended.
    runs: dict[str, R] = field(default_factory=dict)
    #: Job -> why it was skipped.
    skipped: dict[str, str] = field(default_factory=dict)
    up_to_date: list[str] = field(default_factory=list)
    stopped: bool = False

    def __post_init__(self) -> None:
        self._waiting = {s.job_name: inputs_of(s, self.steps) for s in self.steps}
        self._silver_left = {s.job_name for s in self.steps if s.kind == "silver"}
        self._failed_entities: set[str] = set()
        self._ready: deque[Step] = deque()
        self._running: dict[Future[R], Step] = {}

    def run(self) -> Schedule[R]:
        """Run every step to its end (or until a fatal result); returns ``self``."""
        if not self._silver_left:
            self.on_silver_ended()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="dag-step") as pool:
            while True:
                if not self.stopped:
                    self._release()
                    while self._ready and len(self._running) < self.workers:
                        step = self._ready.popleft()
                        self._running[pool.submit(self.run_step, step)] = step
                if not self._running:
                    return self
                done, _ = wait(self._running, return_when=FIRST_COMPLETED)
                for future in done:
                    self._ended(self._running.pop(future), future.result())

    def _release(self) -> None:
        """Decide every step whose inputs have ended: skipped, up to date or ready to run."""
        for step in self.steps:
            if self._waiting.get(step.job_name, True):  # decided already, or still waiting
                continue
            del self._waiting[step.job_name]
            why = skip_reason(step, self._failed_entities)
            if why:
                self.skipped[step.job_name] = why
                self.on_skip(step, why)
            elif not self.should_run(step):
                self.up_to_date.append(step.job_name)
                self._step_ended(step)
            else:
                self._ready.append(step)

    def _ended(self, step: Step, result: R) -> None:
        self.runs[step.job_name] = result
        self.on_end(step, result)
        if self.failed(result) and step.entity:
            self._failed_entities.add(step.entity)
        if self.fatal(result):
            self.stopped = True
        self._step_ended(step)

    def _step_ended(self, step: Step) -> None:
        if step.kind != "silver":
            return
        self._silver_left.discard(step.job_name)
        for inputs in self._waiting.values():
            inputs.discard(step.job_name)
        if not self._silver_left and not self.stopped:
            self.on_silver_ended()


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
    """Run the job steps through a :class:`Schedule`; the outcomes in plan order.

    A step that raises fails alone, as a Glue job would: the others go on, and a gold step
    whose silver input failed is skipped.
    """
    kinds = {k for stage in JOB_STAGES for k in stage}
    steps = [s for s in steps if s.kind in kinds]

    def attempt(step: Step) -> StepOutcome:
        t0 = time.perf_counter()
        try:
            report = run_step(step)
        except Exception as exc:  # a failed job is an outcome to report, as on Glue
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            return StepOutcome(step, round(time.perf_counter() - t0, 3), error=error)
        return StepOutcome(step, round(time.perf_counter() - t0, 3), report=report)

    done = Schedule(steps, attempt, lambda o: o.error is not None, workers=workers).run()
    outcomes = {
        name: StepOutcome(step, 0.0, skipped=done.skipped[name])
        for step in steps
        if (name := step.job_name) in done.skipped
    }
    outcomes.update(done.runs)
    return [outcomes[s.job_name] for s in steps if s.job_name in outcomes]
