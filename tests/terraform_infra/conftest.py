"""Session fixtures of the Terraform tests: packaged artifacts, one initialised workspace, one
plan against a moto server, one checkov run. Each runs once per session and is reused."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import get_settings
from lakehouse.deploy import tf_check
from lakehouse.deploy.package_glue import GlueArtifacts, build
from tests.support.ci import unavailable


@pytest.fixture(scope="session")
def tf_tmp() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="lakehouse-tf-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def glue_artifacts(tf_tmp: Path) -> GlueArtifacts:
    """``make package-glue`` output for the current glue-scripts/, in a private folder."""
    return build(out_dir=tf_tmp / "dist" / "glue")


@pytest.fixture(scope="session")
def tf_workspace(tf_tmp: Path) -> tf_check.Workspace:
    """terraform-infra initialised offline from the provider mirror, in a private data dir."""
    plugin_dir = tf_check.find_plugin_dir()
    if plugin_dir is None:
        why = (
            f"{tf_check.PLUGIN_DIR_ENV} is unset and no hashicorp/aws provider mirror was found; "
            "set it to the folder that contains registry.terraform.io"
        )
        unavailable(why)
    ws = tf_check.Workspace(plugin_dir=plugin_dir, work_dir=tf_tmp / "workspace")
    ws.init()
    return ws


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with tf_check.moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def tf_plan(
    tf_workspace: tf_check.Workspace, glue_artifacts: GlueArtifacts, moto_endpoint: str
) -> dict[str, Any]:
    """``terraform show -json`` of the plan of the whole deployment against moto."""
    return tf_workspace.plan(tf_check.plan_variables(moto_endpoint, glue_artifacts.out_dir))


@pytest.fixture(scope="session")
def resources(tf_plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Managed resources of the plan, every module."""
    return [r for r in tf_check.planned_resources(tf_plan) if r["mode"] == "managed"]


@pytest.fixture(scope="session")
def checkov_result() -> tf_check.CheckovResult:
    checkov = tf_check.ensure_checkov(get_settings().state_dir.resolve() / "tools")
    return tf_check.run_checkov(checkov)


# A second environment beside the first: environments/staging.tfvars.example with a 16-character
# prefix and a long region (so bucket names must be shortened), and without Lake Formation.
STAGING_OVERRIDES: dict[str, Any] = {
    "name_prefix": "lakehouse-saasco",
    "aws_region": "ap-southeast-2",
    "lake_formation": {"enabled": False},
    "tenants": {},
}
# Sized as the Terraform README advises for a larger lake: the events silver job on its own
# workers, the silver jobs' slice set.
STAGING_GLUE_SIZING: dict[str, Any] = {
    "jobs": {"transform_events_bronze_to_silver": {"worker_type": "G.2X", "number_of_workers": 5}},
    "silver_slice_bytes": 268435456,
}


@pytest.fixture(scope="session")
def staging_resources(
    tf_workspace: tf_check.Workspace,
    glue_artifacts: GlueArtifacts,
    moto_endpoint: str,
    tf_tmp: Path,
) -> list[dict[str, Any]]:
    """Managed resources of the staging example's plan (see STAGING_OVERRIDES)."""
    overrides = {
        **STAGING_OVERRIDES,
        "aws_endpoints": {s: moto_endpoint for s in tf_check.AWS_SERVICES},
        "glue": {
            "artifacts_dir": str(glue_artifacts.out_dir),
            "manage_crawler_log_group": False,
            **STAGING_GLUE_SIZING,
        },
    }
    example = tf_workspace.config_dir / "environments" / "staging.tfvars.example"
    plan = tf_workspace.plan(overrides, extra_var_files=[example])
    return [r for r in tf_check.planned_resources(plan) if r["mode"] == "managed"]
