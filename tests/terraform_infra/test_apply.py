"""terraform apply of the storage, IAM and DMS endpoint modules to a moto server, read back.

The plan tests check what Terraform means to send; this one sends it. ``apply/main.tf`` calls
the three modules of ``terraform-infra`` as the deployment does, the test applies them to a moto
server it starts on 127.0.0.1 and reads the DMS S3 target endpoint back with boto3: every setting
of the bronze contract is there with its value, the NULL marker included (an empty
``csv_null_value`` would be missing: the provider sends it only when non-empty).

moto 5.2 has two gaps the apply runs into, filled here in the server's process (each is named by
the call that needs it, and the provider is set to fail fast rather than retry a 500):

* DMS ``ModifyEndpoint`` is not implemented. The provider calls it right after
  ``CreateEndpoint`` when ``server_side_encryption_kms_key_id`` is set ("ssekki is ignored on
  create but sets on update", internal/service/dms/s3_endpoint.go), with the same S3 settings
  (``s3Settings(d)``). The stand-in stores what it is sent, as DMS does.
* S3 ``PutBucketLogging`` fails on a target bucket whose policy has a statement with
  ``"Principal": "*"`` (moto calls ``.get`` on the string). The stand-in lets moto's own check
  see only the statements with a principal map.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from lakehouse_glue.model import load_bronze_contract
from moto.dms.responses import DatabaseMigrationServiceResponse
from moto.s3.models import FakeBucket
from moto.server import ThreadedMotoServer

from lakehouse.db.cluster import free_port
from lakehouse.deploy import tf_check
from lakehouse.paths import GLUE_SCRIPTS_DIR
from tests.support.ci import unavailable

APPLY_DIR = Path(__file__).resolve().parent / "apply"
DECLARATIONS = GLUE_SCRIPTS_DIR / "lakehouse_glue" / "declarations"
# The DMS API takes the CSV delimiters as escape sequences (see modules/dms/main.tf).
DMS_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _modify_endpoint(self: DatabaseMigrationServiceResponse) -> str:
    """moto's missing ModifyEndpoint: store the settings sent, answer like DescribeEndpoints."""
    params = json.loads(self.body)
    found = [
        e for e in self.dms_backend.endpoints.values() if e.endpoint_arn == params["EndpointArn"]
    ]
    if not found:
        raise ValueError(f"no endpoint {params['EndpointArn']}")
    endpoint = found[0]
    for key, attribute in (
        ("S3Settings", "s3_settings"),
        ("ServiceAccessRoleArn", "service_access_role_arn"),
        ("SslMode", "ssl_mode"),
        ("CertificateArn", "certificate_arn"),
        ("ExtraConnectionAttributes", "extra_connection_attributes"),
    ):
        if key in params:
            setattr(endpoint, attribute, params[key])
    return json.dumps({"Endpoint": {k: v for k, v in endpoint.to_dict().items() if v}})


_log_permissions = FakeBucket._log_permissions_enabled_policy


def _log_permissions_with_string_principals(target_bucket: Any, target_prefix: Any) -> bool:
    """moto's bucket-logging check, shown only the statements it can read (principal maps)."""
    saved = target_bucket.policy
    if saved:
        document = json.loads(saved.decode())
        document["Statement"] = [
            s for s in document["Statement"] if isinstance(s.get("Principal"), dict)
        ]
        target_bucket.policy = json.dumps(document).encode()
    try:
        return bool(_log_permissions(target_bucket, target_prefix))
    finally:
        target_bucket.policy = saved


@pytest.fixture
def moto_with_gaps_filled(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(
        DatabaseMigrationServiceResponse, "modify_endpoint", _modify_endpoint, raising=False
    )
    monkeypatch.setattr(
        FakeBucket,
        "_log_permissions_enabled_policy",
        staticmethod(_log_permissions_with_string_principals),
    )
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def apply_workspace(tmp_path: Path) -> tf_check.Workspace:
    plugin_dir = tf_check.find_plugin_dir()
    if plugin_dir is None:
        why = f"{tf_check.PLUGIN_DIR_ENV} is unset and no hashicorp/aws provider mirror was found"
        unavailable(why)
    ws = tf_check.Workspace(plugin_dir=plugin_dir, work_dir=tmp_path, config_dir=APPLY_DIR)
    ws.init()
    return ws


def _api_name(setting: str) -> str:
    """The contract's snake_case DMS setting name as the API spells it: rfc_4180 -> Rfc4180."""
    return "".join(part[:1].upper() + part[1:] for part in setting.split("_"))


def test_storage_iam_and_the_dms_endpoint_apply_and_read_back(
    apply_workspace: tf_check.Workspace, moto_with_gaps_filled: str, tmp_path: Path
) -> None:
    endpoint = moto_with_gaps_filled
    name = f"lh-{uuid.uuid4().hex[:8]}"
    apply_workspace.run(
        "apply",
        "-auto-approve",
        "-input=false",
        "-lock=false",
        f"-state={tmp_path / 'terraform.tfstate'}",
        f"-var=endpoint={endpoint}",
        f"-var=name={name}",
        f"-var=declarations_dir={DECLARATIONS}",
        "-target=module.storage",
        "-target=module.iam",
        "-target=module.dms.aws_dms_s3_endpoint.bronze",
    )
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    dms = session.client("dms", endpoint_url=endpoint)
    (bronze,) = [
        e
        for e in dms.describe_endpoints()["Endpoints"]
        if e["EndpointIdentifier"] == f"{name}-bronze"
    ]
    settings = bronze["S3Settings"]

    # Every setting of the contract, with its value, as DMS would use it.
    contract = load_bronze_contract()
    raw = contract.raw
    expected: dict[str, Any] = {}
    for key in raw["terraform"]:
        value = raw[key]["aws"] if isinstance(raw[key], dict) else raw[key]
        expected[key] = DMS_ESCAPES.get(value, value) if isinstance(value, str) else value
    api = {
        "cdc_max_batch_interval_seconds": "CdcMaxBatchInterval",
        "full_load_max_file_size_kb": "MaxFileSize",
        "cdc_min_file_size_kb": "CdcMinFileSize",
    }
    applied = {key: settings.get(api.get(key, _api_name(key))) for key in expected}
    assert applied == expected
    assert settings["CsvNullValue"] == contract.csv_null_value == "<NULL>"
    # Where it writes, and how it encrypts: the module's bucket and the lake key.
    s3 = session.client("s3", endpoint_url=endpoint)
    bucket = settings["BucketName"]
    assert re.fullmatch(rf"{name}-bronze-123456789012-us-east-1", bucket)
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    rule = encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms"
    assert settings["EncryptionMode"] == "SSE_KMS"
    key_id = rule["KMSMasterKeyID"].rsplit("/", 1)[-1]
    assert settings["ServerSideEncryptionKmsKeyId"].endswith(f"key/{key_id}")
    # DMS writes as the module's role, which may write bronze and nothing else.
    role = settings["ServiceAccessRoleArn"].rsplit("/", 1)[-1]
    iam = session.client("iam", endpoint_url=endpoint)
    policies = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policies[0])["PolicyDocument"]
    resources = {
        r
        for statement in document["Statement"]
        for r in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    }
    assert all(bucket in r or ":kms:" in r for r in resources), resources
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetPrefix"] == "bronze/"
