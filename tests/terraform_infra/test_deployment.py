"""The Terraform deployment as a whole, planned offline against moto: formatted, valid, every
component present, no failed Checkov check, the example variables plan, and bad input refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue.model import load_declaration

from lakehouse.deploy import tf_check
from lakehouse.deploy.package_glue import GlueArtifacts
from lakehouse.paths import GLUE_SCRIPTS_DIR
from tests.terraform_infra.plan import DB, GOLD_JSON, NAME, gold_mart_decls, of_type, one

# The plan helpers' home is plan.py, and each module's tests are in modules/. These names stay
# importable from here for tests written against the old place.
__all__ = ["DB", "GOLD_JSON", "NAME", "gold_mart_decls", "of_type", "one"]

pytestmark = pytest.mark.slow


def test_fmt_is_clean(tf_workspace: tf_check.Workspace) -> None:
    tf_workspace.fmt_check()


def test_validate(tf_workspace: tf_check.Workspace) -> None:
    tf_workspace.validate()


def test_plan_holds_every_component(resources: list[dict[str, Any]]) -> None:
    counts: dict[str, int] = {}
    for r in resources:
        counts[r["type"]] = counts.get(r["type"], 0) + 1
    entities = len(load_declaration().entities)
    marts = len([m for m in gold_mart_decls() if m["columns"]])
    expected = {
        # storage: 5 lake buckets + the access-log bucket, one CMK
        "aws_s3_bucket": 6,
        "aws_s3_bucket_public_access_block": 6,
        "aws_s3_bucket_server_side_encryption_configuration": 6,
        "aws_s3_bucket_policy": 6,
        "aws_s3_bucket_lifecycle_configuration": 6,
        "aws_s3_bucket_logging": 5,
        "aws_kms_key": 1,
        # source_db
        "aws_db_instance": 1,
        "aws_db_parameter_group": 1,
        "aws_secretsmanager_secret": 1,
        # dms
        "aws_dms_replication_subnet_group": 1,
        "aws_dms_replication_instance": 1,
        "aws_dms_endpoint": 1,
        "aws_dms_s3_endpoint": 1,
        "aws_dms_replication_task": 1,
        # glue
        "aws_glue_catalog_database": 3,
        # bronze, silver and silver history per entity; gold per mart with columns
        "aws_glue_catalog_table": 3 * entities + marts,
        # the bronze drift crawler only: Iceberg tables track their own files
        "aws_glue_crawler": 1,
        # compaction, snapshot retention and orphan-file deletion per Iceberg table
        "aws_glue_catalog_table_optimizer": 3 * (2 * entities + marts),
        "aws_glue_security_configuration": 1,
        "aws_glue_workflow": 1,
        # athena: the analysts' workgroup and one per tenant
        "aws_athena_workgroup": 1 + len(tf_check.PLAN_TENANTS),
        # monitoring
        "aws_sns_topic": 1,
        # DMS latency (2) and not running; RDS slot lag, WAL disk, free storage; quarantined
        # rows and gold freshness
        "aws_cloudwatch_metric_alarm": 8,
        "aws_cloudwatch_event_rule": 2,
        "aws_cloudwatch_event_target": 2,
        "aws_cloudwatch_dashboard": 1,
        # iam: DMS S3 target, DMS secret reader, dms-vpc-role, dms-cloudwatch-logs-role, Glue,
        # analysts, RDS enhanced monitoring, Lake Formation's locations role, one per tenant; glue:
        # the table optimizers
        "aws_iam_role": 9 + len(tf_check.PLAN_TENANTS),
        # lake formation: settings, silver and gold registered, one filter per tenant and silver,
        # silver history or gold table (modules/test_lakeformation.py checks the grants)
        "aws_lakeformation_data_lake_settings": 1,
        "aws_lakeformation_resource": 2,
        "aws_lakeformation_data_cells_filter": len(tf_check.PLAN_TENANTS) * (2 * entities + marts),
    }
    assert {kind: counts.get(kind, 0) for kind in expected} == expected


def test_invalid_network_is_refused(
    tf_workspace: tf_check.Workspace, tf_tmp: Path, moto_endpoint: str
) -> None:
    variables = tf_check.plan_variables(moto_endpoint, tf_tmp / "none")
    variables["network"]["subnet_ids"] = ["subnet-only-one"]
    var_file = tf_tmp / "bad.tfvars.json"
    var_file.write_text(json.dumps(variables), "utf-8")
    done = tf_workspace.run(
        "plan", "-input=false", "-lock=false", f"-var-file={var_file}", check=False
    )
    assert done.returncode != 0
    assert "at least two subnets" in done.stderr


def test_checkov_has_no_failed_checks(checkov_result: tf_check.CheckovResult) -> None:
    assert checkov_result.failures == []
    assert checkov_result.failed == 0
    assert checkov_result.passed > 250


def test_tfvars_example_plans(
    tf_workspace: tf_check.Workspace,
    tf_tmp: Path,
    moto_endpoint: str,
    glue_artifacts: GlueArtifacts,
) -> None:
    overrides = tf_tmp / "example-overrides.tfvars.json"
    overrides.write_text(
        json.dumps(
            {
                "aws_endpoints": {s: moto_endpoint for s in tf_check.AWS_SERVICES},
                "glue": {"artifacts_dir": str(glue_artifacts.out_dir)},
            }
        ),
        "utf-8",
    )
    example = tf_workspace.config_dir / "terraform.tfvars.example"
    done = tf_workspace.run(
        "plan", "-input=false", "-lock=false", f"-var-file={example}", f"-var-file={overrides}",
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "aws_dms_s3_endpoint.bronze will be created" in done.stdout


def test_unwired_contract_setting_and_unplaced_script_fail_the_plan(
    tf_workspace: tf_check.Workspace,
    tf_tmp: Path,
    moto_endpoint: str,
    glue_artifacts: GlueArtifacts,
) -> None:
    # A copy of the declarations whose contract maps one more DMS argument ...
    declarations = tf_tmp / "drifted-declarations"
    shutil.copytree(GLUE_SCRIPTS_DIR / "lakehouse_glue" / "declarations", declarations)
    contract = json.loads((declarations / "bronze_contract.json").read_text("utf-8"))
    contract["add_trailing_padding_character"] = False
    contract["terraform"]["add_trailing_padding_character"] = "add_trailing_padding_character"
    (declarations / "bronze_contract.json").write_text(json.dumps(contract), "utf-8")
    # ... and artifacts with a script that is no pipeline job.
    artifacts = tf_tmp / "rogue-artifacts"
    shutil.copytree(glue_artifacts.out_dir, artifacts)
    (artifacts / "rogue_job.py").write_text("print('not a pipeline job')\n", "utf-8")
    variables = tf_check.plan_variables(moto_endpoint, artifacts)
    variables["declarations_dir"] = str(declarations)
    var_file = tf_tmp / "drift.tfvars.json"
    var_file.write_text(json.dumps(variables), "utf-8")
    done = tf_workspace.run(
        "plan", "-input=false", "-lock=false", f"-var-file={var_file}", check=False
    )
    assert done.returncode != 0
    message = " ".join(done.stderr.split())
    assert (
        "maps settings to arguments not wired in modules/dms: add_trailing_padding_character"
        in message
    )
    assert "Glue scripts with no place in the pipeline DAG: rogue_job" in message
