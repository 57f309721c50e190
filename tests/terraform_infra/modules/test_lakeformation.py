"""modules/lakeformation, with modules/tenant and the per-tenant workgroups: tenant isolation on
AWS, proven on the plan. Lake Formation governs the lake, each tenant's principal reads only
through its own row filters, and nobody but the pipeline, the Iceberg table optimizers and the
administrators holds a table-wide grant or reads the lake's bytes by S3 path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lakehouse_glue.model import load_declaration

from lakehouse.deploy import tf_check
from tests.terraform_infra.plan import DB, NAME, gold_mart_decls, of_type, one

pytestmark = pytest.mark.slow

ACCOUNT = tf_check.PLAN_ACCOUNT_ID
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{NAME}-glue"
OPTIMIZER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{NAME}-table-optimizer"
ADMINS = set(tf_check.PLAN_ADMIN_ARNS)
# Lake Formation's name for "whoever IAM allows": it must hold nothing on the lake.
IAM_ALLOWED_PRINCIPALS = "IAM_ALLOWED_PRINCIPALS"
# Permissions that read or change data (DESCRIBE only shows metadata).
DATA_PERMISSIONS = {"ALL", "SELECT", "INSERT", "DELETE", "ALTER", "DROP"}


def tenant_role(key: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{NAME}-tenant-{key}"


def curated_tables() -> set[tuple[str, str]]:
    """Every silver, silver history and gold table: the tenant-partitioned ones."""
    names = load_declaration().names
    silver = {(DB["silver"], n) for n in names} | {(DB["silver"], f"{n}_history") for n in names}
    return silver | {(DB["gold"], m["name"]) for m in gold_mart_decls() if m["columns"]}


def grants(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["values"] for r in of_type(resources, "aws_lakeformation_permissions")]


def buckets(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Bucket name per lake bucket key (bronze, silver, gold, scripts, athena_results)."""
    return {
        r["index"]: r["values"]["bucket"]
        for r in of_type(resources, "aws_s3_bucket")
        if r.get("index") is not None
    }


def role_policies(resources: list[dict[str, Any]], role_name: str) -> dict[str, dict[str, Any]]:
    """The inline policies of a role that are known at plan time, by policy name."""
    found = {}
    for r in of_type(resources, "aws_iam_role_policy"):
        values = r["values"]
        # `role` is the role's name (its id), known at plan time.
        if values.get("role") == role_name and "policy" in values:
            found[values["name"]] = json.loads(values["policy"])
    return found


def s3_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if any(a.startswith("s3:") for a in actions):
            out.append(statement)
    return out


def resources_of(statement: dict[str, Any]) -> list[str]:
    found = statement["Resource"]
    return found if isinstance(found, list) else [found]


def test_data_lake_settings_leave_iam_allowed_principals_no_default(
    tf_plan: dict[str, Any], resources: list[dict[str, Any]]
) -> None:
    settings = one(resources, "aws_lakeformation_data_lake_settings")
    # The given administrators and the identity that runs Terraform (moto's default user).
    assert set(settings["admins"]) == ADMINS | {f"arn:aws:sts::{ACCOUNT}:user/moto"}
    assert settings["allow_external_data_filtering"] is False
    # Neither default-permission list is configured: the provider leaves both out of
    # PutDataLakeSettings, which AWS treats as empty lists (no IAMAllowedPrincipals default).
    config = tf_plan["configuration"]["root_module"]["module_calls"]["lakeformation"]["module"]
    declared = [
        r for r in config["resources"] if r["type"] == "aws_lakeformation_data_lake_settings"
    ]
    assert len(declared) == 1
    assert "create_database_default_permissions" not in declared[0]["expressions"]
    assert "create_table_default_permissions" not in declared[0]["expressions"]
    assert IAM_ALLOWED_PRINCIPALS not in json.dumps(tf_plan["configuration"])
    assert all(g["principal"] != IAM_ALLOWED_PRINCIPALS for g in grants(resources))


def test_lake_databases_are_created_after_the_settings(tf_plan: dict[str, Any]) -> None:
    """Databases created before the settings would keep the IAMAllowedPrincipals default."""
    glue = tf_plan["configuration"]["root_module"]["module_calls"]["glue"]
    after = glue["expressions"]["catalog_after"]["references"]
    assert "module.lakeformation[0].settings_id" in after
    databases = [
        r for r in glue["module"]["resources"] if r["address"] == "aws_glue_catalog_database.this"
    ]
    assert databases[0]["depends_on"] == ["var.catalog_after"]
    assert "create_table_default_permission" not in databases[0]["expressions"]


def test_silver_and_gold_are_registered_not_hybrid(resources: list[dict[str, Any]]) -> None:
    names = buckets(resources)
    registered = of_type(resources, "aws_lakeformation_resource")
    assert {r["values"]["arn"] for r in registered} == {
        f"arn:aws:s3:::{names['silver']}",
        f"arn:aws:s3:::{names['gold']}",
    }
    assert {r["values"]["hybrid_access_enabled"] for r in registered} == {False}
    # A user-defined role (the key is a customer-managed one), trusted by Lake Formation only.
    role = next(
        r["values"]
        for r in of_type(resources, "aws_iam_role")
        if r["values"].get("name") == f"{NAME}-lakeformation-locations"
    )
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lakeformation.amazonaws.com"}]


def test_each_tenant_principal_is_granted_only_its_own_filter(
    resources: list[dict[str, Any]],
) -> None:
    filters = {
        (t["database_name"], t["table_name"], t["name"]): t["row_filter"][0]["filter_expression"]
        for t in (
            f["values"]["table_data"][0]
            for f in of_type(resources, "aws_lakeformation_data_cells_filter")
        )
    }
    tenant_of_role = {tenant_role(key): t["tenant_id"] for key, t in tf_check.PLAN_TENANTS.items()}
    by_principal: dict[str, set[tuple[str, str]]] = {}
    for grant in grants(resources):
        if not grant["data_cells_filter"]:
            continue
        cell = grant["data_cells_filter"][0]
        expression = filters[(cell["database_name"], cell["table_name"], cell["name"])]
        # Only tenant principals hold filter grants, SELECT only, each on its own tenant's rows.
        assert grant["principal"] in tenant_of_role, grant
        assert grant["permissions"] == ["SELECT"]
        assert not grant.get("permissions_with_grant_option")
        assert expression == f"tenant_id = '{tenant_of_role[grant['principal']]}'"
        assert cell["table_catalog_id"] == ACCOUNT
        by_principal.setdefault(grant["principal"], set()).add(
            (cell["database_name"], cell["table_name"])
        )
    # ... on every silver and gold table, and each tenant's filters exist once per table.
    assert by_principal == {role: curated_tables() for role in tenant_of_role}
    assert len(filters) == len(tf_check.PLAN_TENANTS) * len(curated_tables())


def test_no_table_wide_access_beyond_the_pipeline_and_the_administrators(
    tf_plan: dict[str, Any], resources: list[dict[str, Any]]
) -> None:
    # Nobody may pass a permission on (unset, the provider's value is only known after apply).
    assert "permissions_with_grant_option" not in json.dumps(tf_plan["configuration"])
    table_wide: dict[str, set[str]] = {}
    for grant in grants(resources):
        on_tables = grant.get("table") or grant.get("table_with_columns")
        if on_tables and DATA_PERMISSIONS & set(grant["permissions"]):
            table_wide.setdefault(grant["principal"], set()).add(on_tables[0]["database_name"])
        if grant.get("data_location"):
            assert grant["principal"] in {PIPELINE_ROLE, OPTIMIZER_ROLE}
        if grant.get("database") and grant["principal"] not in {PIPELINE_ROLE, *ADMINS}:
            # Everyone else may only see that the database exists.
            assert grant["permissions"] == ["DESCRIBE"], grant
        assert not grant.get("permissions_with_grant_option"), grant
        assert not grant.get("catalog_resource"), grant
    assert table_wide == {
        PIPELINE_ROLE: set(DB.values()),
        # The Iceberg table optimizers rewrite silver and gold files and commit to the tables.
        OPTIMIZER_ROLE: {DB["silver"], DB["gold"]},
        **{admin: {DB["silver"], DB["gold"]} for admin in ADMINS},
    }


def test_tenant_principals_never_read_the_lake_by_s3_path(
    resources: list[dict[str, Any]],
) -> None:
    names = buckets(resources)
    lake = {f"arn:aws:s3:::{names[k]}" for k in ("bronze", "silver", "gold", "scripts")}
    results = f"arn:aws:s3:::{names['athena_results']}"
    for key, tenant in tf_check.PLAN_TENANTS.items():
        role_name = f"{NAME}-tenant-{key}"
        role = next(
            r["values"]
            for r in of_type(resources, "aws_iam_role")
            if r["values"].get("name") == role_name
        )
        trust = json.loads(role["assume_role_policy"])["Statement"]
        assert [s["Principal"] for s in trust] == [{"AWS": tenant["principal_arns"][0]}]
        policies = role_policies(resources, role_name)
        assert set(policies) == {"tenant-analyst"}  # the key policy is known only after apply
        statements = s3_statements(policies["tenant-analyst"])
        touched = {arn for st in statements for arn in resources_of(st)}
        assert not any(arn.split("/")[0] in lake for arn in touched), touched
        # Objects: only its own results prefix; the listing only of that prefix.
        own = f"{results}/results/tenants/{key}/*"
        for statement in statements:
            for arn in resources_of(statement):
                assert arn in (own, results), arn
                if arn == results and "s3:ListBucket" in statement["Action"]:
                    assert statement["Condition"] == {
                        "StringLike": {"s3:prefix": f"results/tenants/{key}/*"}
                    }
        athena = [
            s
            for s in policies["tenant-analyst"]["Statement"]
            if s["Sid"] == "RunQueriesInTheTenantWorkgroup"
        ]
        assert resources_of(athena[0]) == [
            f"arn:aws:athena:{tf_check.PLAN_REGION}:{ACCOUNT}:workgroup/{role_name}"
        ]


def test_analysts_read_the_lake_by_path_only_without_lake_formation(
    resources: list[dict[str, Any]],
) -> None:
    """With Lake Formation on (the plan), the shared analyst role has no S3 path into the lake
    and no table grant; its results stay in its own prefix."""
    names = buckets(resources)
    policies = role_policies(resources, f"{NAME}-analyst")
    assert set(policies) == {"athena-analyst"}
    touched = {arn for st in s3_statements(policies["athena-analyst"]) for arn in resources_of(st)}
    results = f"arn:aws:s3:::{names['athena_results']}"
    assert touched == {results, f"{results}/results/analysts/*"}
    assert all(
        g["principal"] != f"arn:aws:iam::{ACCOUNT}:role/{NAME}-analyst" for g in grants(resources)
    )


def test_one_workgroup_per_tenant_with_its_own_results(resources: list[dict[str, Any]]) -> None:
    names = buckets(resources)
    workgroups = {
        w["values"]["name"]: w["values"] for w in of_type(resources, "aws_athena_workgroup")
    }
    expected = {f"{NAME}-analysts": ("results/analysts/", 10 * 1024**3)}
    for key, tenant in tf_check.PLAN_TENANTS.items():
        cutoff = tenant.get("bytes_scanned_cutoff_per_query", 10 * 1024**3)
        expected[f"{NAME}-tenant-{key}"] = (f"results/tenants/{key}/", cutoff)
    assert set(workgroups) == set(expected)
    locations = []
    for name, (prefix, cutoff) in expected.items():
        config = workgroups[name]["configuration"][0]
        assert config["enforce_workgroup_configuration"] is True
        assert config["bytes_scanned_cutoff_per_query"] == cutoff
        result = config["result_configuration"][0]
        assert result["output_location"] == f"s3://{names['athena_results']}/{prefix}"
        assert result["encryption_configuration"][0]["encryption_option"] == "SSE_KMS"
        locations.append(prefix)
    # No workgroup's results lie inside another's.
    for a in locations:
        assert [b for b in locations if b.startswith(a)] == [a]


def test_hostile_tenant_maps_are_refused(
    tf_workspace: tf_check.Workspace, tf_tmp: Path, moto_endpoint: str
) -> None:
    acme = tf_check.PLAN_TENANTS["acme"]
    tenants = {
        "acme": acme,
        # Two keys on one tenant's rows.
        "acme-again": acme,
        # A key that would escape names or the results prefix.
        "../globex": {**acme, "tenant_id": "00000000-0000-4000-8000-00000000000a"},
        # A filter expression built from an id that is not a UUID.
        "initech": {**acme, "tenant_id": "x' or '1'='1"},
        # A role trusted by nobody in particular (the whole account).
        "umbrella": {
            **acme,
            "tenant_id": "00000000-0000-4000-8000-00000000000b",
            "principal_arns": [],
        },
    }
    variables = {
        **tf_check.plan_variables(moto_endpoint, tf_tmp / "none"),
        "tenants": tenants,
        # Tenants without Lake Formation would be restricted by nothing.
        "lake_formation": {"enabled": False},
    }
    var_file = tf_tmp / "hostile-tenants.tfvars.json"
    var_file.write_text(json.dumps(variables), "utf-8")
    # One plan: Terraform reports every failed validation of the variable.
    done = tf_workspace.run(
        "plan", "-input=false", "-lock=false", f"-var-file={var_file}", check=False
    )
    assert done.returncode != 0
    message = " ".join(done.stderr.split())
    for refusal in (
        "tenants must not repeat a tenant_id",
        "tenants keys must be 1-20 lower-case letters",
        "tenants[*].tenant_id must be lower-case UUIDs",
        "tenants[*].principal_arns must name at least one principal",
        "tenants needs lake_formation.enabled = true",
    ):
        assert refusal in message, refusal
