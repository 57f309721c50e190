"""The two ways the pipeline runs on AWS (``glue.mode``), planned offline against moto.

``per_job`` (the default plan): one Glue job per step, chained by the workflow. ``single_job``:
the one job ``run_pipeline`` runs every step in one Spark session on its own schedule; it ships
every step's script and the writer lock, and holds the lock at the lake root where silver lives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue.dag import ON_DEMAND_JOBS, SINGLE_JOB, job_steps

from lakehouse.config import Settings
from lakehouse.deploy import tf_check
from lakehouse.deploy.package_glue import (
    LIBRARY_ZIP,
    LOCK_REQUIREMENTS,
    LOCK_ZIP,
    GlueArtifacts,
    lock_requirements,
)
from lakehouse.glue.runner import default_arguments
from lakehouse.paths import GLUE_SCRIPTS_DIR
from tests.terraform_infra.plan import NAME, of_type, one

pytestmark = pytest.mark.slow

SCHEDULE = "cron(0/15 * * * ? *)"  # every 15 minutes


@pytest.fixture(scope="session")
def single_job_resources(
    tf_workspace: tf_check.Workspace, glue_artifacts: GlueArtifacts, moto_endpoint: str
) -> list[dict[str, Any]]:
    """Managed resources of the default deployment planned with ``glue.mode = single_job``."""
    variables = tf_check.plan_variables(moto_endpoint, glue_artifacts.out_dir)
    variables["glue"] = {**variables["glue"], "mode": "single_job", "schedule": SCHEDULE}
    plan = tf_workspace.plan(variables)
    return [r for r in tf_check.planned_resources(plan) if r["mode"] == "managed"]


def _uploaded(resources: list[dict[str, Any]]) -> dict[str, str]:
    return {o["values"]["key"]: o["values"]["source"] for o in of_type(resources, "aws_s3_object")}


def test_per_job_mode_is_a_workflow_of_one_job_per_step(resources: list[dict[str, Any]]) -> None:
    jobs = {j["values"]["name"] for j in of_type(resources, "aws_glue_job")}
    on_demand = {f"{NAME}-{job}" for job in ON_DEMAND_JOBS}
    assert jobs == {f"{NAME}-{s.job_name}" for s in job_steps()} | on_demand
    assert one(resources, "aws_glue_workflow")["name"] == f"{NAME}-pipeline"
    triggers = of_type(resources, "aws_glue_trigger")
    assert {t["values"]["workflow_name"] for t in triggers} == {f"{NAME}-pipeline"}
    # The writer lock ships with the jobs that hold it: here offboard_tenant alone.
    assert f"glue/{LOCK_ZIP}" in _uploaded(resources)
    for job in of_type(resources, "aws_glue_job"):
        extra = job["values"]["default_arguments"]["--extra-py-files"]
        assert (LOCK_ZIP in extra) == (job["values"]["name"] in on_demand), job["address"]


def test_single_job_mode_is_one_job_that_ships_every_step_and_the_lock(
    single_job_resources: list[dict[str, Any]], glue_artifacts: GlueArtifacts
) -> None:
    resources = single_job_resources
    jobs = {j["values"]["name"]: j["values"] for j in of_type(resources, "aws_glue_job")}
    # The one pipeline job, and the on-demand jobs of either mode.
    assert set(jobs) == {f"{NAME}-{job}" for job in (SINGLE_JOB, *ON_DEMAND_JOBS)}
    job = jobs[f"{NAME}-{SINGLE_JOB}"]
    assert job["command"][0]["script_location"].endswith(f"/glue/scripts/{SINGLE_JOB}.py")
    assert job["execution_property"] == [{"max_concurrent_runs": 1}]
    assert (job["worker_type"], job["number_of_workers"]) == ("G.1X", 2)
    args = job["default_arguments"]
    # Every argument the local runtime gives the job, the lake root included.
    assert set(default_arguments(Settings(), SINGLE_JOB)) - {"--JOB_NAME"} <= set(args)
    buckets = {
        b["values"]["bucket"].split("-")[2]: b["values"]["bucket"]
        for b in of_type(resources, "aws_s3_bucket")
    }
    assert args["--lake_root"] == f"s3://{buckets['silver']}"
    assert args["--silver_path"] == f"s3://{buckets['silver']}/silver"
    # The library, the lock and every step's script, each uploaded with the packaged bytes.
    uploaded = _uploaded(resources)
    scripts_bucket = f"s3://{buckets['scripts']}/"
    extra = [uri.removeprefix(scripts_bucket) for uri in args["--extra-py-files"].split(",")]
    steps = sorted(f"glue/scripts/{s.job_name}.py" for s in job_steps())
    assert extra == [f"glue/{LIBRARY_ZIP}", f"glue/{LOCK_ZIP}", *steps]
    for key in extra:
        name = key.rsplit("/", 1)[1]
        assert Path(uploaded[key]).read_bytes() == (glue_artifacts.out_dir / name).read_bytes()
    assert (glue_artifacts.out_dir / f"{SINGLE_JOB}.py").read_bytes() == (
        GLUE_SCRIPTS_DIR / f"{SINGLE_JOB}.py"
    ).read_bytes()
    # The lock's modules beyond Glue's own, pinned as the project pins them.
    assert args["--additional-python-modules"] == lock_requirements()
    assert (glue_artifacts.out_dir / LOCK_REQUIREMENTS).read_text("utf-8").strip() == (
        lock_requirements()
    )


def test_single_job_mode_runs_on_a_schedule_without_a_workflow(
    single_job_resources: list[dict[str, Any]],
) -> None:
    resources = single_job_resources
    assert of_type(resources, "aws_glue_workflow") == []
    trigger = one(resources, "aws_glue_trigger")
    assert trigger["type"] == "SCHEDULED"
    assert trigger["schedule"] == SCHEDULE
    assert trigger["start_on_creation"] is True
    assert trigger.get("workflow_name") is None
    assert [a["job_name"] for a in trigger["actions"]] == [f"{NAME}-{SINGLE_JOB}"]
    # The failure alarm watches the one job.
    rule = next(
        r["values"]
        for r in of_type(resources, "aws_cloudwatch_event_rule")
        if r["values"]["name"] == f"{NAME}-glue-job-failed"
    )
    assert f'"{NAME}-{SINGLE_JOB}"' in rule["event_pattern"]
