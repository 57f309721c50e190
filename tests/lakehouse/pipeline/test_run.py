"""The pipeline's plan and what a run decides before Spark: every declared job has a script,
short or long, nothing new, a lake to rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lakehouse_glue.dag import ON_DEMAND_JOBS, SINGLE_JOB
from lakehouse_glue.gold.marts import load_marts
from lakehouse_glue.model import load_declaration

from lakehouse.cli.main import app
from lakehouse.config import Settings, get_settings
from lakehouse.errors import LakehouseError
from lakehouse.glue.runner import job_scripts
from lakehouse.pipeline import state
from lakehouse.pipeline.run import QUALITY_JOB, check_layout, is_short_run, plan


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
    # ... the single job that runs them all in one Glue job (Terraform single_job mode), and
    # the jobs started by hand (offboarding).
    assert ON_DEMAND_JOBS
    assert not set(ON_DEMAND_JOBS) & set(jobs)
    assert set(jobs) | {SINGLE_JOB} | set(ON_DEMAND_JOBS) == set(job_scripts())


def _bronze_file(settings: Settings, entity: str, name: str) -> Path:
    folder = Path(settings.bronze_uri) / "dms" / "public" / entity
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"not read: only listed")
    return path


def _bookmark(settings: Settings, entity: str, files: dict[str, int]) -> None:
    job = load_declaration().entity(entity).silver_job_name
    folder = Path(settings.glue_state_uri) / "bookmarks"
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"job_name": job, "sources": {f"{entity}_bronze_source": files}}
    (folder / f"{job}.json").write_text(json.dumps(doc))


def test_new_bronze_is_what_a_bookmark_lacks_or_holds_in_another_version(tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    assert not state.has_new_bronze(settings)  # no bronze at all
    path = _bronze_file(settings, "orders", "LOAD00000001.csv.gz")
    _bronze_file(settings, "orders", ".LOAD00000002.csv.gz.tmp")  # hidden: a write under way
    assert state.has_new_bronze(settings)
    mtime = path.stat().st_mtime_ns // 1_000_000
    # The URI as Hadoop spells it, the time in ms: what the Glue stand-in records.
    _bookmark(settings, "orders", {f"file:{path}": mtime})
    assert not state.has_new_bronze(settings)
    _bookmark(settings, "orders", {f"file:{path}": mtime - 1000})  # the file was rewritten
    assert state.has_new_bronze(settings)


def test_nothing_to_do_needs_a_complete_last_run(tmp_path: Path) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    assert not state.nothing_to_do(settings, {})
    last = Path(settings.glue_state_uri) / state.LAST_RUN
    last.parent.mkdir(parents=True)
    last.write_text(json.dumps({"complete": False}))
    assert not state.nothing_to_do(settings, {})


def test_a_plain_parquet_lake_is_refused_with_the_command_that_rebuilds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(lake=str(tmp_path / "lake"))
    (tmp_path / "lake" / "silver" / "orders" / "tenant_id=t1").mkdir(parents=True)
    (tmp_path / "lake" / "silver" / "customers" / "metadata").mkdir(parents=True)
    (tmp_path / "lake" / "gold" / "revenue_daily" / "tenant_id=t1").mkdir(parents=True)
    assert state.plain_parquet_tables(settings) == ["silver/orders", "gold/revenue_daily"]
    with pytest.raises(LakehouseError, match="--full-refresh"):
        check_layout(settings)
    monkeypatch.setenv("LAKEHOUSE_LAKE", settings.lake)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["pipeline", "run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert isinstance(result.exception, LakehouseError)
    assert "silver/orders" in str(result.exception)


def test_columns_beyond_the_declaration_are_noted_as_text_never_markup() -> None:
    from lakehouse.glue.runner import JobRun
    from lakehouse.pipeline.run import PipelineResult

    def run(entity: str, drift: dict[str, object]) -> JobRun:
        report = {"entity": entity, "schema_drift": drift}
        return JobRun(f"job_{entity}", "r", "SUCCEEDED", "", 1.0, {}, report=report)

    result = PipelineResult(
        runs=[
            run("customers", {"carried": {"tier": "...", "badge": "..."}}),
            run("orders", {"carried": {}, "not_carried": {"[red]X": "not a lower-case name"}}),
            run("events", {}),
        ]
    )
    assert result.schema_notes == [
        "silver.customers carries undeclared column(s) badge, tier as text: declare them in "
        "entities.json to give them a type",
        "bronze orders has column '[red]X', not carried: not a lower-case name",
    ]
    assert result.exit_code == 0  # a note, not a failure


def test_a_gold_job_without_its_script_is_refused_not_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deciding whether gold is up to date needs every mart's script: a missing one is an
    error naming it (as a run's preflight says), never a mart left out of the decision."""
    from lakehouse.pipeline import run as pipeline_run

    missing = load_marts()[0].job_name
    scripts = {k: v for k, v in job_scripts().items() if k != missing}
    monkeypatch.setattr(pipeline_run, "job_scripts", lambda: scripts)
    with pytest.raises(LakehouseError, match=rf"no Glue script for job\(s\) {missing}: restore"):
        pipeline_run.gold_fingerprints({})
