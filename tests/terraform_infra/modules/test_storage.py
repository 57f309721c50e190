"""modules/storage: the lake buckets are private, encrypted and reachable over TLS only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.terraform_infra.plan import (
    of_type,
    one,
)

pytestmark = pytest.mark.slow


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
