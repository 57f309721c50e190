"""The optional QuickSight module, planned offline against moto: off by default; when enabled,
an Athena data source on the analysts' workgroup, one dataset per gold mart (its declared
columns), each bound to the tenant row-level security dataset, whose rules (run on DuckDB)
map every tenant group to exactly its tenant, and a dashboard with the app's pages."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest
import sqlglot
from lakehouse_glue.gold.marts import mart

from lakehouse.analytics.pages import PAGES
from lakehouse.deploy import tf_check
from tests.terraform_infra.plan import GOLD_JSON, NAME, of_type, one

pytestmark = pytest.mark.slow

TENANTS: dict[str, dict[str, Any]] = {
    "acme": {"tenant_id": "00000000-0000-4000-8000-000000000001", "members": ["acme-ana"]},
    "globex": {"tenant_id": "00000000-0000-4000-8000-000000000002"},
}
ADMIN = f"arn:aws:quicksight:{tf_check.PLAN_REGION}:{tf_check.PLAN_ACCOUNT_ID}:group/default/bi"


@pytest.fixture(scope="module")
def quicksight_plan(
    tf_workspace: tf_check.Workspace, glue_artifacts: Any, moto_endpoint: str
) -> dict[str, Any]:
    variables = tf_check.plan_variables(moto_endpoint, glue_artifacts.out_dir)
    variables["quicksight"] = {"enabled": True, "tenants": TENANTS, "admin_arns": [ADMIN]}
    return tf_workspace.plan(variables)


@pytest.fixture(scope="module")
def planned(quicksight_plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in tf_check.planned_resources(quicksight_plan)
        if r["mode"] == "managed" and r["address"].startswith("module.quicksight[0].")
    ]


def _module_config(plan: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = plan["configuration"]["root_module"]["module_calls"]["quicksight"]
    module: dict[str, Any] = config["module"]
    return module


def test_quicksight_is_off_by_default(resources: list[dict[str, Any]]) -> None:
    assert [r["address"] for r in resources if r["type"].startswith("aws_quicksight")] == []


def test_the_data_source_is_athena_on_the_analysts_workgroup(
    planned: list[dict[str, Any]], resources: list[dict[str, Any]]
) -> None:
    source = one(planned, "aws_quicksight_data_source")
    assert source["type"] == "ATHENA"
    workgroup = one(
        [r for r in resources if r["address"].startswith("module.athena.")],
        "aws_athena_workgroup",
    )
    assert source["parameters"][0]["athena"][0]["work_group"] == workgroup["name"]
    assert workgroup["name"] == f"{NAME}-analysts"
    assert [p["principal"] for p in source["permission"]] == [ADMIN]


def test_every_gold_mart_is_a_dataset_bound_to_the_tenant_rules(
    planned: list[dict[str, Any]], quicksight_plan: dict[str, Any]
) -> None:
    marts = [m["name"] for m in json.loads(GOLD_JSON.read_text())["marts"]]
    datasets = {r["index"]: r["values"] for r in planned if r["name"] == "gold"}
    assert sorted(datasets) == sorted(marts)
    for name, values in datasets.items():
        assert values["import_mode"] == "DIRECT_QUERY", name
        (table,) = values["physical_table_map"]
        (relational,) = table["relational_table"]
        assert relational["schema"] == f"{NAME.replace('-', '_')}_gold", name
        assert relational["name"] == name
        assert [c["name"] for c in relational["input_columns"]] == mart(name).column_names
        (rls,) = values["row_level_permission_data_set"]
        assert (rls["permission_policy"], rls["status"]) == ("GRANT_ACCESS", "ENABLED"), name
    # The ARN is known only on apply: the configuration says whose it is.
    gold = next(r for r in _module_config(quicksight_plan)["resources"] if r["name"] == "gold")
    (binding,) = gold["expressions"]["row_level_permission_data_set"]
    assert "aws_quicksight_data_set.rls.arn" in binding["arn"]["references"]


def _rules(sql: str) -> list[tuple[str, str]]:
    """The permissions dataset's Athena SQL, run on DuckDB."""
    relation = duckdb.sql(sqlglot.transpile(sql, read="trino", write="duckdb")[0])
    assert relation is not None
    rows = relation.fetchall()
    return sorted((str(g), str(t)) for g, t in rows)


def test_the_rules_map_each_tenant_group_to_its_tenant_only(
    planned: list[dict[str, Any]],
) -> None:
    rls = next(r["values"] for r in planned if r["name"] == "rls")
    (table,) = rls["physical_table_map"]
    (custom,) = table["custom_sql"]
    assert [c["name"] for c in custom["columns"]] == ["GroupName", "tenant_id"]
    groups = {
        r["index"]: r["values"]["group_name"] for r in of_type(planned, "aws_quicksight_group")
    }
    assert groups == {key: f"{NAME}-tenant-{key}" for key in TENANTS}
    assert _rules(custom["sql_query"]) == sorted(
        (groups[key], tenant["tenant_id"]) for key, tenant in TENANTS.items()
    )
    members = [
        (r["values"]["group_name"], r["values"]["member_name"])
        for r in of_type(planned, "aws_quicksight_group_membership")
    ]
    assert members == [(f"{NAME}-tenant-acme", "acme-ana")]
    # The rules dataset itself is the platform team's only.
    assert [p["principal"] for p in rls["permissions"]] == [ADMIN]


def test_the_dashboard_has_the_apps_pages_over_declared_columns(
    planned: list[dict[str, Any]],
) -> None:
    dashboard = one(planned, "aws_quicksight_dashboard")
    (definition,) = dashboard["definition"]
    sheets = definition["sheets"]
    assert [(s["sheet_id"], s["name"]) for s in sheets] == [(p.slug, p.title) for p in PAGES]
    declared = {d["identifier"] for d in definition["data_set_identifiers_declarations"]}
    used = 0
    for sheet in sheets:
        (visuals,) = sheet["visuals"]
        shown = [v for kind, v in visuals.items() if v]
        assert len(shown) == 1, sheet["sheet_id"]
        for column in _columns(shown[0]):
            assert column["data_set_identifier"] in declared
            assert column["column_name"] in mart(column["data_set_identifier"]).column_names
            used += 1
    assert used >= 2 * len(PAGES)
    # Owners, then one read-only grant per tenant group (their ARNs are known on apply).
    viewing = {
        "quicksight:DescribeDashboard",
        "quicksight:ListDashboardVersions",
        "quicksight:QueryDashboard",
    }
    grants = [set(p["actions"]) for p in dashboard["permissions"]]
    assert grants.count(viewing) == len(TENANTS)


def _columns(node: Any) -> list[dict[str, Any]]:
    """Every ``column`` block under a visual."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "column" and isinstance(value, list):
                found.extend(v for v in value if isinstance(v, dict))
            else:
                found.extend(_columns(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_columns(item))
    return found
