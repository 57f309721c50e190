"""The pipeline's plan: every declared job has a script; which runs count as short."""

from __future__ import annotations

from pathlib import Path

from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration

from lakehouse.config import Settings
from lakehouse.glue.runner import job_scripts
from lakehouse.pipeline.run import QUALITY_JOB, is_short_run, plan


def test_only_an_incremental_run_over_existing_silver_is_short(tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    # No lake yet, then bronze only: the first run reads every full-load file.
    assert not is_short_run(settings, full_refresh=False)
    (tmp_path / "lake" / "bronze" / "dms").mkdir(parents=True)
    assert not is_short_run(settings, full_refresh=False)
    (tmp_path / "lake" / "silver" / "orders").mkdir(parents=True)
    assert is_short_run(settings, full_refresh=False)
    assert not is_short_run(settings, full_refresh=True)


def test_every_declared_job_has_its_script() -> None:
    """The DAG of the declarations: one script per job, no script outside it."""
    steps = plan()
    jobs = [s.job_name for s in steps if s.kind != "crawler"]
    assert jobs == [e.silver_job_name for e in load_declaration().entities] + [
        m.job_name for m in load_marts()
    ] + [QUALITY_JOB]
    assert set(jobs) == set(job_scripts())
