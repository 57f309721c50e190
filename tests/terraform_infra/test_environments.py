"""Several environments in one account: every name carries the environment, bucket names stay
within S3's 63 characters, and the per-environment examples plan."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lakehouse.deploy import tf_check
from lakehouse.deploy.package_glue import GlueArtifacts
from tests.terraform_infra.conftest import STAGING_GLUE_SIZING, STAGING_OVERRIDES
from tests.terraform_infra.plan import of_type

pytestmark = pytest.mark.slow

STAGING = f"{STAGING_OVERRIDES['name_prefix']}-staging"
BUCKET_KEYS = ("bronze", "silver", "gold", "scripts", "athena_results")
# Attributes that name a resource in the account (or globally, for buckets).
NAME_ATTRIBUTES = (
    "name", "name_prefix", "bucket", "alarm_name", "dashboard_name", "identifier_prefix",
    "replication_instance_id", "replication_subnet_group_id", "replication_task_id", "endpoint_id",
)  # fmt: skip
# Names scoped by something that already carries the environment (a role's inline policy, a
# workgroup's saved queries, a database's tables and filters, a bucket's objects, a topic's
# subscriptions), not by the account.
SCOPED = {
    "aws_iam_role_policy", "aws_athena_named_query", "aws_glue_catalog_table",
    "aws_lakeformation_data_cells_filter", "aws_s3_object", "aws_sns_topic_subscription",
}  # fmt: skip


def expected_bucket_name(head: str, account: str, region: str) -> str:
    """The bucket naming rule, written again here as the oracle: `<head>-<account>-<region>`, or
    when longer than 63 characters, head cut to fit, 8 hex digits of the full name's SHA-256."""
    suffix = f"{account}-{region}"
    full = f"{head}-{suffix}"
    if len(full) <= 63:
        return full
    cut = head[: 63 - 10 - len(suffix)].rstrip("-")
    return f"{cut}-{hashlib.sha256(full.encode()).hexdigest()[:8]}-{suffix}"


def names(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Every account-level name of a plan, with the address that holds it."""
    found = {}
    for r in resources:
        if r["type"] in SCOPED:
            continue
        for attribute in NAME_ATTRIBUTES:
            value = (r.get("values") or {}).get(attribute)
            if isinstance(value, str) and value:
                found[value] = r["address"]
    return found


def test_bucket_names_fit_s3_and_are_shortened_deterministically(
    staging_resources: list[dict[str, Any]],
) -> None:
    region = STAGING_OVERRIDES["aws_region"]
    buckets = {
        r.get("index", "access_logs"): r["values"]["bucket"]
        for r in of_type(staging_resources, "aws_s3_bucket")
    }
    expected = {
        key: expected_bucket_name(
            f"{STAGING}-{key.replace('_', '-')}", tf_check.PLAN_ACCOUNT_ID, region
        )
        for key in (*BUCKET_KEYS, "access_logs")
    }
    assert buckets == expected
    # Some full names would not fit (this plan exercises the shortening), others are kept.
    full = {
        k: f"{STAGING}-{k.replace('_', '-')}-{tf_check.PLAN_ACCOUNT_ID}-{region}" for k in expected
    }
    assert len(full["athena_results"]) > 63
    assert buckets["athena_results"] != full["athena_results"]
    assert buckets["gold"] == full["gold"]
    for name in buckets.values():
        assert len(name) <= 63
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name
        assert "--" not in name
    assert len(set(buckets.values())) == len(buckets)


def test_environments_share_no_name(
    resources: list[dict[str, Any]], staging_resources: list[dict[str, Any]]
) -> None:
    dev, staging = names(resources), names(staging_resources)
    assert set(dev) & set(staging) == set(), {n: dev[n] for n in set(dev) & set(staging)}
    # Catalog databases, workgroup, roles and jobs carry the environment.
    databases = {
        r["values"]["name"] for r in of_type(staging_resources, "aws_glue_catalog_database")
    }
    assert databases == {
        f"lakehouse_saasco_staging_{layer}" for layer in ("bronze", "silver", "gold")
    }
    for kind in ("aws_iam_role", "aws_glue_job", "aws_athena_workgroup", "aws_glue_crawler"):
        for r in of_type(staging_resources, kind):
            value = r["values"].get("name") or r["values"].get("name_prefix")
            assert STAGING in value, (kind, value)
    # The account-wide resources belong to one environment (prod in the examples).
    staged = {r["values"].get("name") for r in of_type(staging_resources, "aws_iam_role")}
    assert not staged & {"dms-vpc-role", "dms-cloudwatch-logs-role"}
    assert not of_type(staging_resources, "aws_lakeformation_data_lake_settings")
    groups = {r["values"]["name"] for r in of_type(staging_resources, "aws_cloudwatch_log_group")}
    assert "/aws-glue/crawlers" not in groups


def test_analysts_read_bronze_without_lake_formation(
    staging_resources: list[dict[str, Any]],
) -> None:
    """Without Lake Formation the analyst role reads the lake by S3 path, bronze included: the
    bronze exploration queries run for analysts."""
    buckets = {
        r["index"]: f"arn:aws:s3:::{r['values']['bucket']}"
        for r in of_type(staging_resources, "aws_s3_bucket")
        if r.get("index") is not None
    }
    policy = next(
        json.loads(p["values"]["policy"])
        for p in of_type(staging_resources, "aws_iam_role_policy")
        if p["values"].get("role") == f"{STAGING}-analyst"
        and p["values"]["name"] == "athena-analyst"
    )
    read = next(s for s in policy["Statement"] if s["Sid"] == "ReadLakeData")
    assert sorted(read["Resource"]) == sorted(
        f"{buckets[k]}/*" for k in ("bronze", "silver", "gold")
    )
    assert not of_type(staging_resources, "aws_lakeformation_permissions")


def test_dms_waits_for_the_service_roles(tf_plan: dict[str, Any]) -> None:
    """The subnet group is created after dms-vpc-role and its policy (the whole IAM module); the
    provider retries CreateReplicationSubnetGroup on AccessDeniedFault while the role propagates."""
    dms = tf_plan["configuration"]["root_module"]["module_calls"]["dms"]
    assert dms["depends_on"] == ["module.iam"]
    iam = tf_plan["configuration"]["root_module"]["module_calls"]["iam"]["module"]
    assert {r["address"] for r in iam["resources"]} >= {
        "aws_iam_role.dms_vpc",
        "aws_iam_role_policy_attachment.dms_vpc",
    }


def test_worker_type_count_and_slice_are_set_per_job(
    resources: list[dict[str, Any]], staging_resources: list[dict[str, Any]]
) -> None:
    sizing = STAGING_GLUE_SIZING["jobs"]["transform_events_bronze_to_silver"]
    staged = {r["values"]["name"]: r["values"] for r in of_type(staging_resources, "aws_glue_job")}
    events = [v for n, v in staged.items() if n.endswith("-transform_events_bronze_to_silver")]
    assert len(events) == 1
    assert (events[0]["worker_type"], events[0]["number_of_workers"]) == (
        sizing["worker_type"],
        sizing["number_of_workers"],
    )
    for name, values in staged.items():
        args = values["default_arguments"]
        if name.endswith("_bronze_to_silver"):
            assert args["--slice_bytes"] == str(STAGING_GLUE_SIZING["silver_slice_bytes"])
        else:
            assert "--slice_bytes" not in args
        if values is not events[0]:
            assert (values["worker_type"], values["number_of_workers"]) == ("G.1X", 2)
    # Without per-job settings every job has the defaults and no --slice_bytes (the job sizes
    # its slices from its own driver).
    for job in of_type(resources, "aws_glue_job"):
        assert (job["values"]["worker_type"], job["values"]["number_of_workers"]) == ("G.1X", 2)
        assert "--slice_bytes" not in job["values"]["default_arguments"]


def test_per_job_sizing_of_no_job_or_a_bad_size_fails_the_plan(
    tf_workspace: tf_check.Workspace,
    tf_tmp: Path,
    moto_endpoint: str,
    glue_artifacts: GlueArtifacts,
) -> None:
    def plan_fails(glue: dict[str, Any], name: str) -> str:
        variables = tf_check.plan_variables(moto_endpoint, glue_artifacts.out_dir)
        variables["glue"] = {**variables["glue"], **glue}
        var_file = tf_tmp / f"{name}.tfvars.json"
        var_file.write_text(json.dumps(variables), "utf-8")
        done = tf_workspace.run(
            "plan", "-input=false", "-lock=false", f"-var-file={var_file}", check=False
        )
        assert done.returncode != 0, done.stdout[-2000:]
        return " ".join(done.stderr.split())

    message = plan_fails(
        {"jobs": {"transform_event_bronze_to_silver": {"number_of_workers": 4}}}, "unknown-job"
    )
    assert "glue.jobs names jobs that do not exist: transform_event_bronze_to_silver" in message
    message = plan_fails(
        {
            "jobs": {"transform_events_bronze_to_silver": {"worker_type": "G.1024X"}},
            "silver_slice_bytes": 1000,
        },
        "bad-size",
    )
    assert "each worker_type must be G.1X, G.2X, G.4X or G.8X" in message
    assert "glue.silver_slice_bytes must be at least 1048576" in message
