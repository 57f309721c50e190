"""The Terraform deployment, planned offline against moto: complete, secure and consistent with
the code (the bronze contract, the entity declaration, the job scripts and the pipeline DAG)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from lakehouse_glue.metrics import GOLD_MARTS_PUBLISHED, QUARANTINED_ROWS, load_metrics, metric_data
from lakehouse_glue.model import load_bronze_contract, load_declaration
from sqlglot import exp

from lakehouse.athena.ddl import render as render_ddl
from lakehouse.athena.guard import READ_DIALECT
from lakehouse.config import Settings
from lakehouse.deploy import tf_check
from lakehouse.deploy.package_glue import GlueArtifacts, job_scripts
from lakehouse.glue.runner import default_arguments
from lakehouse.paths import ATHENA_QUERIES_DIR, GLUE_SCRIPTS_DIR
from lakehouse.pipeline.run import CRAWLER_STEP, QUALITY_JOB, STAGES
from lakehouse.pipeline.run import plan as pipeline_plan

pytestmark = pytest.mark.slow

NAME = "lakehouse-dev"  # default name_prefix and environment of the plan
# The catalog database of each layer: environment in the name, so environments share an account.
DB = {layer: f"lakehouse_dev_{layer}" for layer in ("bronze", "silver", "gold")}
GOLD_JSON = GLUE_SCRIPTS_DIR / "lakehouse_glue" / "declarations" / "gold.json"
# DMS takes the CSV delimiters as escape sequences; the contract holds the characters.
DMS_ESCAPES = {"\\n": "\n", "\\r": "\r", "\\t": "\t"}


def of_type(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"] == kind]


def one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_type(resources, kind)
    assert len(found) == 1, f"expected one {kind}, found {[r['address'] for r in found]}"
    values: dict[str, Any] = found[0]["values"]
    return values


def gold_mart_decls() -> list[dict[str, Any]]:
    marts: list[dict[str, Any]] = json.loads(GOLD_JSON.read_text("utf-8"))["marts"]
    return marts


def gold_marts() -> list[str]:
    return [m["name"] for m in gold_mart_decls()]


def expected_jobs() -> set[str]:
    """Every job the pipeline knows: 8 silver, one per gold mart, the quality report."""
    silver = {e.silver_job_name for e in load_declaration().entities}
    return silver | {f"create_gold_{m}" for m in gold_marts()} | {"publish_quality_report"}


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
        # silver history or gold table (test_lake_formation.py checks the grants)
        "aws_lakeformation_data_lake_settings": 1,
        "aws_lakeformation_resource": 2,
        "aws_lakeformation_data_cells_filter": len(tf_check.PLAN_TENANTS) * (2 * entities + marts),
    }
    assert {kind: counts.get(kind, 0) for kind in expected} == expected


def test_dms_s3_target_equals_the_bronze_contract(resources: list[dict[str, Any]]) -> None:
    endpoint = one(resources, "aws_dms_s3_endpoint")
    contract = load_bronze_contract().terraform_settings()
    applied = {
        argument: DMS_ESCAPES.get(endpoint[argument], endpoint[argument])
        if argument in ("csv_delimiter", "csv_row_delimiter")
        else endpoint[argument]
        for argument in contract
    }
    assert applied == contract
    # The contract's fixed facts, spelled out so a wrong contract edit shows here too.
    assert endpoint["bucket_folder"] == "dms"
    assert endpoint["compression_type"] == "GZIP"
    assert endpoint["data_format"] == "csv"
    assert endpoint["timestamp_column_name"] == "dms_timestamp"
    # A non-empty NULL marker: the provider drops an empty one (see modules/dms/main.tf).
    assert endpoint["csv_null_value"] == load_bronze_contract().csv_null_value != ""
    assert endpoint["csv_row_delimiter"] == "\\n"
    assert endpoint["cdc_max_batch_interval"] == 60
    assert endpoint["cdc_path"] is None
    assert endpoint["encryption_mode"] == "SSE_KMS"
    assert endpoint["endpoint_type"] == "target"


def test_lake_alarms_watch_the_metrics_the_jobs_put(resources: list[dict[str, Any]]) -> None:
    """The alarms name the namespace, metric and dimensions lakehouse_glue.metrics puts."""
    declared = load_metrics()
    put = {
        d["MetricName"]: d
        for d in metric_data(
            {QUARANTINED_ROWS: 3, GOLD_MARTS_PUBLISHED: 1}, NAME, datetime.now(UTC)
        )
    }
    alarms = {
        a["values"]["alarm_name"]: a["values"]
        for a in of_type(resources, "aws_cloudwatch_metric_alarm")
    }
    for alarm_name, key in (
        (f"{NAME}-quarantined-rows", QUARANTINED_ROWS),
        (f"{NAME}-gold-stale", GOLD_MARTS_PUBLISHED),
    ):
        alarm, datum = alarms[alarm_name], put[declared.metric(key).name]
        assert alarm["namespace"] == declared.namespace == "Lakehouse"
        assert alarm["metric_name"] == datum["MetricName"]
        assert alarm["dimensions"] == {d["Name"]: d["Value"] for d in datum["Dimensions"]}
        assert alarm["statistic"] == "Sum"  # a run's value counts whatever its timestamp
    for job in of_type(resources, "aws_glue_job"):
        args = job["values"]["default_arguments"]
        assert (args["--metrics_namespace"], args["--metrics_deployment"]) == (
            declared.namespace,
            NAME,
        )


def test_table_mappings_cover_the_entities(resources: list[dict[str, Any]]) -> None:
    task = one(resources, "aws_dms_replication_task")
    assert task["migration_type"] == "full-load-and-cdc"
    rules = json.loads(task["table_mappings"])["rules"]
    declaration = load_declaration()
    contract = load_bronze_contract()
    assert len({r["rule-id"] for r in rules}) == len(rules)
    selections = [r for r in rules if r["rule-type"] == "selection"]
    assert [r["object-locator"] for r in selections] == [
        {"schema-name": "public", "table-name": name} for name in declaration.names
    ]
    assert {r["rule-action"] for r in selections} == {"include"}
    added = [r for r in rules if r["rule-type"] == "transformation"]
    assert [r["object-locator"]["table-name"] for r in added] == declaration.names
    for rule in added:
        assert rule["rule-action"] == "add-column"
        assert rule["rule-target"] == "column"
        assert rule["value"] == contract.change_seq_column == "dms_change_seq"
        assert rule["expression"] == contract.change_seq_expression == "$AR_H_CHANGE_SEQ"
        assert rule["data-type"] == {"type": "string", "length": 35}
    settings = json.loads(task["replication_task_settings"])
    # Full LOB mode: jsonb and long text are never truncated on the way to bronze.
    assert settings["TargetMetadata"]["FullLobMode"] is True
    assert settings["FullLoadSettings"]["TargetTablePrepMode"] == "DO_NOTHING"


def test_source_endpoint_uses_tls_secrets_and_heartbeat(resources: list[dict[str, Any]]) -> None:
    source = one(resources, "aws_dms_endpoint")
    assert source["engine_name"] == "postgres"
    assert source["ssl_mode"] == "require"
    # Credentials come from Secrets Manager, never from the endpoint itself.
    assert source["username"] is None
    assert source["password"] is None
    assert source["postgres_settings"][0]["heartbeat_enable"] is True
    db = one(resources, "aws_db_instance")
    assert db["engine"] == "postgres"
    assert db["engine_version"].startswith("15")
    assert db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False
    params = {p["name"]: p["value"] for p in one(resources, "aws_db_parameter_group")["parameter"]}
    assert params["rds.logical_replication"] == "1"
    assert params["rds.force_ssl"] == "1"
    # A slot DMS stops reading is invalidated past 5 GiB instead of filling the disk.
    assert params["max_slot_wal_keep_size"] == "5120"


def test_every_script_has_a_job_and_every_job_a_script(
    resources: list[dict[str, Any]], glue_artifacts: GlueArtifacts
) -> None:
    scripts = {p.stem for p in job_scripts(GLUE_SCRIPTS_DIR)}
    jobs = of_type(resources, "aws_glue_job")
    by_stem = {j["values"]["name"].removeprefix(f"{NAME}-"): j["values"] for j in jobs}
    assert set(by_stem) == scripts
    assert scripts <= expected_jobs(), f"scripts outside the pipeline: {scripts - expected_jobs()}"
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
        assert args["--job-bookmark-option"] == "job-bookmark-enable"
        assert args["--extra-py-files"] == f"s3://{buckets['scripts']}/glue/lakehouse_glue.zip"
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
    local = set(default_arguments(Settings(), "any_job"))
    # Glue itself passes --JOB_NAME; Terraform sets every other argument the local runner sets.
    for job in of_type(resources, "aws_glue_job"):
        assert local - {"--JOB_NAME"} <= set(job["values"]["default_arguments"])


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
    scripts = {p.stem for p in job_scripts(GLUE_SCRIPTS_DIR)}
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


def test_buckets_are_private_encrypted_and_tls_only(resources: list[dict[str, Any]]) -> None:
    for block in of_type(resources, "aws_s3_bucket_public_access_block"):
        values = block["values"]
        assert all(
            values[k]
            for k in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        )
    lake_sse = [
        r
        for r in of_type(resources, "aws_s3_bucket_server_side_encryption_configuration")
        if r.get("index") is not None
    ]
    assert len(lake_sse) == 5
    for sse in lake_sse:
        rule = sse["values"]["rule"][0]["apply_server_side_encryption_by_default"][0]
        assert rule["sse_algorithm"] == "aws:kms"
    versioning = {
        r["index"]: r["values"]["versioning_configuration"][0]["status"]
        for r in of_type(resources, "aws_s3_bucket_versioning")
        if r.get("index") is not None
    }
    # DMS refuses a versioned target bucket; everything else keeps versions.
    assert versioning == {
        "bronze": "Disabled",
        "silver": "Enabled",
        "gold": "Enabled",
        "scripts": "Enabled",
        "athena_results": "Enabled",
    }
    for policy in of_type(resources, "aws_s3_bucket_policy"):
        statements = json.loads(policy["values"]["policy"])["Statement"]
        assert {
            "Effect": "Deny",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }.items() <= statements[0].items()
    assert one(resources, "aws_kms_key")["enable_key_rotation"] is True


def test_athena_workgroup_and_named_queries(resources: list[dict[str, Any]]) -> None:
    workgroup = next(
        w["values"]
        for w in of_type(resources, "aws_athena_workgroup")
        if w["values"]["name"] == f"{NAME}-analysts"
    )
    config = workgroup["configuration"][0]
    assert config["enforce_workgroup_configuration"] is True
    assert config["bytes_scanned_cutoff_per_query"] == 10 * 1024**3
    encryption = config["result_configuration"][0]["encryption_configuration"][0]
    assert encryption["encryption_option"] == "SSE_KMS"
    files = sorted(p.relative_to(ATHENA_QUERIES_DIR) for p in ATHENA_QUERIES_DIR.rglob("*.sql"))
    statements: dict[str, dict[int, dict[str, Any]]] = {}
    for q in of_type(resources, "aws_athena_named_query"):
        values = q["values"]
        match = re.fullmatch(
            r"athena-queries/(.+), statement (\d+) of (\d+)", values["description"]
        )
        assert match is not None, values["description"]
        statements.setdefault(match.group(1), {})[int(match.group(2))] = values
        assert values["database"] == DB["gold"]
    assert sorted(statements) == [f.as_posix() for f in files]
    args = of_type(resources, "aws_glue_job")[0]["values"]["default_arguments"]
    locations = {
        "bronze_location": args["--bronze_path"],
        "silver_location": args["--silver_path"],
        "gold_location": args["--gold_path"],
    }
    for f in files:
        text = (ATHENA_QUERIES_DIR / f).read_text("utf-8")
        # The generated DDL is rendered as lakehouse.athena.ddl.render() does; the rest verbatim.
        rendered = render_ddl(text, locations) if f.parts[0] == "ddl" else text
        # Athena runs one statement per execution: sqlglot's statements of the file, with this
        # deployment's database names, one named query each, in order.
        expected = [
            _renamed(tree).sql(READ_DIALECT, comments=False)
            for tree in sqlglot.parse(rendered, read=READ_DIALECT)
            if tree
        ]
        stored = statements[f.as_posix()]
        assert sorted(stored) == list(range(1, len(expected) + 1)), f
        for index, sql in enumerate(expected, start=1):
            query = stored[index]
            trees = [t for t in sqlglot.parse(query["query"], read=READ_DIALECT) if t]
            assert len(trees) == 1, (f, index)
            assert trees[0].sql(READ_DIALECT, comments=False) == sql, (f, index)
            suffix = f".{index:02d}" if len(expected) > 1 else ""
            assert query["name"] == f.with_suffix("").as_posix().replace("/", ".") + suffix


def _renamed(tree: exp.Expr) -> exp.Expr:
    """The statement with the layer databases renamed to this deployment's (an AST rewrite, not
    the plan's text substitution)."""
    tree = tree.copy()
    for table in tree.find_all(exp.Table):
        if table.db in DB:
            table.set("db", exp.to_identifier(DB[table.db]))
        elif isinstance(table.parent, exp.Create) and table.name in DB and not table.db:
            table.set("this", exp.to_identifier(DB[table.name]))
    return tree


def test_failures_alert_through_encrypted_sns(
    tf_plan: dict[str, Any], resources: list[dict[str, Any]]
) -> None:
    topic = [c for c in tf_plan["resource_changes"] if c["type"] == "aws_sns_topic"]
    assert len(topic) == 1
    # The key's ARN is only known after apply: the plan marks the attribute as set but unknown.
    assert topic[0]["change"]["after_unknown"]["kms_master_key_id"] is True
    rules = {
        r["values"]["name"]: r["values"] for r in of_type(resources, "aws_cloudwatch_event_rule")
    }
    assert set(rules) == {f"{NAME}-glue-job-failed", f"{NAME}-dms-task-failed"}
    glue_rule = json.loads(rules[f"{NAME}-glue-job-failed"]["event_pattern"])
    assert glue_rule["source"] == ["aws.glue"]
    assert set(glue_rule["detail"]["state"]) == {"FAILED", "TIMEOUT", "ERROR"}
    jobs = {j["values"]["name"] for j in of_type(resources, "aws_glue_job")}
    assert set(glue_rule["detail"]["jobName"]) == jobs
    alarms = {
        a["values"]["alarm_name"].removeprefix(f"{NAME}-"): a["values"]
        for a in of_type(resources, "aws_cloudwatch_metric_alarm")
    }
    assert {(a["namespace"], a["metric_name"]) for a in alarms.values()} == {
        ("AWS/DMS", "CDCLatencySource"),
        ("AWS/DMS", "CDCLatencyTarget"),
        ("AWS/RDS", "OldestReplicationSlotLag"),
        ("AWS/RDS", "TransactionLogsDiskUsage"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("Lakehouse", "QuarantinedRows"),
        ("Lakehouse", "GoldMartsPublished"),
    }
    mib = 1024 * 1024
    # Half of max_slot_wal_keep_size (5120 MB) for the slot, all of it for WAL on disk, 20% of
    # the 20 GB for free storage.
    assert alarms["source-db-slot-lag"]["threshold"] == 2560 * mib
    assert alarms["source-db-wal-disk"]["threshold"] == 5120 * mib
    assert alarms["source-db-free-storage"]["threshold"] == 20 * 1024 * mib * 20 / 100
    assert alarms["source-db-free-storage"]["comparison_operator"] == "LessThanThreshold"
    # Any quarantined row alerts; no mart for 26 hours in a row (no data included) alerts.
    assert alarms["quarantined-rows"]["dimensions"] == {"Deployment": NAME}
    assert alarms["quarantined-rows"]["threshold"] == 0
    gold = alarms["gold-stale"]
    assert (gold["period"], gold["evaluation_periods"], gold["datapoints_to_alarm"]) == (
        3600,
        26,
        26,
    )
    assert gold["treat_missing_data"] == "breaching"
    assert gold["comparison_operator"] == "LessThanThreshold"
    assert gold["threshold"] == 1
    # Every alarm goes to the one topic (its ARN is only known after apply).
    changes = [c for c in tf_plan["resource_changes"] if c["type"] == "aws_cloudwatch_metric_alarm"]
    assert all(c["change"]["after_unknown"]["alarm_actions"] for c in changes)


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
            assert "partitioned by (`tenant_id`)" in tail
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
