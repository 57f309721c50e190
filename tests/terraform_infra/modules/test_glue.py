"""modules/glue: a job per script with the contracted arguments (those of the local runner),
the pipeline DAG as a workflow, catalog tables equal to the Athena DDL, Iceberg optimizers and
their least-privilege role."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue.dag import ON_DEMAND_JOBS, SINGLE_JOB
from lakehouse_glue.model import load_declaration, load_layout

from lakehouse.config import Settings
from lakehouse.deploy.package_glue import LOCK_ZIP, GlueArtifacts, lock_requirements
from lakehouse.glue.runner import default_arguments
from lakehouse.paths import GLUE_SCRIPTS_DIR, job_scripts
from lakehouse.pipeline.run import CRAWLER_STEP, QUALITY_JOB, STAGES
from lakehouse.pipeline.run import plan as pipeline_plan
from tests.terraform_infra.plan import (
    DB,
    NAME,
    expected_jobs,
    gold_marts,
    of_type,
    one,
)

pytestmark = pytest.mark.slow


def test_every_script_has_a_job_and_every_job_a_script(
    resources: list[dict[str, Any]], glue_artifacts: GlueArtifacts
) -> None:
    # The default per_job mode: one job per step (the single job is test_glue_modes.py's).
    scripts = set(job_scripts()) - {SINGLE_JOB}
    jobs = of_type(resources, "aws_glue_job")
    by_stem = {j["values"]["name"].removeprefix(f"{NAME}-"): j["values"] for j in jobs}
    assert set(by_stem) == scripts
    pipeline = scripts - set(ON_DEMAND_JOBS)
    outside = pipeline - expected_jobs()
    assert not outside, f"scripts outside the pipeline: {outside}"
    uploaded = {
        o["values"]["key"]: o["values"]["source"] for o in of_type(resources, "aws_s3_object")
    }
    for stem, job in by_stem.items():
        location = job["command"][0]["script_location"]
        assert location.endswith(f"/glue/scripts/{stem}.py")
        key = location.split("/", 3)[3]
        assert Path(uploaded[key]).read_bytes() == (GLUE_SCRIPTS_DIR / f"{stem}.py").read_bytes()
    assert Path(uploaded["glue/lakehouse_glue.zip"]).read_bytes() == (
        glue_artifacts.library.read_bytes()
    )


def test_jobs_get_the_contracted_arguments(resources: list[dict[str, Any]]) -> None:
    buckets = {
        b["values"]["bucket"].split("-")[2]: b["values"]["bucket"]
        for b in of_type(resources, "aws_s3_bucket")
    }
    for job in of_type(resources, "aws_glue_job"):
        values = job["values"]
        args = values["default_arguments"]
        on_demand = values["name"].removeprefix(f"{NAME}-") in ON_DEMAND_JOBS
        assert values["glue_version"] == "5.1"
        assert values["worker_type"] == "G.1X"
        assert values["command"][0]["name"] == "glueetl"
        assert values["command"][0]["python_version"] == "3"
        assert values["security_configuration"] == f"{NAME}-lake"
        assert args["--bronze_path"] == f"s3://{buckets['bronze']}"
        assert args["--silver_path"] == f"s3://{buckets['silver']}/silver"
        assert args["--gold_path"] == f"s3://{buckets['gold']}/gold"
        assert args["--quarantine_path"] == f"s3://{buckets['silver']}/quarantine"
        assert args["--reports_path"] == f"s3://{buckets['silver']}/reports"
        assert args["--full_refresh"] == "false"
        library = f"s3://{buckets['scripts']}/glue/lakehouse_glue.zip"
        if on_demand:  # reads no bronze through a bookmark; ships the writer lock
            assert args["--job-bookmark-option"] == "job-bookmark-disable"
            assert (
                args["--extra-py-files"] == f"{library},s3://{buckets['scripts']}/glue/{LOCK_ZIP}"
            )
        else:
            assert args["--job-bookmark-option"] == "job-bookmark-enable"
            assert args["--extra-py-files"] == library
        assert args["--enable-metrics"] == "true"
        # Glue 5.0: real-time logs under a custom prefix, not 4.0's continuous logging.
        assert args["--custom-logGroup-prefix"] == f"/aws-glue/jobs/{NAME}"
        assert "--enable-continuous-cloudwatch-log" not in args
        assert "--continuous-log-logGroup" not in args
        assert args["--metrics_namespace"] == "Lakehouse"
        assert args["--metrics_deployment"] == NAME
        # Iceberg on Glue 5.1: the runtime, the Data Catalog as the catalog the jobs name.
        assert args["--datalake-formats"] == "iceberg"
        catalog = args["--iceberg_catalog"]
        conf = dict(c.split("=", 1) for c in args["--conf"].split(" --conf "))
        assert conf == {
            "spark.sql.extensions": (
                "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
            ),
            f"spark.sql.catalog.{catalog}": "org.apache.iceberg.spark.SparkCatalog",
            f"spark.sql.catalog.{catalog}.catalog-impl": "org.apache.iceberg.aws.glue.GlueCatalog",
            f"spark.sql.catalog.{catalog}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
            f"spark.sql.catalog.{catalog}.warehouse": f"s3://{buckets['silver']}/silver/",
        }


def test_glue_5_log_groups_are_managed_retained_and_encrypted(
    tf_plan: dict[str, Any], resources: list[dict[str, Any]]
) -> None:
    groups = {
        g["values"]["name"]: g["values"] for g in of_type(resources, "aws_cloudwatch_log_group")
    }
    # Where Glue 5.0 writes with --custom-logGroup-prefix, and the account's crawler group.
    jobs = {f"/aws-glue/jobs/{NAME}/error", f"/aws-glue/jobs/{NAME}/output"}
    assert jobs | {"/aws-glue/crawlers"} <= set(groups)
    for name in jobs | {"/aws-glue/crawlers"}:
        assert groups[name]["retention_in_days"] == 365
    encrypted = {
        c["change"]["after"]["name"]
        for c in tf_plan["resource_changes"]
        if c["type"] == "aws_cloudwatch_log_group"
        and c["change"]["after_unknown"].get("kms_key_id")
    }
    assert jobs | {"/aws-glue/crawlers"} <= encrypted
    # CloudWatch encryption of the security configuration would rename the groups: off, the
    # groups carry the key instead.
    config = one(resources, "aws_glue_security_configuration")["encryption_configuration"][0]
    assert config["cloudwatch_encryption"][0]["cloudwatch_encryption_mode"] == "DISABLED"


def test_job_arguments_match_the_local_runner(resources: list[dict[str, Any]]) -> None:
    # Glue itself passes --JOB_NAME; Terraform sets every other argument the local runner sets.
    for job in of_type(resources, "aws_glue_job"):
        stem = job["values"]["name"].removeprefix(f"{NAME}-")
        # --slice_bytes is optional on both sides: Terraform passes it when
        # glue.silver_slice_bytes is set, the local runner when a session of this process was
        # sized (which depends on the tests run before); without it the job sizes its slices
        # from its heap. Its plan is tested in tests/terraform_infra/test_environments.py.
        local = set(default_arguments(Settings(), stem)) - {"--JOB_NAME", "--slice_bytes"}
        assert local <= set(job["values"]["default_arguments"]), stem


def test_offboard_tenant_is_an_on_demand_job_holding_the_writer_lock(
    resources: list[dict[str, Any]], glue_artifacts: GlueArtifacts
) -> None:
    jobs = {j["values"]["name"]: j["values"] for j in of_type(resources, "aws_glue_job")}
    job = jobs[f"{NAME}-offboard_tenant"]
    # Started by hand only: no trigger of the workflow (nor any other) starts it.
    triggers = [t["values"] for t in of_type(resources, "aws_glue_trigger")]
    started = {a["job_name"] for t in triggers for a in t["actions"]}
    assert job["name"] not in started
    # The encryption and one-at-a-time of the pipeline's jobs, and their role (one resource
    # for every job, the role known only after apply): no grant of its own, it deletes rows
    # the pipeline writes, which the pipeline role may already do.
    pipeline = jobs[f"{NAME}-transform_customers_bronze_to_silver"]
    for key in ("security_configuration", "glue_version", "execution_property", "timeout"):
        assert job[key] == pipeline[key], key
    args = job["default_arguments"]
    silver_bucket = pipeline["default_arguments"]["--silver_path"].removesuffix("/silver")
    # The writer lock at the lake root where run_pipeline and `lakehouse` hold it.
    assert args["--lake_root"] == silver_bucket
    assert args["--additional-python-modules"] == lock_requirements()
    assert args["--expire_snapshots"] == "false"
    assert "--tenant_id" not in args  # every run names its tenant
    uploaded = {
        o["values"]["key"]: o["values"]["source"] for o in of_type(resources, "aws_s3_object")
    }
    assert (
        Path(uploaded[f"glue/{LOCK_ZIP}"]).read_bytes()
        == (glue_artifacts.out_dir / LOCK_ZIP).read_bytes()
    )


def _actions(trigger: dict[str, Any]) -> set[str]:
    """The jobs and crawlers a trigger starts."""
    return {a["job_name"] or a["crawler_name"] for a in trigger["actions"]}


def _workflow_stages(resources: list[dict[str, Any]]) -> list[set[str]]:
    """Follow the workflow's triggers from its start: the jobs and crawlers each stage runs."""
    triggers = [t["values"] for t in of_type(resources, "aws_glue_trigger")]
    assert {t["workflow_name"] for t in triggers} == {f"{NAME}-pipeline"}
    starts = [t for t in triggers if t["type"] in ("ON_DEMAND", "SCHEDULED")]
    assert len(starts) == 1
    stages = [_actions(starts[0])]
    rest = [t for t in triggers if t["type"] == "CONDITIONAL"]
    while rest:
        nxt = [
            t
            for t in rest
            if {c["job_name"] for c in t["predicate"][0]["conditions"]} == stages[-1]
        ]
        assert len(nxt) == 1, "each stage must be started by exactly one trigger on the previous"
        predicate = nxt[0]["predicate"][0]
        assert predicate["logical"] == "AND"
        assert {c["state"] for c in predicate["conditions"]} == {"SUCCEEDED"}
        stages.append(_actions(nxt[0]))
        rest.remove(nxt[0])
    return [{name.removeprefix(f"{NAME}-") for name in stage} for stage in stages]


def test_workflow_runs_the_pipeline_dag(resources: list[dict[str, Any]]) -> None:
    scripts = set(job_scripts())
    # The DAG of `lakehouse pipeline run`, stage by stage (silver; gold beside the quality
    # report), limited to the scripts that exist. The local run's last step registers new
    # tables in the local catalog; on AWS Terraform declares them and Iceberg tracks its files,
    # so the workflow ends with the jobs.
    steps = pipeline_plan()
    assert list(dict.fromkeys(step.kind for step in steps)) == [k for st in STAGES for k in st]
    assert [s.job_name for s in steps if s.kind == "crawler"] == [CRAWLER_STEP]
    expected = [{s.job_name for s in steps if s.kind in stage} & scripts for stage in STAGES]
    assert _workflow_stages(resources) == [stage for stage in expected if stage]
    assert QUALITY_JOB in expected[1]
    # ... which is also what the declarations say.
    assert expected[0] == {e.silver_job_name for e in load_declaration().entities} & scripts
    assert expected[1] == ({f"create_gold_{m}" for m in gold_marts()} | {QUALITY_JOB}) & scripts


def test_every_job_and_the_workflow_run_one_at_a_time(resources: list[dict[str, Any]]) -> None:
    # The AWS side of the lake's writer lock (lakehouse.storage.lock): a second run of a job,
    # or of the whole workflow, is refused while one is running.
    jobs = of_type(resources, "aws_glue_job")
    assert jobs
    for job in jobs:
        assert job["values"]["execution_property"] == [{"max_concurrent_runs": 1}], job["address"]
    assert one(resources, "aws_glue_workflow")["max_concurrent_runs"] == 1


def test_silver_tables_follow_the_declaration(resources: list[dict[str, Any]]) -> None:
    tables = {
        t["values"]["name"]: t["values"]
        for t in of_type(resources, "aws_glue_catalog_table")
        if t["values"]["database_name"] == DB["silver"]
    }
    declaration = load_declaration()
    assert set(tables) == set(declaration.names) | {f"{n}_history" for n in declaration.names}
    for entity in declaration.entities:
        declared = [(c.name, c.spark_type) for c in entity.columns]
        if "tenant_id" not in entity.column_names:
            declared.append(("tenant_id", "string"))
        lineage = [
            ("source_committed_at", "timestamp"),
            ("source_change_seq", "string"),
            ("processed_at", "timestamp"),
        ]
        versions = [
            ("operation", "string"),
            ("source_change_seq", "string"),
            ("valid_from", "timestamp"),
            ("valid_to", "timestamp"),
            ("valid_to_change_seq", "string"),
            ("is_current", "boolean"),
        ]
        for name, tail in ((entity.name, lineage), (f"{entity.name}_history", versions)):
            table = tables[name]
            columns = [(c["name"], c["type"]) for c in table["storage_descriptor"][0]["columns"]]
            assert columns == declared + tail, name


_CREATE = re.compile(
    r"create (?:external )?table if not exists (\w+)\.(\w+) \((.*?)\n\)\n(.*?);", re.S
)


_COLUMN = re.compile(r"^  `(\w+)` (\S+?)(?: comment '.*')?,?$", re.M)


_PROPERTY = re.compile(r"^  '([^']+)' = '([^']*)',?$", re.M)


def test_catalog_tables_equal_the_athena_ddl(resources: list[dict[str, Any]]) -> None:
    """The tables Terraform declares are the ones athena-queries/ddl creates, column for column,
    and the DDL saved as named queries is rendered with this deployment's locations."""
    ddl_queries = [
        q["values"]["query"]
        for q in of_type(resources, "aws_athena_named_query")
        if q["values"]["description"].startswith("athena-queries/ddl/")
    ]
    # One statement per named query, without its `;`.
    ddl = "\n".join(f"{query};" for query in ddl_queries)
    assert "${" + "bronze_location}" not in ddl
    assert "${" + "silver_location}" not in ddl
    tables = {
        (t["values"]["database_name"], t["values"]["name"]): t["values"]
        for t in of_type(resources, "aws_glue_catalog_table")
    }
    created = _CREATE.findall(ddl)
    assert {(db, name) for db, name, _, _ in created} == set(tables)
    for db, name, columns, tail in created:
        table = tables[(db, name)]
        descriptor = table["storage_descriptor"][0]
        # The catalog holds column names in lower case (the DDL's `Op` is stored as `op`).
        assert [(c["name"], c["type"]) for c in descriptor["columns"]] == [
            (name.lower(), kind) for name, kind in _COLUMN.findall(columns)
        ]
        assert all(c["name"] == c["name"].lower() for c in descriptor["columns"])
        location = re.search(r"location '([^']+)'", tail)
        assert location is not None
        assert descriptor["location"] == location.group(1)
        # Hive DDL string literals escape a backslash as two; serde and table properties alike.
        properties = {k: v.replace("\\\\", "\\") for k, v in _PROPERTY.findall(tail)}
        serde = descriptor["ser_de_info"][0]["parameters"] if descriptor["ser_de_info"] else {}
        declared = {**table["parameters"], **(serde or {})}
        assert {k: declared.get(k) for k in properties} == properties
        if db == DB["bronze"]:
            assert descriptor["ser_de_info"][0]["serialization_library"].endswith("OpenCSVSerde")
        else:
            # An Iceberg table the Data Catalog creates (format v2); tenant_id is a column and
            # the partition field the jobs add (no Hive partition keys on an Iceberg table).
            assert table["open_table_format_input"] == [
                {"iceberg_input": [{"metadata_operation": "CREATE", "version": "2"}]}
            ]
            assert table["parameters"]["table_type"] == "ICEBERG"
            assert table["partition_keys"] == []
            assert f"partitioned by ({load_layout().partition_sql})" in tail
            assert "tenant_id" in [c["name"] for c in descriptor["columns"]]


def test_iceberg_tables_have_table_optimizers(resources: list[dict[str, Any]]) -> None:
    tables = {
        (t["values"]["database_name"], t["values"]["name"]): t["values"]
        for t in of_type(resources, "aws_glue_catalog_table")
        if t["values"]["database_name"] in (DB["silver"], DB["gold"])
    }
    optimizers: dict[tuple[str, str], dict[str, Any]] = {}
    for o in of_type(resources, "aws_glue_catalog_table_optimizer"):
        v = o["values"]
        optimizers.setdefault((v["database_name"], v["table_name"]), {})[v["type"]] = v
    assert set(optimizers) == set(tables)
    role = next(
        r["values"]
        for r in of_type(resources, "aws_iam_role")
        if r["values"]["name"].endswith("-table-optimizer")
    )
    for key, kinds in optimizers.items():
        assert set(kinds) == {"compaction", "retention", "orphan_file_deletion"}, key
        for v in kinds.values():
            assert v["configuration"][0]["enabled"] is True
        retention = kinds["retention"]["configuration"][0]["retention_configuration"][0]
        # As `lakehouse maintain`: 7 days, at least the last 10 snapshots.
        assert retention["iceberg_configuration"] == [
            {
                "snapshot_retention_period_in_days": 7,
                "number_of_snapshots_to_retain": 10,
                "clean_expired_files": True,
            }
        ]
        orphans = kinds["orphan_file_deletion"]["configuration"][0][
            "orphan_file_deletion_configuration"
        ][0]["iceberg_configuration"][0]
        # Each table's own folder: never another table's files.
        location = tables[key]["storage_descriptor"][0]["location"]
        assert orphans["location"] == location
        assert orphans["orphan_file_retention_period_in_days"] == 7
    trust = json.loads(role["assume_role_policy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "glue.amazonaws.com"}]


def _policy(resources: list[dict[str, Any]], name: str) -> dict[str, dict[str, Any]]:
    policies = [
        json.loads(p["values"]["policy"])
        for p in of_type(resources, "aws_iam_role_policy")
        if p["values"]["name"] == name
    ]
    assert len(policies) == 1, name
    return {s["Sid"]: s for s in policies[0]["Statement"]}


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_optimizer_role_reaches_only_the_iceberg_tables(resources: list[dict[str, Any]]) -> None:
    statements = _policy(resources, "table-optimizer")
    tables = [
        t["values"]
        for t in of_type(resources, "aws_glue_catalog_table")
        if t["values"]["database_name"] in (DB["silver"], DB["gold"])
    ]
    objects = _as_list(statements["RewriteTableFiles"]["Resource"])
    assert sorted(objects) == sorted(
        "arn:aws:s3:::" + t["storage_descriptor"][0]["location"].removeprefix("s3://") + "*"
        for t in tables
    )
    assert set(_as_list(statements["CommitToTables"]["Action"])) == {
        "glue:GetTable",
        "glue:UpdateTable",
        "glue:GetDatabase",
    }
    table_arns = [a for a in _as_list(statements["CommitToTables"]["Resource"]) if ":table/" in a]
    assert sorted(a.split(":table/")[1] for a in table_arns) == sorted(
        f"{t['database_name']}/{t['name']}" for t in tables
    )
    assert not any("*" in a for a in _as_list(statements["CommitToTables"]["Resource"]))
