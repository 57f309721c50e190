"""modules/dms: the S3 target writes the bronze contract, the table mappings cover the
declared entities, the source endpoint uses TLS, a secret and the WAL heartbeat."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lakehouse_glue.model import load_bronze_contract, load_declaration

from tests.terraform_infra.plan import (
    DMS_ESCAPES,
    one,
)

pytestmark = pytest.mark.slow


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
    # 64 MiB full-load files, not DMS's 1 GB default: gzip is read whole, one task per file.
    assert endpoint["max_file_size"] == 65536
    assert endpoint["cdc_path"] is None
    assert endpoint["encryption_mode"] == "SSE_KMS"
    assert endpoint["endpoint_type"] == "target"


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
