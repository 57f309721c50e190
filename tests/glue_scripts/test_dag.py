"""The DAG's one scheduler (:class:`lakehouse_glue.dag.Schedule`) and its hooks.

Both one-session runners use it: ``lakehouse pipeline run`` (up-to-date decisions, progress,
state, a fatal stop) and the single Glue job ``run_pipeline`` (:func:`run_stages`). Here its
steps are the DAG's own (silver, gold and the quality report of the declarations) and a step's
run is a plain function that records what ran, so each decision shows in what was called.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from lakehouse_glue.dag import QUALITY_JOB, Schedule, Step, job_steps, run_stages


@dataclass
class Recorder:
    """Runs a step by recording it; a step named in ``fail`` or ``fatal`` fails."""

    fail: set[str] = field(default_factory=set)
    fatal: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, step: Step) -> str:
        with self.lock:
            self.ran.append(step.job_name)
        if step.job_name in self.fatal:
            return "fatal"
        return "failed" if step.job_name in self.fail else "ok"

    def schedule(self, steps: list[Step], **hooks: object) -> Schedule[str]:
        return Schedule(
            steps,
            self.run,
            lambda r: r != "ok",
            workers=1,
            on_end=lambda step, r: self.events.append(f"end {step.job_name} {r}"),
            on_skip=lambda step, why: self.events.append(f"skip {step.job_name}"),
            on_silver_ended=lambda: self.events.append("silver ended"),
            fatal=lambda r: r == "fatal",
            **hooks,  # type: ignore[arg-type]
        )


@pytest.fixture
def steps() -> list[Step]:
    return [s for s in job_steps() if s.kind in ("silver", "gold", "quality")]


def _silver(steps: list[Step], entity: str) -> Step:
    return next(s for s in steps if s.kind == "silver" and s.entity == entity)


def _readers(steps: list[Step], entity: str) -> set[str]:
    return {s.job_name for s in steps if s.kind == "gold" and entity in s.depends_on}


def test_every_step_runs_each_after_the_silver_it_reads(steps: list[Step]) -> None:
    recorder = Recorder()
    done = recorder.schedule(steps).run()
    assert sorted(recorder.ran) == sorted(s.job_name for s in steps)
    assert set(done.runs) == {s.job_name for s in steps}
    position = {name: i for i, name in enumerate(recorder.ran)}
    silver = {s.entity: s.job_name for s in steps if s.kind == "silver"}
    for step in steps:
        if step.kind == "gold":
            assert all(position[silver[e]] < position[step.job_name] for e in step.depends_on)
    assert position[QUALITY_JOB] > max(position[j] for j in silver.values())
    # Silver state is recorded once, after the last silver job and before the quality report.
    assert recorder.events.count("silver ended") == 1
    ended = recorder.events.index("silver ended")
    assert all(e.startswith("end transform_") for e in recorder.events[:ended])
    assert f"end {QUALITY_JOB} ok" in recorder.events[ended:]


def test_a_fatal_result_starts_nothing_more(steps: list[Step]) -> None:
    first, second = [s for s in steps if s.kind == "silver"][:2]
    recorder = Recorder(fatal={first.job_name})
    done = recorder.schedule(steps).run()
    # One worker: the second silver job was queued, and is not started after the fatal end.
    assert recorder.ran == [first.job_name]
    assert done.stopped
    assert done.runs == {first.job_name: "fatal"}
    assert recorder.events == [f"end {first.job_name} fatal"]  # silver never "ended"
    assert second.job_name not in done.runs


def test_an_up_to_date_step_is_reported_not_run_and_its_readers_go_on(
    steps: list[Step],
) -> None:
    entity = next(s.entity for s in steps if s.kind == "silver" and _readers(steps, s.entity))
    assert entity is not None
    current = _silver(steps, entity).job_name
    gold = sorted(_readers(steps, entity))[0]
    asked: list[str] = []

    def should_run(step: Step) -> bool:
        asked.append(step.job_name)
        return step.job_name not in (current, gold)

    recorder = Recorder()
    done = recorder.schedule(steps, should_run=should_run).run()
    assert sorted(asked) == sorted(s.job_name for s in steps)  # each asked once
    assert done.up_to_date == [current, gold]
    assert current not in recorder.ran
    assert gold not in recorder.ran
    assert current not in done.runs
    assert gold not in done.runs
    # Its other readers ran, as after a run of it.
    assert _readers(steps, entity) - {gold} <= set(recorder.ran)
    assert recorder.events.count("silver ended") == 1


def test_a_gold_step_whose_input_failed_is_skipped(steps: list[Step]) -> None:
    entity = next(s.entity for s in steps if s.kind == "silver" and _readers(steps, s.entity))
    assert entity is not None
    failing = _silver(steps, entity).job_name
    recorder = Recorder(fail={failing})
    done = recorder.schedule(steps).run()
    readers = _readers(steps, entity)
    assert set(done.skipped) == readers
    assert all(f"its silver input(s) {entity} failed" in why for why in done.skipped.values())
    assert not readers & set(recorder.ran)
    others = {s.job_name for s in steps} - readers
    assert set(recorder.ran) == others  # the rest ran, the quality report too
    assert done.runs[failing] == "failed"


def test_run_stages_reports_an_error_and_the_steps_it_skipped(steps: list[Step]) -> None:
    entity = next(s.entity for s in steps if s.kind == "silver" and _readers(steps, s.entity))
    failing = _silver(steps, entity or "").job_name

    def run_step(step: Step) -> str:
        if step.job_name == failing:
            raise ValueError("bad bronze")
        return step.job_name

    outcomes = run_stages(steps, run_step, workers=2)
    assert [o.step.job_name for o in outcomes] == [s.job_name for s in steps]  # plan order
    by_job = {o.step.job_name: o for o in outcomes}
    assert by_job[failing].error is not None
    assert "ValueError: bad bronze" in by_job[failing].error
    for job in _readers(steps, entity or ""):
        assert by_job[job].skipped == f"its silver input(s) {entity} failed"
    good = [o for o in outcomes if o.succeeded]
    assert all(o.report == o.step.job_name for o in good)
    assert len(good) == len(steps) - 1 - len(_readers(steps, entity or ""))
