"""``--engine athena``: the requests the remote engine sends to Athena (moto server) and what
it makes of the answers, tenant scoping through the tenant's role and workgroup included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from lakehouse.athena.errors import AthenaQueryError
from lakehouse.athena.remote import AthenaRemoteEngine, failure, split_sql
from lakehouse.config import Settings
from lakehouse.db.cluster import free_port
from lakehouse.errors import ConfigError, LakehouseError

ACCOUNT = "123456789012"
COLUMNS = [
    ("tenant", "varchar"),
    ("orders", "bigint"),
    ("revenue", "decimal(18,2)"),
    ("day", "date"),
    ("at", "timestamp"),
    ("is_big", "boolean"),
]


@pytest.fixture(scope="module")
def moto_aws() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_aws: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for k, v in {
        "AWS_ENDPOINT_URL": moto_aws,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    return moto_aws


def _athena() -> Any:
    return boto3.client("athena")


def _queue_result(endpoint: str, rows: list[list[str | None]]) -> None:
    """The next query's answer (moto runs no SQL): a header row, then the data rows."""

    def row(values: list[str | None]) -> dict[str, Any]:
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}

    body = {
        "account_id": ACCOUNT,
        "region": "us-east-1",
        "results": [
            {
                "rows": [row([c for c, _ in COLUMNS]), *(row(r) for r in rows)],
                "column_info": [{"Name": c, "Type": t, "Label": c} for c, t in COLUMNS],
            }
        ],
    }
    answer = requests.post(
        f"{endpoint}/moto-api/static/athena/query-results", json=body, timeout=10
    )
    assert answer.status_code == 201


def _workgroup(name: str) -> str:
    _athena().create_work_group(
        Name=name,
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://results/{name}/"}},
    )
    return name


def _executions(workgroup: str) -> list[dict[str, Any]]:
    ids = _athena().list_query_executions(WorkGroup=workgroup)["QueryExecutionIds"]
    return [_athena().get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


def test_split_keeps_statements_as_written() -> None:
    text = "select ';' as x -- a ; comment\n; select 2 /* ; */ ;\n\n"
    assert split_sql(text) == ["select ';' as x -- a ; comment", "select 2 /* ; */"]
    with pytest.raises(AthenaQueryError, match="SYNTAX_ERROR"):
        split_sql(" ; ;")


def test_failure_keeps_athena_error_names() -> None:
    def execution(state: str, reason: str | None) -> dict[str, Any]:
        return {"QueryExecutionId": "q1", "Status": {"State": state, "StateChangeReason": reason}}

    err = failure(execution("FAILED", "TABLE_NOT_FOUND: line 1:15: Table x does not exist"))
    assert err.code == "TABLE_NOT_FOUND"
    assert "line 1:15: Table x does not exist (query q1)" in str(err)
    assert failure(execution("FAILED", "Query exhausted resources")).code == "GENERIC_ERROR"
    assert failure(execution("CANCELLED", None)).code == "CANCELLED"


def test_analyst_queries_run_in_the_workgroup_and_come_back_typed(
    aws_env: str, tmp_path: Path
) -> None:
    workgroup = _workgroup("analysts-typed")
    _queue_result(
        aws_env, [["acme", "12", "1234.50", "2024-02-29", "2024-03-01 10:11:12.345", "true"]]
    )
    _queue_result(aws_env, [["beta", None, None, None, None, "false"]])
    settings = Settings(lake=str(tmp_path / "lake"), athena_workgroup=workgroup)
    text = "select * from gold.tenant_summary where tenant = 'a;b';\nselect 2"
    with AthenaRemoteEngine(settings) as engine:
        first, second = engine.execute(text)
    assert first.columns == tuple(c for c, _ in COLUMNS)
    assert first.rows == [
        (
            "acme",
            12,
            Decimal("1234.50"),
            date(2024, 2, 29),
            datetime(2024, 3, 1, 10, 11, 12, 345000),
            True,
        )
    ]
    assert second.rows == [("beta", None, None, None, None, False)]
    sent = sorted(e["Query"] for e in _executions(workgroup))
    assert sent == sorted(["select * from gold.tenant_summary where tenant = 'a;b'", "select 2"])
    # The local copy of the result is Athena's CSV format, readable by the owner only.
    assert first.result_path is not None
    assert first.result_path.read_text(encoding="utf-8").splitlines()[1] == (
        '"acme","12","1234.50","2024-02-29","2024-03-01 10:11:12.345","true"'
    )
    assert second.result_path is not None
    assert second.result_path.read_text(encoding="utf-8").splitlines()[1] == '"beta",,,,,"false"'
    assert first.result_path.stat().st_mode & 0o777 == 0o600


def _outputs(tmp_path: Path, tenants: dict[str, dict[str, str]]) -> Path:
    path = tmp_path / "outputs.json"
    doc = {
        "athena_workgroup": {"value": "analysts-unused", "type": "string", "sensitive": False},
        "tenants": {"value": tenants, "type": ["map", "object"], "sensitive": False},
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_tenant_runs_as_its_role_in_its_own_workgroup(aws_env: str, tmp_path: Path) -> None:
    iam = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="tenant-acme", AssumeRolePolicyDocument=json.dumps(trust))
    mine = _workgroup("tenant-acme-wg")
    theirs = _workgroup("tenant-beta-wg")
    outputs = _outputs(
        tmp_path,
        {
            "acme": {
                "role_arn": role["Role"]["Arn"],
                "workgroup_name": mine,
                "results_uri": "s3://results/tenants/acme/",
            },
            "beta": {
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/tenant-beta",
                "workgroup_name": theirs,
                "results_uri": "s3://results/tenants/beta/",
            },
        },
    )
    _queue_result(aws_env, [["acme", "1", "1.00", "2024-01-01", "2024-01-01 00:00:00.000", "true"]])
    settings = Settings(lake=str(tmp_path / "lake"), tf_outputs=outputs)
    with AthenaRemoteEngine(settings, tenant="acme") as engine:
        (result,) = engine.execute("select * from gold.tenant_summary")
    assert result.rows[0][0] == "acme"
    assert [e["Query"] for e in _executions(mine)] == ["select * from gold.tenant_summary"]
    assert _executions(theirs) == []
    assert result.result_path is not None
    assert result.result_path.parent.name == "acme"


@pytest.mark.parametrize("tenant", ["", "   ", "gamma", "../acme"])
def test_an_unknown_or_blank_tenant_never_runs_unscoped(
    aws_env: str, tmp_path: Path, tenant: str
) -> None:
    workgroup = _workgroup(f"analysts-{abs(hash(tenant))}")
    outputs = _outputs(tmp_path, {})
    settings = Settings(lake=str(tmp_path / "lake"), tf_outputs=outputs, athena_workgroup=workgroup)
    with pytest.raises(LakehouseError, match="tenant"):
        AthenaRemoteEngine(settings, tenant=tenant)
    assert _executions(workgroup) == []


def test_missing_workgroup_or_outputs_is_a_config_error(aws_env: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LAKEHOUSE_ATHENA_WORKGROUP"):
        AthenaRemoteEngine(Settings(lake=str(tmp_path)))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not JSON"):
        AthenaRemoteEngine(Settings(lake=str(tmp_path), tf_outputs=broken))


def test_cli_engine_athena_prints_athenas_csv(aws_env: str, tmp_path: Path) -> None:
    workgroup = _workgroup("analysts-cli")
    _queue_result(aws_env, [["acme", "3", "9.99", "2024-01-02", "2024-01-02 03:04:05.000", "true"]])
    env = {
        **os.environ,
        "LAKEHOUSE_LAKE": str(tmp_path / "lake"),
        "LAKEHOUSE_ATHENA_WORKGROUP": workgroup,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakehouse",
            "athena",
            "--engine",
            "athena",
            "--format",
            "csv",
            "select 1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        '"tenant","orders","revenue","day","at","is_big"',
        '"acme","3","9.99","2024-01-02","2024-01-02 03:04:05.000","true"',
    ]
